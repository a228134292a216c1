"""Decoding frames: the whole video, sampled indices, or a stream of frames.

Short videos are decoded in one sequential pass that converts to RGB only the frames asked
for (seeking per frame was up to 6x slower on short real clips). Long videos with sparse
indices seek to the key frame before each index instead of decoding hours of footage.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import av
import numpy as np

from actscope.errors import CorruptVideoError, VideoError
from actscope.video._container import (
    DecodeStats,
    Source,
    display_rotation,
    frame_to_rgb,
    is_url,
    iter_frames,
    open_input,
    video_stream,
)
from actscope.video.info import VideoInfo, describe_stream, uses_index_timing

log = logging.getLogger(__name__)

Indices = np.ndarray | list[int] | Callable[..., np.ndarray] | None

# Seek instead of decoding sequentially only for videos longer than this many frames...
SEEK_MIN_FRAMES = 3000
# ...and when consecutive wanted frames are on average further apart than this.
SEEK_MIN_GAP = 250


@dataclass
class Frame:
    """One decoded frame: ``image`` is RGB uint8 ``(H, W, 3)``; ``time`` in seconds."""

    index: int
    time: float
    image: np.ndarray


@dataclass
class Clip:
    """Frames read from a video.

    ``frames`` has shape ``indices.shape + (H, W, 3)`` (RGB uint8); ``times`` holds each
    frame's presentation time in seconds from the start of the stream. ``frames_lost`` counts
    frames that failed to decode (only non-zero when the caller allowed a partial read).
    """

    frames: np.ndarray
    indices: np.ndarray
    times: np.ndarray
    info: VideoInfo
    frames_lost: int = 0


class _Clock:
    """Presentation time (seconds) of each decoded frame, monotonic even with bad timestamps."""

    def __init__(self, info: VideoInfo, stream: av.video.stream.VideoStream) -> None:
        self.period = 1.0 / info.fps if info.fps > 0 else 0.0
        self.by_index = uses_index_timing(info.container)
        self.time_base = float(stream.time_base) if stream.time_base else 0.0
        self.origin = stream.start_time
        self.last = -np.inf

    def __call__(self, frame: av.VideoFrame, index: int) -> float:
        if self.by_index or frame.pts is None or not self.time_base:
            time = index * self.period
        else:
            if self.origin is None:
                self.origin = frame.pts
            time = (frame.pts - self.origin) * self.time_base
        if time <= self.last:  # repair duplicated or out-of-order timestamps
            time = self.last + self.period
        self.last = time
        return time


def _target_size(info: VideoInfo, short_side: int | None, rotation: int) -> tuple[int, int] | None:
    """Stored (width, height) to scale to so the displayed short side is ``short_side`` px."""
    if short_side is None:
        return None
    scale = short_side / min(info.width, info.height)
    width, height = round(info.width * scale), round(info.height * scale)
    return (height, width) if rotation in (90, 270) else (width, height)


class _OpenVideo:
    """An open container with its first frame decoded and metadata known."""

    def __init__(self, container: av.container.InputContainer, name: str) -> None:
        self.name = name
        self.container = container
        self.stream = video_stream(container, name)
        self.stats = DecodeStats()
        self._frames = iter_frames(container, self.stream, self.stats)
        self.first = next(self._frames, None)
        self.info = describe_stream(container, self.stream, name, self.first)
        self.rotation = display_rotation(self.first)

    def frames(self) -> Iterator[av.VideoFrame]:
        """All frames in presentation order, from the first."""
        yield self.first
        yield from self._frames


def iter_video_frames(
    source: Source,
    *,
    step: int = 1,
    short_side: int | None = None,
    allow_partial: bool = False,
) -> Iterator[Frame]:
    """Yield every ``step``-th frame of ``source`` as a :class:`Frame`, in bounded memory.

    Works for files and live URLs alike. A damaged packet raises
    :class:`~actscope.errors.CorruptVideoError` unless ``allow_partial``, in which case it is
    skipped with a warning.
    """
    if step < 1:
        raise ValueError(f"step must be at least 1, got {step}")
    name = os.fspath(source)
    with open_input(name) as container:
        video = _OpenVideo(container, name)
        clock = _Clock(video.info, video.stream)
        size = _target_size(video.info, short_side, video.rotation)
        reported = decoded = 0
        for index, frame in enumerate(video.frames()):
            if video.stats.bad_packets > reported:
                reported = video.stats.bad_packets
                _on_damage(name, video.stats, index, allow_partial)
            time = clock(frame, index)
            decoded = index + 1
            if index % step == 0:
                yield Frame(index, time, frame_to_rgb(frame, video.rotation, size))
        if not is_url(name):
            _check_ending(name, video.info, decoded, allow_partial)


def read_video(
    source: Source,
    indices: Indices = None,
    *,
    short_side: int | None = None,
    allow_partial: bool = False,
    rng: np.random.Generator | None = None,
) -> Clip:
    """Decode frames of ``source`` (path or URL) as RGB uint8.

    ``indices`` is ``None`` (every frame), an array of frame indices of any shape (e.g.
    ``(num_clips, T)`` for multi-view testing; repeats are decoded once), or a sampler from
    :mod:`actscope.video.sampling` called with the frame count. ``short_side`` resizes while
    decoding so the shorter displayed side has that many pixels.

    A truncated or corrupt file raises :class:`~actscope.errors.CorruptVideoError`; with
    ``allow_partial=True`` the frames that decode are returned (a sampler is re-applied to
    their count) and ``Clip.frames_lost`` says how many were lost.
    """
    name = os.fspath(source)
    with open_input(name) as container:
        video = _OpenVideo(container, name)
        wanted = _resolve(indices, video.info.frame_count, rng)
        needed = np.unique(wanted)
        if needed[0] < 0:
            raise VideoError(f"{name}: frame indices must be non-negative, got {needed[0]}")
        size = _target_size(video.info, short_side, video.rotation)
        if _should_seek(video.info, needed):
            images, times = _read_by_seeking(video, needed, size)
            decoded, lost = needed[-1] + 1, 0
        else:
            images, times, decoded = _read_sequentially(video, needed, size)
            lost = _check_losses(name, video.info, video.stats, decoded, needed, allow_partial)
    if len(images) < len(needed):  # the video ended early: damage, or a miscounted header
        if indices is None:
            wanted = needed = needed[: len(images)]
        elif callable(indices):  # re-sample on the frames that exist
            fitted = indices(decoded, rng) if rng is not None else indices(decoded)
            clip = read_video(name, fitted, short_side=short_side, allow_partial=True)
            clip.frames_lost = lost
            return clip
        else:
            raise VideoError(
                f"{name}: frame {needed[len(images)]} was asked for but the video has only "
                f"{decoded} decodable frames"
            )
    frames, times = np.stack(images), np.asarray(times)
    if not np.array_equal(wanted, needed):  # reorder, repeat, reshape (one more copy)
        position = np.searchsorted(needed, wanted)
        frames, times = frames[position], times[position]
    return Clip(frames=frames, indices=wanted, times=times, info=video.info, frames_lost=lost)


def _resolve(indices: Indices, frame_count: int, rng: np.random.Generator | None) -> np.ndarray:
    if indices is None:
        return np.arange(frame_count, dtype=np.int64)
    if callable(indices):
        indices = indices(frame_count, rng) if rng is not None else indices(frame_count)
    wanted = np.asarray(indices, dtype=np.int64)
    if wanted.size == 0:
        raise ValueError("no frame indices given")
    return wanted


def _should_seek(info: VideoInfo, needed: np.ndarray) -> bool:
    if info.frame_count < SEEK_MIN_FRAMES or len(needed) < 1:
        return False
    return needed[-1] / len(needed) > SEEK_MIN_GAP


def _read_sequentially(
    video: _OpenVideo, needed: np.ndarray, size: tuple[int, int] | None
) -> tuple[list[np.ndarray], list[float], int]:
    """One pass from the start; stops after the last needed frame. Returns images, times, count."""
    clock = _Clock(video.info, video.stream)
    images: list[np.ndarray] = []
    times: list[float] = []
    want = 0
    decoded = 0
    for index, frame in enumerate(video.frames()):
        decoded = index + 1
        time = clock(frame, index)
        if index == needed[want]:
            images.append(frame_to_rgb(frame, video.rotation, size))
            times.append(time)
            want += 1
            if want == len(needed):
                break
    return images, times, decoded


def _read_by_seeking(
    video: _OpenVideo, needed: np.ndarray, size: tuple[int, int] | None
) -> tuple[list[np.ndarray], list[float]]:
    """For long videos: frame ``i`` is the first frame shown at or after ``i / fps``."""
    stream, info = video.stream, video.info
    time_base = float(stream.time_base)
    origin = stream.start_time or 0
    half_frame = 0.5 / info.fps
    images: list[np.ndarray] = []
    times: list[float] = []
    frames: Iterator[av.VideoFrame] = iter(())
    position = -np.inf  # time (s) of the last frame decoded
    for index in needed:
        target = index / info.fps
        if target - position > SEEK_MIN_GAP / info.fps or target < position:
            video.container.seek(origin + int(target / time_base), stream=stream, backward=True)
            frames = iter_frames(video.container, stream, video.stats)
        for frame in frames:
            position = (frame.pts - origin) * time_base if frame.pts is not None else position
            if position >= target - half_frame:
                images.append(frame_to_rgb(frame, video.rotation, size))
                times.append(position)
                break
        else:
            raise CorruptVideoError(
                f"{video.name}: the video ends before {target:.2f} s although it claims "
                f"{info.duration:.2f} s; it is truncated: re-download or re-export it",
                decoded=len(images),
                expected=len(needed),
            )
    return images, times


def _check_losses(
    name: str,
    info: VideoInfo,
    stats: DecodeStats,
    decoded: int,
    needed: np.ndarray,
    allow_partial: bool,
) -> int:
    """Frames lost to damage in the part decoded; raise unless the caller allows losses."""
    ran_short = decoded <= needed[-1]
    lost = max(stats.bad_packets, info.frame_count - decoded if ran_short else 0)
    # A header may miscount by a frame or two; only decode errors or a large gap mean damage.
    damaged = stats.bad_packets > 0 or lost > max(2, 0.01 * info.frame_count)
    if not damaged:
        return 0
    if not allow_partial:
        raise CorruptVideoError(
            f"{name}: truncated or corrupt: {lost} of {info.frame_count} frames do not decode; "
            "re-export the file, or allow a partial read (--allow-partial) to use the "
            f"{decoded if ran_short else info.frame_count - lost} that do",
            decoded=decoded,
            expected=info.frame_count,
        )
    log.warning(
        "%s: %d of %d frames could not be decoded and were skipped", name, lost, info.frame_count
    )
    return lost


def _check_ending(name: str, info: VideoInfo, decoded: int, allow_partial: bool) -> None:
    """A stream that ends well short of the frame count its header states was truncated."""
    missing = info.frame_count - decoded
    if missing <= max(2, 0.01 * info.frame_count):
        return
    message = (
        f"{name}: the video ends after {decoded} of its {info.frame_count} frames; it is truncated"
    )
    if not allow_partial:
        raise CorruptVideoError(
            f"{message}: re-export the file, or allow a partial read (--allow-partial)",
            decoded=decoded,
            expected=info.frame_count,
        )
    log.warning("%s", message)


def _on_damage(name: str, stats: DecodeStats, index: int, allow_partial: bool) -> None:
    if not allow_partial:
        raise CorruptVideoError(
            f"{name}: corrupt data near frame {index}; re-export the file, or allow a partial "
            "read (--allow-partial) to skip damaged frames",
            decoded=stats.decoded,
        )
    log.warning("%s: skipped damaged data near frame %d", name, index)


def count_decodable(source: Source) -> tuple[int, int]:
    """Decode every frame of ``source`` without converting it; return (frames, damaged packets)."""
    name = os.fspath(source)
    with open_input(name) as container:
        video = _OpenVideo(container, name)
        decoded = sum(1 for _ in video.frames())
        return decoded, video.stats.bad_packets
