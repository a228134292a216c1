"""Output of a live run: annotated frames, recorded to an mp4 or shown in a window.

The recording keeps real time: each frame is stamped with its stream time, so frames the
pipeline skipped leave the previous picture on screen for longer instead of speeding the
video up.
"""

from __future__ import annotations

import os
import sys
from fractions import Fraction

import av
import cv2
import numpy as np

from actscope.errors import ActscopeError, VideoError
from actscope.files import atomic_path
from actscope.live.pipeline import Analysis, PoseSample
from actscope.pose.render import draw_skeleton

WINDOW_TITLE = "actscope live"


def annotate(sample: PoseSample, analysis: Analysis, status: str = "") -> np.ndarray:
    """A copy of the sample's frame with the skeleton, the analysis lines (top left) and
    ``status`` (bottom left, e.g. fps and latency) drawn on it. RGB uint8 ``(H, W, 3)``."""
    image = sample.image.copy()
    if sample.has_person:
        draw_skeleton(image, sample.keypoints, sample.layout, sample.scores, min_score=0.3)
    scale = max(0.5, min(image.shape[:2]) / 600)
    y = 8
    for line in analysis.lines:
        y = _text_box(image, line, (8, y), scale) + 4
    if status:
        _text_box(image, status, (8, image.shape[0] - round(28 * scale)), 0.8 * scale)
    return image


def _text_box(image: np.ndarray, text: str, corner: tuple[int, int], scale: float) -> int:
    """White text on a dark box whose top-left corner is ``corner``; returns its bottom."""
    thickness = max(1, round(scale * 2))
    (width, height), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    x, y = corner
    bottom = y + height + base + 6
    cv2.rectangle(image, (x, y), (x + width + 8, bottom), (20, 20, 20), -1)
    cv2.putText(
        image,
        text,
        (x + 4, y + height + 3),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        (255, 255, 255),
        thickness,
        cv2.LINE_AA,
    )
    return bottom


class Recorder:
    """Write annotated frames to an H.264 mp4 at their stream times (milliseconds).

    The file appears only when :meth:`close` completes; :meth:`abort` leaves nothing.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)
        self._atomic = atomic_path(self.path)
        temp = self._atomic.__enter__()
        try:
            self._container = av.open(str(temp), "w", format="mp4")
        except (av.error.FFmpegError, OSError) as exc:
            self._atomic.__exit__(type(exc), exc, exc.__traceback__)
            raise VideoError(f"{self.path}: cannot write the recording ({exc})") from exc
        self._stream = None
        self._origin: float | None = None
        self._last_pts = -1

    def write(self, image: np.ndarray, time: float) -> None:
        """Append RGB uint8 ``image`` shown at stream time ``time`` (seconds)."""
        if self._stream is None:
            self._stream = self._container.add_stream("h264", rate=30)
            self._stream.width = image.shape[1] - image.shape[1] % 2
            self._stream.height = image.shape[0] - image.shape[0] % 2
            self._stream.pix_fmt = "yuv420p"
            self._stream.codec_context.time_base = Fraction(1, 1000)
            self._stream.options = {"preset": "veryfast", "crf": "23", "bf": "0"}
            self._origin = time
        pts = max(self._last_pts + 1, round((time - self._origin) * 1000))
        self._last_pts = pts
        image = image[: self._stream.height, : self._stream.width]
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        frame.pts, frame.time_base = pts, Fraction(1, 1000)
        self._container.mux(self._stream.encode(frame))

    def close(self) -> None:
        """Finish the file; with no frames written, nothing is left behind and an
        :class:`~actscope.errors.VideoError` says so."""
        if self._stream is None:
            self.abort()
            raise VideoError(f"{self.path}: no frames reached the output; nothing was recorded")
        try:
            self._container.mux(self._stream.encode())
            self._container.close()
        except BaseException as exc:
            self._atomic.__exit__(type(exc), exc, exc.__traceback__)
            raise
        self._atomic.__exit__(None, None, None)

    def abort(self) -> None:
        try:
            self._container.close()
        finally:
            error = ActscopeError("aborted")
            self._atomic.__exit__(type(error), error, None)


def display_available() -> bool:
    """Whether a window can be shown (on Linux: an X11 or Wayland display is set)."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


class Window:
    """Shows frames in an OpenCV window; ``show`` returns False once the user pressed q/Esc
    or closed it. Must be used from the main thread."""

    def __init__(self) -> None:
        if not display_available():
            raise ActscopeError(
                "no display is available (DISPLAY is not set); drop --show, or use --record "
                "FILE.mp4 to save the annotated video"
            )
        cv2.namedWindow(WINDOW_TITLE, cv2.WINDOW_NORMAL)

    def show(self, image: np.ndarray) -> bool:
        cv2.imshow(WINDOW_TITLE, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        key = cv2.waitKey(1) & 0xFF
        visible = cv2.getWindowProperty(WINDOW_TITLE, cv2.WND_PROP_VISIBLE) >= 1
        return key not in (ord("q"), 27) and visible

    def close(self) -> None:
        cv2.destroyWindow(WINDOW_TITLE)
