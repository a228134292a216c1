"""Small generated videos for tests, written with PyAV.

Frame ``i`` is a noisy grey of mean level ``level(i)`` with a white marker in its top-left
quarter, so tests can tell frames apart and see orientation after lossy encoding.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def level(index: int) -> int:
    """Grey level of frame ``index``: far enough apart to survive lossy codecs."""
    return 16 + (index * 7) % 224


def pattern(index: int, width: int, height: int) -> np.ndarray:
    """RGB uint8 ``(height, width, 3)`` test picture for frame ``index``."""
    noise = np.random.default_rng(index).integers(-6, 7, (height, width, 3))
    image = (level(index) + noise).astype(np.uint8)  # texture gives the codec real data
    image[: height // 4, : width // 4] = 255
    return image


def write_video(
    path: Path,
    num_frames: int = 30,
    *,
    fps: int = 25,
    width: int = 64,
    height: int = 48,
    codec: str = "h264",
    pix_fmt: str = "yuv420p",
    times: Sequence[float] | None = None,
    rotation: int | None = None,
    options: dict[str, str] | None = None,
    container_options: dict[str, str] | None = None,
    gop: int | None = None,
    audio: bool = False,
) -> Path:
    """Write ``num_frames`` pattern frames to ``path``.

    ``times`` (seconds, increasing) gives a variable frame rate; ``rotation`` is the display
    rotation stored in the container, counter-clockwise degrees as FFmpeg's display matrix.
    """
    with av.open(str(path), "w", options=container_options or {}) as container:
        stream = container.add_stream(codec, rate=fps, options=options or {})
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        if gop is not None:
            stream.codec_context.gop_size = gop
        if times is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        if rotation is not None:
            stream.set_display_rotation(rotation)
        sound = container.add_stream("aac", rate=16000) if audio else None
        for index in range(num_frames):
            frame = av.VideoFrame.from_ndarray(pattern(index, width, height), format="rgb24")
            if times is not None:
                frame.pts = round(times[index] * 1000)
                frame.time_base = Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        if sound is not None:
            _write_silence(container, sound, seconds=num_frames / fps)
    return path


def _write_silence(container, stream, seconds: float) -> None:
    samples = 1024
    for index in range(int(seconds * stream.rate / samples) + 1):
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, samples), np.float32), format="fltp", layout="mono"
        )
        frame.sample_rate = stream.rate
        frame.pts = index * samples
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)


def write_audio_only(path: Path, seconds: float = 1.0) -> Path:
    with av.open(str(path), "w") as container:
        _write_silence(container, container.add_stream("aac", rate=16000), seconds)
    return path


def decode_all(path: Path) -> tuple[np.ndarray, list[int | None]]:
    """Reference decode with plain PyAV: every frame as stored RGB, and its pts.

    Packets the decoder rejects are skipped, so damaged files give the frames that decode.
    """
    frames, pts = [], []
    with av.open(str(path)) as container:
        for packet in container.demux(video=0):
            try:
                decoded = packet.decode()
            except av.error.InvalidDataError:
                continue
            for frame in decoded:
                frames.append(frame.to_ndarray(format="rgb24"))
                pts.append(frame.pts)
    return np.stack(frames), pts
