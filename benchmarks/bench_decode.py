"""Decoding speed and streaming memory.

(a) a plain full PyAV decode to RGB, (b) actscope's 16-frame uniform sampling and (c) its
dense clip sampling (32 frames, stride 2), on the 1080p NTU clip and on vtest.avi; the
ratio is (a)'s time over (b)'s or (c)'s, measured side by side in this run (>= 1.0 means
sampling costs no more than one full decode pass). Then the peak memory of the streaming
reader over a generated 10-minute 720p video, measured in a child process.

Run: .venv/bin/python benchmarks/bench_decode.py [--minutes 10] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

from actscope.video import DenseSampler, UniformSampler, probe, read_video

CLIPS = Path(__file__).resolve().parents[2] / "shared" / "data" / "sample_clips"


def plain_full_decode(path: Path) -> int:
    """What a user writes with PyAV alone: decode every frame to an RGB array."""
    count = 0
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            frame.to_ndarray(format="rgb24")
            count += 1
    return count


def median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_sampling(repeats: int) -> None:
    print(
        f"{'clip':<32}{'frames':>7}{'(a) full s':>12}{'(a) fps':>9}"
        f"{'(b) 16-uniform s':>18}{'ratio':>7}{'(c) dense 32x2 s':>18}{'ratio':>7}"
    )
    for name in ("S001C001P001R001A001_rgb.avi", "vtest.avi"):
        path = CLIPS / name
        if not path.exists():
            print(f"{name}: missing ({path}); skipped")
            continue
        frames = probe(path).frame_count
        full = median_seconds(lambda p=path: plain_full_decode(p), repeats)
        uniform = median_seconds(lambda p=path: read_video(p, UniformSampler(16)), repeats)
        dense = median_seconds(lambda p=path: read_video(p, DenseSampler(32, 2)), repeats)
        print(
            f"{name:<32}{frames:>7}{full:>12.3f}{frames / full:>9.1f}"
            f"{uniform:>18.3f}{full / uniform:>7.2f}{dense:>18.3f}{full / dense:>7.2f}"
        )


def make_long_video(path: Path, minutes: float, fps: int = 25) -> None:
    """A 1280x720 H.264 video with a moving pattern (cheap to encode, real decode work)."""
    width, height = 1280, 720
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([(x // 4) % 256, (y // 4) % 256, ((x + y) // 8) % 256], -1).astype(np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("h264", rate=fps, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(int(minutes * 60 * fps)):
            image = np.roll(base, shift=index * 3, axis=1)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


# Peak RSS is read from /proc (VmHWM): getrusage's ru_maxrss survives exec on Linux and would
# report the parent's peak (which holds the encoder's frames) instead of the child's.
STREAM_CHILD = """
import sys, time
from actscope.video import stream_windows
def peak_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return float(line.split()[1])
base = peak_kb()
start, windows = time.perf_counter(), 0
for window in stream_windows(sys.argv[1], window=16, hop=8):
    windows += 1
elapsed = time.perf_counter() - start
print(windows, window.end, elapsed, base, peak_kb())
"""


def bench_streaming_memory(minutes: float) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "long_720p.mp4"
        start = time.perf_counter()
        make_long_video(path, minutes)
        info = probe(path)
        print(
            f"\ngenerated {info.frame_count} frames ({info.duration / 60:.1f} min, "
            f"{info.width}x{info.height}, {path.stat().st_size / 1e6:.0f} MB) "
            f"in {time.perf_counter() - start:.0f} s"
        )
        out = subprocess.run(
            [sys.executable, "-c", STREAM_CHILD, str(path)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        windows, end, elapsed, base_kb, peak_kb = int(out[0]), *map(float, out[1:])
        print(
            f"stream_windows(window=16, hop=8): {windows} windows to {end:.1f} s in "
            f"{elapsed:.1f} s ({info.frame_count / elapsed:.0f} frames/s)"
        )
        print(
            f"peak RSS {peak_kb / 1024:.0f} MB (after imports {base_kb / 1024:.0f} MB; "
            f"one window of RGB frames is {16 * 1280 * 720 * 3 / 2**20:.0f} MB)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {len(os.sched_getaffinity(0))} cores, "
        f"Python {platform.python_version()}, PyAV {av.__version__} "
        f"(FFmpeg {av.ffmpeg_version_info})"
    )
    bench_sampling(args.repeats)
    bench_streaming_memory(args.minutes)


if __name__ == "__main__":
    main()
