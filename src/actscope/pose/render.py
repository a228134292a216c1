"""Drawing skeletons: over video frames (an mp4 written with PyAV) or alone (a PNG).

Bones and joints on the person's left are blue, on their right orange, in the middle green,
so a picture shows at a glance whether left and right are where they should be.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from fractions import Fraction

import av
import cv2
import numpy as np

from actscope.errors import PoseError
from actscope.files import atomic_path
from actscope.pose.convert import canonical_coords
from actscope.pose.layouts import BODY15, Layout, get_layout
from actscope.pose.skeleton import Skeleton
from actscope.video import iter_video_frames, probe

LEFT = (40, 110, 255)
RIGHT = (255, 140, 20)
MIDDLE = (40, 200, 80)


def _side_color(name: str) -> tuple[int, int, int]:
    if name.startswith("left_"):
        return LEFT
    if name.startswith("right_"):
        return RIGHT
    return MIDDLE


def draw_skeleton(
    image: np.ndarray,
    points: np.ndarray,
    layout: str | Layout,
    scores: np.ndarray | None = None,
    *,
    min_score: float = 0.0,
    thickness: int | None = None,
) -> np.ndarray:
    """Draw one person's bones and joints on ``image`` (RGB uint8, modified in place).

    ``points`` is ``(V, 2)`` in pixels of ``image`` (x right, y down). Joints that are
    missing (NaN) or scored below ``min_score`` are skipped with their bones.
    """
    layout = get_layout(layout)
    if thickness is None:
        thickness = max(1, round(min(image.shape[:2]) / 180))
    visible = ~np.isnan(points).any(axis=-1)
    if scores is not None:
        visible &= scores >= min_score
    pixel = np.nan_to_num(points).round().astype(np.int32)
    for a, b in layout.edges:
        if visible[a] and visible[b]:
            # a bone takes the side of its outer joint (elbow-wrist is an arm bone)
            color = _side_color(layout.joints[b])
            cv2.line(
                image, tuple(pixel[a]), tuple(pixel[b]), color, thickness, lineType=cv2.LINE_AA
            )
    for v in np.flatnonzero(visible):
        color = _side_color(layout.joints[v])
        cv2.circle(image, tuple(pixel[v]), thickness + 2, color, -1, lineType=cv2.LINE_AA)
    return image


def image_points(skeleton: Skeleton, frame: int, size: tuple[int, int]) -> np.ndarray:
    """``(M, V, 2)`` positions of an ``image``-space skeleton's people in frame ``frame``,
    in pixels of an image of ``size`` = (width, height)."""
    if skeleton.space != "image":
        raise PoseError(f"only image keypoints can be drawn over video, not {skeleton.space!r}")
    points = skeleton.coords[:, frame, :, :2].copy()
    if skeleton.layout == BODY15.name:
        points[..., 1] *= -1  # body15 stores image keypoints with y up
    if skeleton.image_size is not None:
        points *= np.array(size, np.float32) / np.array(skeleton.image_size, np.float32)
    return points


class VideoWriter:
    """Write RGB frames to an H.264 mp4 with PyAV; the file appears only when complete.

    Use as a context manager; an exception inside the block leaves no file behind.
    """

    def __init__(self, path: str | os.PathLike, fps: float) -> None:
        self.path = os.fspath(path)
        self.fps = fps
        self._atomic = atomic_path(self.path)
        self._container = None
        self._stream = None

    def __enter__(self) -> VideoWriter:
        temp = self._atomic.__enter__()
        self._container = av.open(str(temp), "w", format="mp4")
        return self

    def write(self, image: np.ndarray) -> None:
        """Append one RGB uint8 ``(H, W, 3)`` frame (all frames the same size)."""
        if self._stream is None:
            rate = Fraction(self.fps).limit_denominator(1001)
            self._stream = self._container.add_stream("h264", rate=rate)
            self._stream.width = image.shape[1] - image.shape[1] % 2  # yuv420p: even sizes
            self._stream.height = image.shape[0] - image.shape[0] % 2
            self._stream.pix_fmt = "yuv420p"
            self._stream.options = {"preset": "veryfast", "crf": "23"}
        image = image[: self._stream.height, : self._stream.width]
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        self._container.mux(self._stream.encode(frame))

    def __exit__(self, exc_type, exc, traceback) -> None:
        failure = (exc_type, exc, traceback)
        try:
            if exc_type is None:
                if self._stream is None:
                    raise PoseError(f"{self.path}: no frames to write; nothing was rendered")
                self._container.mux(self._stream.encode())
        except BaseException as error:
            failure = (type(error), error, error.__traceback__)
            raise
        finally:
            self._container.close()
            self._atomic.__exit__(*failure)  # renames on success, deletes on failure


def render_video(
    video: str | os.PathLike,
    skeleton: Skeleton,
    output: str | os.PathLike,
    *,
    short_side: int | None = None,
    min_score: float = 0.3,
) -> None:
    """Draw ``skeleton`` (image keypoints of ``video``, frame-aligned) over the video's
    frames and write an mp4 to ``output`` at the video's resolution, or with its short side
    at ``short_side`` pixels."""
    info = probe(video)
    step = max(1, round(info.fps / skeleton.fps)) if info.fps > 0 else 1
    with VideoWriter(output, skeleton.fps) as writer:
        for t, frame in enumerate(iter_video_frames(video, step=step, short_side=short_side)):
            if t >= skeleton.num_frames:
                break
            writer.write(draw_frame(frame.image, skeleton, t, min_score=min_score))


def draw_frame(
    image: np.ndarray, skeleton: Skeleton, frame: int, *, min_score: float = 0.3
) -> np.ndarray:
    """A copy of ``image`` with every person of ``skeleton``'s frame ``frame`` drawn on it."""
    canvas = image.copy()
    size = (image.shape[1], image.shape[0])
    for person, points in enumerate(image_points(skeleton, frame, size)):
        draw_skeleton(
            canvas, points, skeleton.layout, skeleton.scores[person, frame], min_score=min_score
        )
    return canvas


