"""Class scores over time: sliding windows over a pose stream or a video, in bounded memory.

A :class:`ScoreTrack` is what the jobs built on a model read: the class probabilities of
windows (start, end in seconds) and, per frame, whether a person is present and how much
they move. It is a few bytes per frame and per window, whatever the video's resolution.

Skeleton models: :class:`SkeletonStream` takes pose frames one at a time (from
:func:`actscope.pose.iter_poses` or from a stored :class:`~actscope.pose.Skeleton`), keeps
only the last window of them, and scores a window every hop. Its motion signal is the speed
of the fastest-moving body joints in limb lengths per second (see :func:`body_motion`),
independent of image size and camera distance, so pauses can be told from actions.

:func:`stream_video_poses` runs a pose estimator over a video straight into a
:class:`SkeletonStream` (no frame is kept). RGB models: :func:`score_video_windows` scores
clips over :func:`actscope.stream_windows`; there is no motion signal for them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from actscope.errors import ModelError
from actscope.inference.recognizer import ClipRecognizer, SkeletonRecognizer
from actscope.pose.camera import CAMERA_SPACE, mirror_points, mirror_scores, place_in_camera
from actscope.pose.convert import to_body15
from actscope.pose.estimate import Estimators, PoseEstimator, PoseFrame, default_estimators
from actscope.pose.features import fill_missing, limb_scale
from actscope.pose.layouts import get_layout
from actscope.pose.skeleton import Skeleton
from actscope.video import Frame

log = logging.getLogger(__name__)

MOTION_LAG = 0.2
"""Seconds over which joint displacement is measured: long enough that keypoint jitter
averages out, short enough to follow the start and end of a movement."""
MOTION_JOINTS = 3
"""The motion of a frame is the mean speed of its this many fastest joints: actions move a
limb or two, so the mean over all joints would dilute them."""
MIN_PRESENT = 0.5
"""A window is scored only if a person is present in at least this share of its frames."""


@dataclass
class ScoreTrack:
    """Scores of one video over time.

    ``starts``/``ends`` ``(W,)`` seconds and ``probs`` ``(W, K)`` of the scored windows (in
    time order; windows without a person are not scored); ``times`` ``(F,)`` seconds of each
    frame used, ``present`` ``(F,)`` bool, and ``motion`` ``(F,)`` in limb lengths per second
    (``None`` for RGB models); ``duration`` seconds.
    """

    class_names: list[str]
    starts: np.ndarray
    ends: np.ndarray
    probs: np.ndarray
    times: np.ndarray
    present: np.ndarray
    motion: np.ndarray | None
    duration: float

    @property
    def num_windows(self) -> int:
        return len(self.starts)

    @property
    def centers(self) -> np.ndarray:
        """``(W,)`` middle of each window, seconds."""
        return (self.starts + self.ends) / 2

    def shifted(self, offset: float) -> ScoreTrack:
        """A copy whose times (windows, frames) are ``offset`` seconds later."""
        if not offset:
            return self
        return dataclasses.replace(
            self, starts=self.starts + offset, ends=self.ends + offset, times=self.times + offset
        )

    def mean_probs(self) -> np.ndarray:
        """``(K,)`` probabilities averaged over the scored windows (zeros if none)."""
        if not self.num_windows:
            return np.zeros(len(self.class_names), np.float32)
        return self.probs.mean(axis=0)

    def smoothed(self, windows: int) -> np.ndarray:
        """``(W, K)`` probabilities averaged over ``windows`` consecutive windows (centred)."""
        return moving_average(self.probs, windows)

    def center_scores(self, smooth: int = 1) -> np.ndarray:
        """``(F, K)``: per frame, the (smoothed) probabilities of the windows centred there,
        interpolated linearly between window centres (held before the first and after the
        last); zeros if no window was scored. For models trained to label a window's
        centre (with a background class), where covering windows would blur the edges."""
        probs = self.smoothed(smooth)
        out = np.zeros((len(self.times), probs.shape[1] if probs.ndim == 2 else 0), np.float32)
        if not self.num_windows:
            return out
        centers = self.centers
        for k in range(probs.shape[1]):
            out[:, k] = np.interp(self.times, centers, probs[:, k])
        return out

    def frame_scores(self, smooth: int = 1) -> np.ndarray:
        """``(F, K)``: per frame, the mean (smoothed) probabilities of the windows covering
        it; zeros where no scored window covers the frame."""
        probs = self.smoothed(smooth)
        out = np.zeros((len(self.times), probs.shape[1] if probs.ndim == 2 else 0), np.float32)
        if not self.num_windows:
            return out
        # Windows are in time order, so the covering windows of each frame are a range.
        first = np.searchsorted(self.ends, self.times, side="right")
        last = np.searchsorted(self.starts, self.times, side="right")
        cumulative = np.concatenate([np.zeros((1, probs.shape[1])), np.cumsum(probs, axis=0)])
        count = np.maximum(last - first, 0)
        covered = count > 0
        out[covered] = (cumulative[last[covered]] - cumulative[first[covered]]) / count[
            covered, None
        ]
        return out


def presence_warnings(track: ScoreTrack, window_seconds: float) -> list[str]:
    """What keeps a skeleton model's ``track`` from naming actions: nobody in view, or
    somebody in too few frames for one window of ``window_seconds``."""
    frames, person = len(track.times), int(track.present.sum())
    if person == 0:
        return [
            f"no person found in any of the {frames} frames; actions cannot be recognised "
            "from poses without a person"
        ]
    if not track.num_windows:
        return [
            f"a person was found in only {person} of {frames} frames, too few for one "
            f"{window_seconds:g} s window; no actions reported"
        ]
    return []


def moving_average(values: np.ndarray, size: int) -> np.ndarray:
    """Centred moving average of ``values (N, ...)`` over ``size`` rows (row ``i`` averages
    rows ``i - size // 2`` to ``i + (size - 1) // 2``), averaging only the rows that exist
    at the ends; the result has the shape of ``values``, whatever ``N`` and ``size``."""
    values = np.asarray(values)
    if size <= 1 or len(values) < 2:
        return values.astype(np.float32)
    count = len(values)
    flat = values.reshape(count, -1).astype(np.float64)
    cumulative = np.concatenate([np.zeros((1, flat.shape[1])), np.cumsum(flat, axis=0)])
    index = np.arange(count)
    low = np.maximum(index - size // 2, 0)
    high = np.minimum(index + (size - 1) // 2 + 1, count)
    means = (cumulative[high] - cumulative[low]) / (high - low)[:, None]
    return means.reshape(values.shape).astype(np.float32)


def body_motion(body: np.ndarray, fps: float, scale: float) -> np.ndarray:
    """Per-frame motion ``(T,)`` of one person's body15 ``body (T, 15, C)`` (canonical axes,
    NaN where missing): the mean of the :data:`MOTION_JOINTS` largest joint speeds, each the
    displacement between the frames :data:`MOTION_LAG` / 2 seconds before and after
    (fewer at the ends) divided by the time between them, in units of ``scale`` per second."""
    frames = len(body)
    if frames < 2 or not np.isfinite(scale):
        return np.zeros(frames, np.float32)
    filled = np.nan_to_num(fill_missing(body))
    half = max(1, round(MOTION_LAG * fps / 2))
    index = np.arange(frames)
    before, after = np.maximum(index - half, 0), np.minimum(index + half, frames - 1)
    elapsed = np.maximum(after - before, 1) / fps
    speed = np.linalg.norm(filled[after] - filled[before], axis=-1) / elapsed[:, None] / scale
    fastest = np.sort(speed, axis=1)[:, -MOTION_JOINTS:]
    return fastest.mean(axis=1).astype(np.float32)


class FramePoseHistory:
    """Poses of every frame seen, by frame index, compactly (float16, a few hundred bytes
    per frame), so that a segment can be scored as one clip once it is found: body15 in
    canonical axes by default, or the frames as given in another ``layout`` (the joints of
    a model trained on a sensor's own layout) and ``image_size``.

    (Live recognition keeps a different history, :class:`actscope.live.TimedPoseHistory`:
    only the last seconds, by stream time, since a live pipeline skips frames.)"""

    CHUNK = 4096

    def __init__(
        self,
        persons: int,
        channels: int,
        fps: float,
        space: str,
        layout: str = "body15",
        image_size: tuple[int, int] | None = None,
    ) -> None:
        self.persons, self.channels, self.fps, self.space = persons, channels, fps, space
        self.layout, self.image_size = layout, image_size
        self.joints = get_layout(layout).num_joints
        self._coords: list[np.ndarray] = []
        self._scores: list[np.ndarray] = []
        self.count = 0

    def extend(self, coords: np.ndarray, scores: np.ndarray) -> None:
        """Append frames: ``coords (M, T, V, C)`` and ``scores (M, T, V)`` in :attr:`layout`."""
        for t in range(coords.shape[1]):
            if self.count % self.CHUNK == 0:
                shape = (self.persons, self.CHUNK, self.joints)
                self._coords.append(np.full((*shape, self.channels), np.nan, np.float16))
                self._scores.append(np.zeros(shape, np.float16))
            chunk, row = divmod(self.count, self.CHUNK)
            kept = min(self.persons, coords.shape[0])
            self._coords[chunk][:kept, row] = coords[:kept, t]
            self._scores[chunk][:kept, row] = scores[:kept, t]
            self.count += 1

    def skeleton(self, first: int, stop: int) -> Skeleton:
        """Frames ``[first, stop)`` (clipped to the frames seen) as a :class:`Skeleton` in
        :attr:`layout` (body15: in canonical axes)."""
        first, stop = max(0, first), max(first, min(stop, self.count))
        coords, scores = [], []
        for chunk in range(first // self.CHUNK, -(-stop // self.CHUNK)):
            low = max(first - chunk * self.CHUNK, 0)
            high = min(stop - chunk * self.CHUNK, self.CHUNK)
            coords.append(self._coords[chunk][:, low:high])
            scores.append(self._scores[chunk][:, low:high])
        if not coords:
            return Skeleton.empty(
                self.layout, 0, self.fps, self.space, self.channels, image_size=self.image_size
            )
        return Skeleton(
            np.concatenate(coords, axis=1).astype(np.float32),
            np.concatenate(scores, axis=1).astype(np.float32),
            self.layout,
            self.fps,
            self.space,
            image_size=self.image_size,
        )


class SkeletonStream:
    """Sliding-window scoring of a pose stream, one frame at a time, in bounded memory.

    Frames are given as ``(coords (P, V, C), scores (P, V))`` in ``layout`` and ``space``
    (P may be 0). A window of ``window`` seconds is scored every ``hop`` seconds (at most
    one window); the stream's tail is covered by a last window ending at its last frame,
    and a stream shorter than one window is scored as one window. Windows are scored in
    batches of ``batch``. With ``keep_history`` the poses of every frame are kept
    (:attr:`history`, for scoring found segments as whole clips): body15 in canonical axes,
    or, for a model that reads another layout (a sensor's own joints), the frames as given.
    A model trained on a sensor's own joints takes only that layout (a one-line
    :class:`~actscope.errors.ModelError` otherwise). Frames must be evenly spaced: see
    :func:`even_frames`.
    """

    def __init__(
        self,
        recognizer: SkeletonRecognizer,
        fps: float,
        layout: str,
        space: str,
        *,
        window: float | None = None,
        hop: float | None = None,
        image_size: tuple[int, int] | None = None,
        batch: int = 32,
        keep_history: bool = True,
    ) -> None:
        if hasattr(recognizer, "check_layout"):  # stand-ins of a model may not have it
            recognizer.check_layout(layout)
        self.recognizer = recognizer
        self.fps = fps
        self.layout, self.space, self.image_size = layout, space, image_size
        # the model's own layout, when it is not body15, is kept as given
        self._raw_history = getattr(recognizer.features, "layout", "body15") != "body15"
        seconds = window or recognizer.window_seconds
        self._half = max(1, round(MOTION_LAG * fps / 2))
        self.window = max(2 * self._half + 2, round(seconds * fps))
        # a hop under (window - half) frames leaves every frame's motion measurable
        self.hop = min(self.window - self._half, max(1, round((hop or seconds / 4) * fps)))
        self.batch = batch
        features = recognizer.features
        self._persons, self._min_score = features.persons, features.min_score
        self.history: FramePoseHistory | None = None
        self._keep_history = keep_history
        self._buffer: deque[tuple[np.ndarray, np.ndarray]] = deque(maxlen=self.window)
        self._count = 0  # frames seen
        self._since = 0  # frames since the last window
        self._last_end = 0  # frame index just after the last window
        self._pending: list[tuple[int, int, Skeleton]] = []
        self._starts: list[float] = []
        self._ends: list[float] = []
        self._probs: list[np.ndarray] = []
        self._motion: list[np.ndarray] = []
        self._motion_done = 0  # frames whose motion is known
        self._present: list[bool] = []

    def add(self, coords: np.ndarray, scores: np.ndarray) -> None:
        """Append the next frame's people: ``coords (P, V, C)``, ``scores (P, V)``."""
        coords = np.asarray(coords, np.float32)
        self._buffer.append((coords, np.asarray(scores, np.float32)))
        self._present.append(bool(len(coords)) and not np.isnan(coords).all())
        self._count += 1
        self._since += 1
        if self._count == self.window or (self._count > self.window and self._since >= self.hop):
            self._window(final=False)

    def add_skeleton(self, skeleton: Skeleton) -> None:
        """Append every frame of ``skeleton`` (same layout and space as the stream)."""
        for t in range(skeleton.num_frames):
            self.add(skeleton.coords[:, t], skeleton.scores[:, t])

    def finish(self) -> ScoreTrack:
        """Score the tail and what is pending; the stream's :class:`ScoreTrack`."""
        if self._count:
            self._window(final=True)
        self._flush()
        classes = self.recognizer.class_names
        probs = np.concatenate(self._probs) if self._probs else np.zeros((0, len(classes)))
        return ScoreTrack(
            class_names=list(classes),
            starts=np.array(self._starts, np.float64),
            ends=np.array(self._ends, np.float64),
            probs=probs.astype(np.float32),
            times=np.arange(self._count) / self.fps,
            present=np.array(self._present, bool),
            motion=np.concatenate(self._motion) if self._motion else np.zeros(0, np.float32),
            duration=self._count / self.fps,
        )

    def _window(self, final: bool) -> None:
        """The buffer as a window: measure its new frames' motion, keep their poses, and
        queue it for scoring (a final call scores it only if it holds unscored frames)."""
        self._since = 0
        frames = list(self._buffer)
        first = self._count - len(frames)
        score = not final or self._last_end < self._count
        self._last_end = self._count
        people = max(len(c) for c, _ in frames)
        if not people:
            self._measure(first, None, final)
            return
        joints, channels = next(c.shape[1:] for c, _ in frames if len(c))
        coords = np.full((people, len(frames), joints, channels), np.nan, np.float32)
        scores = np.zeros((people, len(frames), joints), np.float32)
        for t, (c, s) in enumerate(frames):
            coords[: len(c), t], scores[: len(s), t] = c, s
        clip = Skeleton(
            coords, scores, self.layout, self.fps, self.space, image_size=self.image_size
        )
        body = to_body15(clip)
        self._measure(first, body, final, clip)
        if score and clip.present().any(axis=0).mean() >= MIN_PRESENT:
            self._pending.append((first, self._count, clip))
            if len(self._pending) >= self.batch:
                self._flush()

    def _measure(
        self, first: int, body: Skeleton | None, final: bool, clip: Skeleton | None = None
    ) -> None:
        """Motion of the frames whose neighbourhood is complete (all, if ``final``), and the
        poses of the frames not in the history yet (``body``, the window in body15, or
        ``clip``, the window as given, for a model of another layout)."""
        stop = self._count if final else self._count - self._half
        new = stop - self._motion_done
        if new > 0:
            if body is None:
                motion = np.zeros(new, np.float32)
            else:
                # joints the model would not see (scored under its min_score) do not move
                coords = np.where((body.scores >= self._min_score)[..., None], body.coords, np.nan)
                main = int(np.argmax((~np.isnan(coords[..., 0])).sum(axis=(1, 2))))
                metric = body.space in ("world", CAMERA_SPACE)
                pose = coords[main] if metric else coords[main, ..., :2]
                motion = body_motion(pose, self.fps, limb_scale(pose))
                motion = motion[self._motion_done - first : stop - first]
                motion[~np.array(self._present[self._motion_done : stop])] = 0.0
            self._motion.append(motion)
            self._motion_done = stop
        if self._keep_history:
            self._remember(first, clip if self._raw_history else body)

    def _remember(self, first: int, body: Skeleton | None) -> None:
        persons = self._persons
        if self.history is None:
            channels = 3 if self.space in ("world", CAMERA_SPACE) else 2
            if body is not None:
                channels = body.channels
            layout = self.layout if self._raw_history else "body15"
            size = self.image_size if self._raw_history else None
            self.history = FramePoseHistory(persons, channels, self.fps, self.space, layout, size)
        start = self.history.count - first
        if body is None:
            new = self._count - self.history.count
            shape = (persons, new, self.history.joints, self.history.channels)
            empty = np.full(shape, np.nan, np.float32)
            self.history.extend(empty, np.zeros(empty.shape[:3], np.float32))
        else:
            self.history.extend(body.coords[:, start:], body.scores[:, start:])

    def _flush(self) -> None:
        if not self._pending:
            return
        probs = self.recognizer.skeleton_scores([clip for _, _, clip in self._pending])
        for (first, stop, _), p in zip(self._pending, probs, strict=True):
            self._starts.append(first / self.fps)
            self._ends.append(stop / self.fps)
            self._probs.append(p[None])
        self._pending.clear()


HOLE_SECONDS = 1.0
"""A gap longer than this between two recorded frames is a hole (nobody tracked), not
frames to interpolate over, when uneven frames are put on an even grid."""


def even_frames(skeleton: Skeleton) -> tuple[Skeleton, float]:
    """``skeleton`` with evenly spaced frames, as :class:`SkeletonStream` takes them, and the
    time (s) of its first frame on the original time line: frames recorded unevenly (with
    ``timestamps``) are resampled to their nominal ``fps`` from the first one, missing
    inside holes of more than :data:`HOLE_SECONDS`; even ones come back as they are, at 0."""
    if skeleton.even:
        return skeleton, 0.0
    start = float(skeleton.timestamps[0]) if skeleton.num_frames else 0.0
    return skeleton.resample(max_gap=HOLE_SECONDS), start


@dataclass(frozen=True)
class PoseFormat:
    """What the frames of a pose stream are: ``fps`` (frames per second), joint ``layout``,
    ``space`` (``"image"``, ``"world"`` or ``"camera"``) and ``image_size`` (width, height)
    in pixels, when known."""

    fps: float
    layout: str
    space: str
    image_size: tuple[int, int] | None = None

    def stream(self, recognizer: SkeletonRecognizer, **options) -> SkeletonStream:
        """A :class:`SkeletonStream` of such frames (``options``: its keywords)."""
        return SkeletonStream(
            recognizer, self.fps, self.layout, self.space, image_size=self.image_size, **options
        )


@dataclass
class RecordedPoses:
    """Every frame of a pose stream, kept: ``frames`` of ``(coords (P, V, C), scores (P, V))``
    as ``format`` says. What a pose stage hands to a model stage elsewhere (``actscope
    batch`` on Ray): :meth:`stream` scores them as the frames streamed live would be."""

    format: PoseFormat
    frames: list[tuple[np.ndarray, np.ndarray]]

    @classmethod
    def of_skeleton(cls, skeleton: Skeleton) -> RecordedPoses:
        """The frames of an evenly spaced ``skeleton`` (see :func:`even_frames`)."""
        form = PoseFormat(skeleton.fps, skeleton.layout, skeleton.space, skeleton.image_size)
        frames = range(skeleton.num_frames)
        return cls(form, [(skeleton.coords[:, t], skeleton.scores[:, t]) for t in frames])

    def stream(self, recognizer: SkeletonRecognizer) -> SkeletonStream:
        """A :class:`SkeletonStream` (no history) fed with every frame; call
        :meth:`SkeletonStream.finish` on it for the scores."""
        stream = self.format.stream(recognizer, keep_history=False)
        for coords, scores in self.frames:
            stream.add(coords, scores)
        return stream


@contextlib.contextmanager
def video_poses(
    recognizer: SkeletonRecognizer,
    video: str,
    *,
    step: int = 1,
    work_size: int | None = None,
    workers: int | None = None,
    estimator: Estimators | None = None,
    allow_partial: bool = False,
    mirrored: bool = False,
) -> Iterator[tuple[PoseFormat, Iterator[tuple[Frame, PoseFrame, np.ndarray, np.ndarray]]]]:
    """The poses of every ``step``-th frame of ``video`` in the recognizer's
    :attr:`~SkeletonRecognizer.skeleton_space`: image keypoints, world keypoints, or
    (``"camera"``) world keypoints placed in the camera's frame, frame by frame
    (:func:`actscope.pose.camera.place_in_camera`). ``mirrored``: the video is a mirror
    image (a selfie view, NTU RGB+D's videos), undone before the model sees it.

    Gives ``(format, frames)``: frames yield ``(frame, found, coords (P, V, C), scores (P,
    V))`` one at a time. Poses come from ``estimator`` (one or a list; see
    :func:`actscope.pose.iter_poses`) or ``workers`` new MediaPipe estimators (closed at the
    end of the block), at ``work_size`` pixels on the short side (default 480).
    """
    from actscope.pose.estimate import DEFAULT_WORK_SIZE, iter_poses
    from actscope.video import probe

    info = probe(video)
    if estimator is not None:
        estimators = [estimator] if isinstance(estimator, PoseEstimator) else list(estimator)
    else:
        estimators = default_estimators(workers)
    try:
        fps = info.fps / step if info.fps > 0 else 30.0 / step
        form = PoseFormat(
            fps, estimators[0].layout, recognizer.skeleton_space, (info.width, info.height)
        )
        if form.space != "image" and not estimators[0].has_world:
            raise ModelError(
                f"{recognizer.source} is a 3D skeleton model but the pose estimator "
                f"{estimators[0].name!r} gives no 3D world keypoints; use a 2D model or "
                "MediaPipe"
            )
        recognizer.check_layout(form.layout)  # before any frame is decoded
        found = iter_poses(
            video,
            estimators,
            step=step,
            work_size=work_size or DEFAULT_WORK_SIZE,
            allow_partial=allow_partial,
            info=info,
        )
        yield form, ((f, p, *_frame_points(p, form, mirrored)) for f, p in found)
    finally:
        for one in estimators if estimator is None else ():
            one.close()


def record_video_poses(recognizer: SkeletonRecognizer, video: str, **options) -> RecordedPoses:
    """Every frame's poses of ``video`` as :func:`video_poses` (``options``: its keywords)
    gives them, kept in memory (a few hundred bytes per frame)."""
    with video_poses(recognizer, video, **options) as (form, frames):
        return RecordedPoses(form, [(coords, scores) for *_, coords, scores in frames])


def stream_video_poses(
    recognizer: SkeletonRecognizer,
    video: str,
    *,
    window: float | None = None,
    hop: float | None = None,
    step: int = 1,
    work_size: int | None = None,
    workers: int | None = None,
    estimator: Estimators | None = None,
    keep_history: bool = False,
    keep_poses: bool = False,
    allow_partial: bool = False,
    mirrored: bool = False,
    on_frame: Callable[[Frame], None] | None = None,
) -> tuple[SkeletonStream, Skeleton | None]:
    """Estimate poses in every ``step``-th frame of ``video`` (:func:`video_poses`, which
    says what ``work_size``, ``workers``, ``estimator``, ``mirrored`` do) and feed them,
    frame by frame, to a :class:`SkeletonStream` (``window``, ``hop`` in seconds;
    ``keep_history``: see there); call :meth:`SkeletonStream.finish` on the result for the
    scores. With ``keep_poses`` the image keypoints of every frame are also returned as a
    :class:`Skeleton` (for rendering; a few hundred bytes per frame), else ``None``.
    ``on_frame(frame)`` is called after each frame.
    """
    with video_poses(
        recognizer,
        video,
        step=step,
        work_size=work_size,
        workers=workers,
        estimator=estimator,
        allow_partial=allow_partial,
        mirrored=mirrored,
    ) as (form, frames):
        stream = form.stream(recognizer, window=window, hop=hop, keep_history=keep_history)
        kept: list[tuple[np.ndarray, np.ndarray]] = []
        for frame, found, coords, scores in frames:
            stream.add(coords, scores)
            if keep_poses:
                kept.append((found.keypoints.astype(np.float32), found.scores))
            if on_frame is not None:
                on_frame(frame)
    if not keep_poses:
        return stream, None
    return stream, _stack_poses(kept, form.layout, form.fps, form.image_size, video)


def _frame_points(
    found: PoseFrame, form: PoseFormat, mirrored: bool
) -> tuple[np.ndarray, np.ndarray]:
    """One frame's people in ``form.space`` (``"image"``, ``"world"`` or ``"camera"``):
    ``coords (P, V, C)`` and ``scores (P, V)``, un-mirrored when ``mirrored``."""
    layout, space, size = form.layout, form.space, form.image_size
    if space == "image":
        coords, scores = found.keypoints, found.scores
    elif found.world is None or found.world_scores is None:  # nobody in the frame
        joints = found.keypoints.shape[1]
        coords, scores = np.zeros((0, joints, 3), np.float32), np.zeros((0, joints), np.float32)
    elif space == CAMERA_SPACE:
        coords, scores = place_in_camera(found.keypoints, found.world, size), found.world_scores
    else:
        coords, scores = found.world, found.world_scores
    if mirrored:
        width = size[0] if space == "image" else None
        coords, scores = mirror_points(coords, layout, width), mirror_scores(scores, layout)
    return coords, scores


def _stack_poses(
    frames: list[tuple[np.ndarray, np.ndarray]],
    layout: str,
    fps: float,
    size: tuple[int, int],
    source: str,
) -> Skeleton:
    """Per-frame ``(coords (P, V, 2), scores (P, V))`` as one image :class:`Skeleton`."""
    people = max((len(c) for c, _ in frames), default=0)
    if not people:
        return Skeleton.empty(layout, len(frames), fps, "image", source=source, image_size=size)
    joints = next(c.shape[1] for c, _ in frames if len(c))
    coords = np.full((people, len(frames), joints, 2), np.nan, np.float32)
    scores = np.zeros((people, len(frames), joints), np.float32)
    for t, (c, s) in enumerate(frames):
        coords[: len(c), t], scores[: len(s), t] = c, s
    return Skeleton(coords, scores, layout, fps, "image", source=source, image_size=size)


def score_video_windows(
    recognizer: ClipRecognizer,
    video: str | os.PathLike,
    *,
    window: float | None = None,
    hop: float | None = None,
    allow_partial: bool = False,
    on_window: Callable[[float], None] | None = None,
) -> ScoreTrack:
    """Sliding-window scores of an RGB model over ``video``, one window in memory at a time.

    A window holds the model's ``frames`` frames, ``stride`` apart (so it spans
    ``frames * stride / fps`` seconds unless ``window`` asks for another stride); ``hop``
    defaults to half a window. ``on_window`` gets each window's end time (seconds).
    """
    from actscope.video import probe, stream_windows

    info = probe(video)
    fps = info.fps if info.fps > 0 else 30.0
    frames = recognizer.input.frames
    stride = recognizer.input.stride
    if window:
        stride = max(1, round(window * fps / frames))
    span = frames * stride / fps
    hop_kept = max(1, round((hop or span / 2) * fps / stride))
    size = recognizer.input.resize
    starts: list[float] = []
    ends: list[float] = []
    probs: list[np.ndarray] = []
    pending: list = []
    times: list[float] = []

    def flush() -> None:
        if pending:
            probs.append(recognizer.clip_scores([w.frames for w in pending]))
            pending.clear()

    for item in stream_windows(
        video,
        frames,
        hop_kept,
        frame_step=stride,
        short_side=size,
        allow_partial=allow_partial,
    ):
        starts.append(item.start)
        ends.append(item.end)
        new = item.times[item.times > (times[-1] if times else -1.0)]
        times.extend(float(t) for t in np.unique(new))
        pending.append(item)
        if len(pending) >= 8:
            flush()
        if on_window is not None:
            on_window(item.end)
    flush()
    frame_times = np.array(times, np.float64)
    classes = recognizer.class_names
    return ScoreTrack(
        class_names=list(classes),
        starts=np.array(starts, np.float64),
        ends=np.array(ends, np.float64),
        probs=np.concatenate(probs).astype(np.float32)
        if probs
        else np.zeros((0, len(classes)), np.float32),
        times=frame_times,
        present=np.ones(len(frame_times), bool),
        motion=None,
        duration=info.duration if info.duration > 0 else (ends[-1] if ends else 0.0),
    )
