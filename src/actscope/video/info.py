"""Video metadata: what a file claims about itself, read without decoding it all."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from fractions import Fraction

import av

from actscope.errors import CorruptVideoError
from actscope.video._container import (
    DecodeStats,
    Source,
    display_rotation,
    is_url,
    iter_frames,
    open_input,
    video_stream,
)

# Formats whose packets carry no real presentation timestamps (AVI stores frame counters,
# and with B-frames PyAV hands back pts out of order): frame i is shown at i / fps.
_INDEX_TIMED_FORMATS = {"avi"}


@dataclass(frozen=True)
class VideoInfo:
    """Metadata of a video's first video stream.

    ``width`` and ``height`` are in pixels as displayed, after ``rotation`` (clockwise degrees
    from the stored picture) has been applied. ``duration`` is in seconds. ``frame_count`` is
    the container's count when it states one, else the number of video packets (for a
    live URL with no stated length: 0).
    """

    path: str
    container: str
    codec: str
    width: int
    height: int
    fps: float
    frame_count: int
    duration: float
    rotation: int
    pixel_format: str
    bit_rate: int | None
    has_audio: bool

    def to_dict(self) -> dict:
        return asdict(self)


def probe(source: Source) -> VideoInfo:
    """Read the metadata of ``source`` (a path or URL) and decode its first frame.

    Decoding one frame proves the stream is decodable and gives the display rotation, which
    FFmpeg attaches to decoded frames. Raises a :class:`~actscope.errors.VideoError` subtype.
    """
    name = os.fspath(source)
    with open_input(name) as container:
        stream = video_stream(container, name)
        first = next(iter_frames(container, stream, DecodeStats()), None)
        return describe_stream(container, stream, name, first)


def describe_stream(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    name: str,
    first: av.VideoFrame | None,
) -> VideoInfo:
    """:class:`VideoInfo` of an open ``stream`` whose first decoded frame is ``first``."""
    if first is None:
        raise CorruptVideoError(
            f"{name}: no frame of its video stream decodes; the file is corrupt or "
            "truncated: re-download or re-export it",
            decoded=0,
            expected=stream.frames or None,
        )
    rotation = display_rotation(first)
    fps = _frame_rate(stream)
    duration = _duration(container, stream)
    frame_count = stream.frames
    if frame_count <= 0:
        if not is_url(name):
            frame_count = _count_packets(name)
        elif duration > 0 and fps > 0:
            frame_count = round(duration * fps)
    if frame_count > 0 and duration > 0:
        # The mean rate over the file: right for variable frame rates, where the declared
        # rate (e.g. Matroska's default frame duration) is not.
        fps = frame_count / duration
    if duration <= 0 and fps > 0:
        duration = frame_count / fps
    ctx = stream.codec_context
    width, height = ctx.width, ctx.height
    if rotation in (90, 270):
        width, height = height, width
    return VideoInfo(
        path=name,
        container=container.format.name,
        codec=ctx.name,
        width=width,
        height=height,
        fps=round(fps, 6),
        frame_count=int(frame_count),
        duration=round(duration, 6),
        rotation=rotation,
        pixel_format=ctx.format.name if ctx.format is not None else "unknown",
        bit_rate=container.bit_rate or None,
        has_audio=bool(container.streams.audio),
    )


def uses_index_timing(container_format: str) -> bool:
    """True for containers whose timestamps are frame counters (times are index / fps)."""
    return bool(_INDEX_TIMED_FORMATS.intersection(container_format.split(",")))


def _frame_rate(stream: av.video.stream.VideoStream) -> float:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate and float(rate) > 0:
            return float(rate)
    return 0.0


def _duration(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return float(Fraction(container.duration, av.time_base))
    return 0.0


def _count_packets(name: str) -> int:
    """Count video packets (one per frame for the codecs in use) by demuxing, no decoding."""
    with open_input(name) as container:
        stream = container.streams.video[0]
        return sum(1 for packet in container.demux(stream) if packet.size)
