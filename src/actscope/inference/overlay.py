"""Drawing results over the video: the skeleton, the current action and a confidence bar.

:func:`render_overlay` decodes the video once more (frames are never kept in memory) and
writes an H.264 mp4 with PyAV; the file appears only when complete. The current action is
the detected segment under the frame (detection), or the most probable class of the windows
covering the frame (prediction).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import cv2
import numpy as np

from actscope.inference.scoring import ScoreTrack
from actscope.inference.segments import Segment
from actscope.pose.render import VideoWriter, draw_frame
from actscope.pose.skeleton import Skeleton
from actscope.video import iter_video_frames, probe

BOX = (20, 20, 20)
TEXT = (255, 255, 255)
BAR = (40, 200, 80)
MUTED = (170, 170, 170)


def render_overlay(
    video: str | os.PathLike,
    output: str | os.PathLike,
    scores: ScoreTrack | None = None,
    segments: Sequence[Segment] | None = None,
    skeleton: Skeleton | None = None,
    *,
    short_side: int | None = None,
    smooth: int = 3,
    min_score: float = 0.3,
    allow_partial: bool = False,
) -> int:
    """Write ``video`` with the overlay to ``output`` (mp4); returns the frames written.

    ``skeleton``: image keypoints of ``video`` (frame-aligned; a track estimated on every
    ``step``-th frame renders every ``step``-th frame). ``segments``: detected segments,
    shown when the frame lies in one, else "no action"; without them the top class of the
    (``smooth``-window averaged) ``scores`` at the frame is shown. ``short_side`` resizes
    the output (pixels).
    """
    info = probe(video)
    step = 1
    if skeleton is not None and info.fps > 0:
        step = max(1, round(info.fps / skeleton.fps))
    fps = info.fps / step if info.fps > 0 else 25.0
    written = 0
    with VideoWriter(output, fps) as writer:
        for t, frame in enumerate(
            iter_video_frames(video, step=step, short_side=short_side, allow_partial=allow_partial)
        ):
            image = frame.image
            if skeleton is not None and t < skeleton.num_frames:
                image = draw_frame(image, skeleton, t, min_score=min_score)
            else:
                image = image.copy()
            label, score = current_action(frame.time, scores, segments, smooth)
            draw_label(image, label, score)
            writer.write(image)
            written += 1
    return written


def current_action(
    time: float,
    scores: ScoreTrack | None,
    segments: Sequence[Segment] | None,
    smooth: int = 3,
) -> tuple[str | None, float]:
    """``(label, score)`` to show at ``time`` seconds; ``(None, 0)`` when there is none."""
    if segments is not None:
        under = [s for s in segments if s.start <= time < s.end]
        if not under:
            return None, 0.0
        best = max(under, key=lambda s: s.score)
        return best.label, best.score
    if scores is None or not scores.num_windows:
        return None, 0.0
    covering = (scores.starts <= time) & (time < scores.ends)
    if not covering.any():
        return None, 0.0
    probs = scores.smoothed(smooth)[covering].mean(axis=0)
    k = int(np.argmax(probs))
    return scores.class_names[k], float(probs[k])


def draw_label(image: np.ndarray, label: str | None, score: float) -> np.ndarray:
    """Draw a box in the top-left corner of ``image`` (RGB uint8, in place) with ``label``
    and a bar whose filled length is ``score`` (0-1) of its width; "no action" without a
    label."""
    height, width = image.shape[:2]
    scale = max(0.35, min(height, width) / 720)
    thickness = max(1, round(scale * 2))
    text = label if label is not None else "no action"
    caption = f"{text}  {score:.2f}" if label is not None else text
    (text_w, text_h), base = cv2.getTextSize(caption, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    pad = max(4, round(8 * scale))
    bar_h = max(4, round(10 * scale))
    box_w = min(width, max(text_w, round(width * 0.3)) + 2 * pad)
    box_h = min(height, text_h + base + bar_h + 3 * pad)
    region = image[:box_h, :box_w]
    region[:] = (region * 0.35 + np.array(BOX) * 0.65).astype(np.uint8)  # translucent box
    cv2.putText(
        image,
        caption,
        (pad, pad + text_h),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        TEXT if label is not None else MUTED,
        thickness,
        cv2.LINE_AA,
    )
    top = pad * 2 + text_h + base
    left, right = pad, box_w - pad
    cv2.rectangle(image, (left, top), (right, top + bar_h), MUTED, 1)
    if label is not None:
        filled = left + round((right - left) * float(np.clip(score, 0, 1)))
        cv2.rectangle(image, (left, top), (filled, top + bar_h), BAR, -1)
    return image
