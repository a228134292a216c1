"""Live frame sources: a camera, a network stream, or a file replayed at its own frame rate.

Every source yields :class:`CapturedFrame` objects stamped with the moment they became
available (``time.monotonic()``), the origin of the end-to-end latency. Files (local or
remote, anything with a known duration) are paced to their real frame rate, and a frame the
replay is already late for is skipped, as a camera's driver would drop it. Network streams
and cameras that stop delivering are reopened a few times before the source gives up with
:class:`StreamLostError`. Decoding goes through :mod:`actscope.video` (PyAV); cameras are
read with OpenCV, which reaches them on every platform.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from actscope.errors import VideoError
from actscope.video import VideoInfo, iter_video_frames, probe

log = logging.getLogger(__name__)

Notify = Callable[[dict], None]

STABLE_SECONDS = 30.0
"""A connection that delivered this long resets the count of reconnection attempts."""


class StreamLostError(VideoError):
    """A live source stopped delivering frames and could not be reopened."""


@dataclass
class CapturedFrame:
    """One frame as the pipeline receives it.

    ``index`` counts the frames the source delivered or skipped (0, 1, ...); ``time`` is
    the stream time in seconds (the video's own time for files, seconds since the start
    for cameras and live streams, increasing across reconnections); ``image`` is RGB
    uint8 ``(H, W, 3)``; ``captured`` is the ``time.monotonic()`` at which the frame was
    due (files) or read (cameras, streams).
    """

    index: int
    time: float
    image: np.ndarray
    captured: float


class FrameSource:
    """Base of the sources: ``frames(stop)`` yields until the end or until ``stop`` is set.

    ``fps`` is the nominal frame rate (0 when unknown); ``skipped`` counts frames a paced
    replay left out because it was already late for them.
    """

    name: str = ""
    fps: float = 0.0
    skipped: int = 0

    def frames(self, stop: threading.Event) -> Iterator[CapturedFrame]:
        raise NotImplementedError

    def describe(self) -> dict:
        return {"source": self.name, "fps": round(self.fps, 3)}


def _wait(stop: threading.Event, seconds: float) -> bool:
    """Sleep ``seconds`` unless ``stop`` is set first; True when stopped."""
    return stop.wait(seconds) if seconds > 0 else stop.is_set()


class VideoSource(FrameSource):
    """A video file or URL read with PyAV.

    ``paced`` replays at ``speed`` times the video's frame rate (the default for anything
    with a known duration); otherwise frames are taken as fast as they arrive (live
    streams). ``short_side`` scales frames down while decoding (pixels). A URL that ends
    before its stated duration, or fails, is reopened up to ``reconnects`` times,
    ``retry_delay`` seconds apart; ``notify`` receives a ``reconnect`` event each time.
    """

    def __init__(
        self,
        spec: str,
        info: VideoInfo,
        *,
        paced: bool,
        speed: float = 1.0,
        short_side: int | None = None,
        reconnects: int = 3,
        retry_delay: float = 1.0,
        notify: Notify | None = None,
    ) -> None:
        self.name = spec
        self.info = info
        self.fps = info.fps
        self.paced = paced
        self.speed = speed
        self.short_side = short_side
        self.reconnects = reconnects
        self.retry_delay = retry_delay
        self.notify = notify or (lambda event: None)
        self.remote = "://" in spec

    def describe(self) -> dict:
        return {
            **super().describe(),
            "kind": "file" if not self.remote else ("remote file" if self.paced else "stream"),
            "size": [self.info.width, self.info.height],
            "paced": self.paced,
        }

    def frames(self, stop: threading.Event) -> Iterator[CapturedFrame]:
        period = 1.0 / self.fps if self.fps > 0 else 1.0 / 30
        offset = 0.0  # keeps stream time increasing across reconnections
        last_time = -period
        index = 0
        attempts = 0
        while not stop.is_set():
            connected = time.monotonic()
            origin: tuple[float, float] | None = None  # (first frame time, its wall time)
            reason = "the stream ended"
            try:
                for frame in iter_video_frames(
                    self.name, short_side=self.short_side, allow_partial=True
                ):
                    if stop.is_set():
                        return
                    stream_time = offset + frame.time
                    if not self.paced:
                        captured = time.monotonic()
                    else:
                        if origin is None:
                            origin = (frame.time, time.monotonic())
                        captured = origin[1] + (frame.time - origin[0]) / self.speed
                        now = time.monotonic()
                        if now > captured + period / self.speed:
                            self.skipped += 1  # late already: a camera would have dropped it
                            index += 1
                            last_time = stream_time
                            continue
                        if _wait(stop, captured - now):
                            return
                    last_time = stream_time
                    yield CapturedFrame(index, stream_time, frame.image, captured)
                    index += 1
                if not self.remote or self._reached_end(last_time - offset):
                    return
            except VideoError as exc:
                if not self.remote:
                    raise
                reason = str(exc)
            if time.monotonic() - connected > STABLE_SECONDS:
                attempts = 0
            attempts += 1
            if attempts > self.reconnects:
                raise StreamLostError(
                    f"{self.name}: {reason}; gave up after {self.reconnects} reconnection attempts"
                )
            log.warning(
                "%s: %s; reconnecting (%d of %d)", self.name, reason, attempts, self.reconnects
            )
            self.notify(
                {"event": "reconnect", "attempt": attempts, "of": self.reconnects, "reason": reason}
            )
            offset = last_time + period
            if _wait(stop, self.retry_delay):
                return

    def _reached_end(self, last_time: float) -> bool:
        """A remote video with a stated duration that played to (nearly) its end."""
        return self.info.duration > 0 and last_time >= self.info.duration - 3.0 / max(self.fps, 1.0)


class CameraSource(FrameSource):
    """A camera by index (``0``) or device path (``/dev/video0``), read with OpenCV.

    Frames are scaled so their short side is at most ``short_side`` pixels. A camera that
    stops delivering is reopened up to ``reconnects`` times.
    """

    def __init__(
        self,
        device: int | str,
        *,
        short_side: int | None = None,
        reconnects: int = 3,
        retry_delay: float = 1.0,
        notify: Notify | None = None,
    ) -> None:
        self.device = device
        self.name = f"camera {device}"
        self.short_side = short_side
        self.reconnects = reconnects
        self.retry_delay = retry_delay
        self.notify = notify or (lambda event: None)
        self._capture = self._open()
        self.fps = float(self._capture.get(_cv2().CAP_PROP_FPS) or 0.0)

    def _open(self):
        cv2 = _cv2()
        level = cv2.getLogLevel()
        cv2.setLogLevel(0)  # OpenCV logs every failed probe of every backend
        try:
            capture = cv2.VideoCapture(self.device)
        finally:
            cv2.setLogLevel(level)
        if not capture.isOpened():
            capture.release()
            raise VideoError(
                f"{self.name} cannot be opened: check that it is connected, that this user may "
                "use it and that no other program holds it"
            )
        return capture

    def frames(self, stop: threading.Event) -> Iterator[CapturedFrame]:
        cv2 = _cv2()
        start = time.monotonic()
        index = 0
        attempts = 0
        good_since = start
        try:
            while not stop.is_set():
                ok, image = self._capture.read() if self._capture is not None else (False, None)
                if ok:
                    captured = time.monotonic()
                    if captured - good_since > STABLE_SECONDS:
                        attempts = 0
                    image = cv2.cvtColor(_shrink(image, self.short_side), cv2.COLOR_BGR2RGB)
                    yield CapturedFrame(index, captured - start, image, captured)
                    index += 1
                    continue
                attempts += 1
                if attempts > self.reconnects:
                    raise StreamLostError(
                        f"{self.name} stopped delivering frames; gave up after "
                        f"{self.reconnects} reconnection attempts"
                    )
                self.notify(
                    {
                        "event": "reconnect",
                        "attempt": attempts,
                        "of": self.reconnects,
                        "reason": "the camera stopped delivering frames",
                    }
                )
                if self._capture is not None:
                    self._capture.release()
                    self._capture = None
                if _wait(stop, self.retry_delay):
                    return
                try:
                    self._capture = self._open()
                    good_since = time.monotonic()
                except VideoError:
                    self._capture = None
        finally:
            if self._capture is not None:
                self._capture.release()


def _cv2():
    import cv2

    return cv2


def _shrink(image: np.ndarray, short_side: int | None) -> np.ndarray:
    """``image`` scaled down so its short side is ``short_side`` pixels (never up)."""
    if short_side is None or min(image.shape[:2]) <= short_side:
        return image
    scale = short_side / min(image.shape[:2])
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    return _cv2().resize(image, size, interpolation=_cv2().INTER_AREA)


def is_camera(spec: str) -> bool:
    """A camera index (``"0"``) or a video device path (``/dev/video0``)."""
    return spec.isdigit() or spec.startswith("/dev/video")


def open_source(
    spec: str,
    *,
    short_side: int | None = 360,
    speed: float = 1.0,
    paced: bool | None = None,
    reconnects: int = 3,
    retry_delay: float = 1.0,
    notify: Notify | None = None,
) -> FrameSource:
    """Open ``spec``: a camera index or device, a URL (``rtsp://``, ``http://``, ...) or a file.

    Opening checks that a frame can be read and raises a
    :class:`~actscope.errors.VideoError` with one line saying why not. ``paced=None``
    paces anything with a known duration (files, remote files) and not live streams.
    """
    spec = os.fspath(spec)
    if speed <= 0:
        raise VideoError(f"replay speed must be positive, got {speed}")
    if is_camera(spec):
        device: int | str = int(spec) if spec.isdigit() else spec
        return CameraSource(
            device,
            short_side=short_side,
            reconnects=reconnects,
            retry_delay=retry_delay,
            notify=notify,
        )
    info = probe(spec)
    finite = info.duration > 0 and info.frame_count > 0
    return VideoSource(
        spec,
        info,
        paced=finite if paced is None else paced,
        speed=speed,
        short_side=short_side if short_side and min(info.width, info.height) > short_side else None,
        reconnects=reconnects,
        retry_delay=retry_delay,
        notify=notify,
    )
