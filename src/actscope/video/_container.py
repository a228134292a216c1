"""Opening a video with PyAV and turning FFmpeg's failures into :mod:`actscope.errors` types.

Private to :mod:`actscope.video`: the rest of the package reads video through the public
functions of that package, never through PyAV directly.
"""

from __future__ import annotations

import errno
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import av
import numpy as np

from actscope.errors import (
    CorruptVideoError,
    NotAVideoError,
    NoVideoStreamError,
    UnsupportedCodecError,
    VideoError,
    VideoNotFoundError,
)
from actscope.files import is_video_name

Source = str | os.PathLike

# Leading bytes of the containers users most often hand us; used only to tell a damaged
# video ("truncated or corrupt") from a file that is not a video at all.
_CONTAINER_MAGIC = (
    (4, b"ftyp"),  # MP4 / MOV / M4V / 3GP
    (0, b"RIFF"),  # AVI
    (0, b"\x1a\x45\xdf\xa3"),  # Matroska / WebM
    (0, b"FLV"),
    (0, b"OggS"),
    (0, b"\x00\x00\x01\xba"),  # MPEG program stream
    (0, b"\x47"),  # MPEG transport stream sync byte (weak; only with a video suffix)
)


def is_url(source: Source) -> bool:
    """True when ``source`` names a network or device URL rather than a local path."""
    return "://" in str(source)