def skeleton_picture(
    skeleton: Skeleton, frame: int, *, size: int = 480, title: str = ""
) -> np.ndarray:
    """An RGB ``(size, size, 3)`` front view of frame ``frame`` on a white canvas.

    Any space works: coordinates are mapped to canonical axes (x right, y up) and fitted
    to the canvas, so the body should stand upright with its left side in blue.
    """
    coords = canonical_coords(skeleton)[:, frame, :, :2]
    canvas = np.full((size, size, 3), 255, np.uint8)
    top = 50  # room for the labels
    present = coords[~np.isnan(coords).any(axis=-1)]
    if len(present):
        low, high = present.min(axis=0), present.max(axis=0)
        scale = 0.9 * (size - top) / max(float((high - low).max()), 1e-6)
        middle = (low + high) / 2
        for person in coords:
            points = (person - middle) * scale
            points = np.stack([size / 2 + points[:, 0], (size + top) / 2 - points[:, 1]], axis=-1)
            draw_skeleton(canvas, points, skeleton.layout, thickness=3)
    _label(canvas, title or f"frame {frame}", 0)
    _label(canvas, f"{skeleton.layout}, {skeleton.space}; left blue, right orange", 1)
    return canvas


def _label(canvas: np.ndarray, text: str, line: int) -> None:
    cv2.putText(
        canvas, text, (6, 18 + 18 * line), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA
    )


def save_png(path: str | os.PathLike, image: np.ndarray) -> None:
    """Write an RGB uint8 image to a PNG, atomically."""
    with atomic_path(path) as temp:
        if not cv2.imwrite(str(temp), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
            raise PoseError(f"{path}: could not write the PNG")


def picture_grid(pictures: Iterable[np.ndarray]) -> np.ndarray:
    """Pictures of equal height side by side."""
    return np.concatenate(list(pictures), axis=1)
