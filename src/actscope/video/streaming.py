"""Fixed-length windows over arbitrarily long videos and live streams, in bounded memory."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from actscope.video._container import Source
from actscope.video.reader import Frame, iter_video_frames


@dataclass
class Window:
    """``frames`` RGB uint8 ``(T, H, W, 3)`` with their frame ``indices`` and ``times`` (s).

    ``start`` is the first frame's time and ``end`` the time just after the last frame
    (its time plus one frame period), so consecutive non-overlapping windows tile the video.
    """

    frames: np.ndarray
    indices: np.ndarray
    times: np.ndarray
    start: float
    end: float


def stream_windows(
    source: Source,
    window: int = 16,
    hop: int | None = None,
    *,
    frame_step: int = 1,
    short_side: int | None = None,
    allow_partial: bool = False,
) -> Iterator[Window]:
    """Yield windows of ``window`` frames, each ``hop`` kept frames after the previous one.

    Only every ``frame_step``-th decoded frame is kept. Memory holds one window at a time.
    The video's tail is covered by a last window ending at its final frame; a video shorter
    than one window gives one window padded by repeating its last frame.
    """
    hop = window if hop is None else hop
    if window < 1 or hop < 1:
        raise ValueError(f"window and hop must be at least 1, got {window} and {hop}")
    buffer: deque[Frame] = deque(maxlen=window)
    since_emit = 0
    emitted_last = -1
    period = 0.0
    for frame in iter_video_frames(
        source, step=frame_step, short_side=short_side, allow_partial=allow_partial
    ):
        if buffer:
            period = frame.time - buffer[-1].time
        buffer.append(frame)
        since_emit += 1
        first_window = emitted_last < 0 and len(buffer) == window
        if first_window or (emitted_last >= 0 and since_emit == hop):
            yield _make_window(list(buffer), period)
            emitted_last = frame.index
            since_emit = 0
    if buffer and buffer[-1].index > emitted_last:
        frames = list(buffer)
        frames += [frames[-1]] * (window - len(frames))
        yield _make_window(frames, period)


def _make_window(frames: list[Frame], period: float) -> Window:
    times = np.array([f.time for f in frames])
    return Window(
        frames=np.stack([f.image for f in frames]),
        indices=np.array([f.index for f in frames], dtype=np.int64),
        times=times,
        start=float(times[0]),
        end=float(times[-1] + period),
    )