def _looks_like_video_container(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
    except OSError:
        return False
    for offset, magic in _CONTAINER_MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return magic != b"\x47" or is_video_name(path)
    return False


def _check_local_file(path: str) -> None:
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise VideoError(
                f"{path}: a symbolic link that points back to itself (a loop); fix the link"
            ) from None
        if not os.path.lexists(path):
            raise VideoNotFoundError(f"{path}: no such file; check the path") from None
        if os.path.islink(path):
            raise VideoNotFoundError(
                f"{path}: a symbolic link to a file that does not exist; fix the link"
            ) from None
        raise VideoError(
            f"{path}: cannot be read ({exc.strerror}); check its permissions"
        ) from None
    if os.path.isdir(path):
        raise NotAVideoError(f"{path}: is a directory, not a video file")
    if os.path.getsize(path) == 0:
        raise NotAVideoError(f"{path}: the file is empty (0 bytes); re-copy or re-export it")


_LOG_LEVEL_LOCK = threading.Lock()


@contextmanager
def _ffmpeg_errors_in_exceptions() -> Iterator[None]:
    """While opening, let FFmpeg's error log reach PyAV, which then appends the last error
    line to the exception it raises (PyAV keeps FFmpeg's log off by default)."""
    import av.logging

    # The level is process-wide: two threads opening at once would each restore the other's
    # ERROR and leave FFmpeg's log on for good (and PyAV's log callback can deadlock threads
    # that decode meanwhile), so opening takes a lock.
    with _LOG_LEVEL_LOCK:
        level = av.logging.get_level()
        av.logging.set_level(av.logging.ERROR)
        try:
            with av.logging.Capture(local=False):  # collected here instead of printed
                yield
        finally:
            av.logging.set_level(level)


@contextmanager
def open_input(
    source: Source, *, timeout: float | None = 10.0
) -> Iterator[av.container.InputContainer]:
    """Open ``source`` (path or URL) for reading; raise a :class:`VideoError` subtype on failure.

    ``timeout`` (seconds) bounds opening and reading network sources.
    """
    name = os.fspath(source)
    if not is_url(name):
        _check_local_file(name)
    try:
        with _ffmpeg_errors_in_exceptions():
            container = av.open(name, mode="r", timeout=timeout if is_url(name) else None)
    except av.error.FileNotFoundError as exc:
        raise VideoNotFoundError(f"{name}: no such file; check the path") from exc
    except av.error.InvalidDataError as exc:
        if not is_url(name) and _looks_like_video_container(name):
            raise CorruptVideoError(
                f"{name}: the video container is truncated or corrupt (FFmpeg cannot read its "
                "header); re-download or re-export the file"
            ) from exc
        raise NotAVideoError(
            f"{name}: not a video file FFmpeg recognises; give a video such as .mp4, .avi or .mkv"
        ) from exc
    except (av.error.FFmpegError, OSError) as exc:
        raise VideoError(
            f"{name}: FFmpeg cannot open it ({_ffmpeg_reason(exc)}); the file is damaged, or "
            "not a video this FFmpeg can read"
        ) from exc
    try:
        yield container
    finally:
        container.close()


def _ffmpeg_reason(exc: Exception) -> str:
    """What FFmpeg said: the last error it logged (e.g. "Picture size 60000x60000 is
    invalid") rather than the bare error code it returned (there: "Device or resource
    busy")."""
    logged = re.search(r"last error log: \[[^\]]*\] (.+)$", str(exc).strip())
    return logged.group(1).strip() if logged else getattr(exc, "strerror", None) or str(exc)


# FFmpeg demuxers that turn text files into "video" (ANSI art renderers).
_TEXT_ART_FORMATS = {"tty", "bin", "adf", "idf", "xbin"}


def video_stream(container: av.container.InputContainer, name: str) -> av.video.stream.VideoStream:
    """The first video stream of ``container``; errors name what the file holds instead."""
    formats = set(container.format.name.split(","))
    if formats & _TEXT_ART_FORMATS:
        raise NotAVideoError(f"{name}: is a text file, not a video; give a video such as .mp4")
    if any(f.endswith("_pipe") for f in formats):
        raise NotAVideoError(f"{name}: is a still image, not a video; give a video such as .mp4")
    if not container.streams.video:
        kinds = sorted({stream.type for stream in container.streams})
        held = f"only {', '.join(kinds)} streams" if kinds else "no streams"
        if not container.streams.audio:
            # FFmpeg's text demuxers (lyrics, subtitles) guess themselves onto arbitrary bytes
            raise NotAVideoError(
                f"{name}: not a video (FFmpeg reads it as {container.format.name} with "
                f"{held}); give a video such as .mp4, .avi or .mkv"
            )
        raise NoVideoStreamError(f"{name}: has no video stream ({held}); give a video file")
    stream = container.streams.video[0]
    if stream.codec_context is None:
        raise UnsupportedCodecError(
            f"{name}: its video codec is not supported by this FFmpeg build; "
            "convert it, e.g. `ffmpeg -i INPUT -c:v libx264 OUTPUT.mp4`"
        )
    stream.thread_type = "AUTO"  # frame and slice threads: ~1.5-2x faster decoding on 2 cores
    return stream


@dataclass
class DecodeStats:
    """What a decoding pass met: frames decoded and packets the decoder rejected."""

    decoded: int = 0
    bad_packets: int = 0


def iter_frames(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    stats: DecodeStats,
) -> Iterator[av.VideoFrame]:
    """Decode ``stream`` in presentation order, skipping packets the decoder rejects.

    Damaged packets are counted in ``stats`` instead of ending the pass, so a partly corrupt
    file yields every frame that can be decoded.
    """
    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.error.FFmpegError:
                stats.bad_packets += 1
                continue
            for frame in frames:
                stats.decoded += 1
                yield frame
    except av.error.FFmpegError:
        # Demuxing itself failed (e.g. the file ends inside a packet): stop like at EOF, but
        # first drain the frames the decoder still holds (reordering and thread delay).
        stats.bad_packets += 1
        try:
            drained = stream.codec_context.decode(None)
        except av.error.FFmpegError:
            drained = []
        for frame in drained:
            stats.decoded += 1
            yield frame


def display_rotation(frame: av.VideoFrame) -> int:
    """Clockwise rotation in degrees (0, 90, 180, 270) that shows ``frame`` upright."""
    return round(-frame.rotation / 90.0) % 4 * 90


def frame_to_rgb(frame: av.VideoFrame, rotation: int, size: tuple[int, int] | None) -> np.ndarray:
    """``frame`` as upright RGB uint8 ``(H, W, 3)``; ``size`` is the stored (width, height)."""
    if size is None:
        rgb = frame.to_ndarray(format="rgb24")
    else:
        rgb = frame.to_ndarray(format="rgb24", width=size[0], height=size[1])
    if rotation:
        rgb = np.ascontiguousarray(np.rot90(rgb, k=-rotation // 90))
    return rgb
