"""Pose extraction speed: MediaPipe Pose (full model) over whole videos, decoding included.

For each clip, side by side in one run: (a) decoding alone, at the size the extractor
decodes at (short side at most 480 px), through actscope.video; (b) extract_poses with one
estimator thread (decoding overlapped in a background thread) and (c) with two (blocks of
64 frames handed out in turn). Estimators are created once and warmed up, as in a long
`actscope pose --dataset` run; the cold figure adds creating them. The ratio is (b)'s or
(c)'s frames per second over (a)'s. The machine's load average is printed before and after:
other work on the same cores lowers every figure, so the CPU time per frame (all threads)
is given too: a machine with two free cores can reach at most 2000 / (CPU ms per frame).

Clips: the longest 640x360 push-up clip (wrong26.mp4, 397 frames) and the 1920x1080 NTU
sample clip (103 frames).

Run: .venv/bin/python benchmarks/bench_pose.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import mediapipe

from actscope.pose import MediaPipePose, extract_poses
from actscope.pose.estimate import DEFAULT_WORK_SIZE, work_short_side
from actscope.video import iter_video_frames, probe

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CLIPS = (
    DATA / "pushup_form" / "videos" / "wrong" / "wrong26.mp4",
    DATA / "sample_clips" / "S001C001P001R001A001_rgb.avi",
)


def median_seconds(fn, repeats: int) -> tuple[float, float]:
    """Median wall-clock seconds and median CPU seconds (all threads) of ``fn()``."""
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def decode_only(path: Path) -> int:
    size = work_short_side(probe(path), DEFAULT_WORK_SIZE)
    return sum(1 for _ in iter_video_frames(path, short_side=size))


def bench(path: Path, repeats: int) -> None:
    info = probe(path)
    frames = decode_only(path)
    decode, _ = median_seconds(lambda: decode_only(path), repeats)
    start = time.perf_counter()
    one = [MediaPipePose()]
    found = extract_poses(path, one).frames_with_person
    cold = time.perf_counter() - start
    single, single_cpu = median_seconds(lambda: extract_poses(path, one), repeats)
    two = [one[0], MediaPipePose()]
    extract_poses(path, two)  # warm the second graph
    double, double_cpu = median_seconds(lambda: extract_poses(path, two), repeats)
    for estimator in two:
        estimator.close()
    print(
        f"| {path.name} ({info.width}x{info.height}) | {frames} | {found} "
        f"| {frames / decode:.0f} | {frames / cold:.1f} "
        f"| {frames / single:.1f} | {decode / single:.2f} | {1000 * single_cpu / frames:.1f} "
        f"| **{frames / double:.1f}** | {decode / double:.2f} | {1000 * double_cpu / frames:.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"mediapipe {mediapipe.__version__}; load average before: {os.getloadavg()[0]:.2f}"
    )
    print(
        "| clip | frames | with a person | (a) decode fps | cold fps, 1 thread "
        "| (b) fps, 1 thread | (b)/(a) | (b) CPU ms/frame "
        "| (c) fps, 2 threads | (c)/(a) | (c) CPU ms/frame |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for path in CLIPS:
        if not path.exists():
            print(f"{path}: missing; skipped")
            continue
        bench(path, args.repeats)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
