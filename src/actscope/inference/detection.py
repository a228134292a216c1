"""Temporal action detection: when each action starts and ends in an untrimmed video.

:func:`detect` streams the video through a model (skeleton models: poses estimated frame by
frame, see :class:`~actscope.inference.scoring.SkeletonStream`; RGB models: clips over
:func:`actscope.stream_windows`): no frame is kept, and what is kept per frame (scores,
motion, compact poses) is a few hundred bytes. :func:`find_segments` then turns the scores
into segments:

1. **Smoothing**: each window's class probabilities are averaged with its neighbours'
   (``smooth`` windows), and each frame takes the mean of the windows covering it.
2. **Actionness gate** ("no action here"): a frame is active when a person is present and,
   for skeleton models, their motion (limb lengths per second, smoothed over
   ``motion_smooth`` seconds) reaches ``motion_threshold``; inactive gaps shorter than
   ``merge_gap`` seconds inside an action are closed. Pauses, still poses and empty rooms
   are never labelled.
3. **Splitting and merging**: each run of active frames is split where the most probable
   class changes; pieces shorter than ``min_duration`` are merged into the neighbour whose
   class they find most probable, then adjacent pieces of one class are merged.
4. **Rescoring** (skeleton models, ``rescore``): each piece up to ``rescore_max`` seconds is
   scored again as one clip, with ``rescore_pad`` seconds of context on each side, as the
   model was trained on one trimmed action per sequence; neighbours that now agree and are
   closer than ``merge_gap`` are joined.
5. **Scoring and filters**: a segment's score is the mean probability of its label;
   segments scoring under ``threshold`` (the model is not sure what this is: by default the
   confidence under which the model says "unknown action", when it was calibrated for one)
   or shorter than ``min_duration`` are dropped. With ``labels_per_segment > 1`` each
   segment is also reported with its next most probable labels (for mAP evaluation), and
   non-maximum suppression at ``nms_iou`` removes same-label duplicates.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from actscope.datasets.recordings import BACKGROUND
from actscope.errors import ConfigError, ModelError
from actscope.files import write_text
from actscope.inference.prediction import video_name
from actscope.inference.recognizer import ClipRecognizer, Recognizer, SkeletonRecognizer
from actscope.inference.scoring import (
    ScoreTrack,
    SkeletonStream,
    even_frames,
    moving_average,
    presence_warnings,
    score_video_windows,
    stream_video_poses,
)
from actscope.inference.segments import (
    Segment,
    nms,
    segments_csv,
    segments_json,
    segments_srt,
)
from actscope.pose.estimate import Estimators
from actscope.pose.skeleton import Skeleton

log = logging.getLogger(__name__)

Progress = Callable[[float, float | None], None]
"""``progress(done_seconds, total_seconds_or_None)``, called as the video is processed."""


@dataclass(frozen=True)
class DetectOptions:
    """How scores become segments (see the module docstring). Times in seconds; motion in
    limb lengths per second; ``window``/``hop`` default to the model's window and a quarter
    of it (skeleton models) or the model's clip and half of it (RGB models).

    ``None`` leaves a choice to the model (:meth:`for_model`): a model with a background
    class (trained on untrimmed recordings) says itself where no action is, so by default
    it gets no motion gate and no rescoring, and a hop of a sixteenth of its window (its
    windows are labelled at their centre); other models a motion threshold of 0.5 and
    rescoring; and a ``threshold`` of the model's calibrated unknown-action confidence (a
    segment it is less sure of than that is no action it knows, as ``predict`` says of a
    clip), or 0.2 for a model without one."""

    window: float | None = None
    hop: float | None = None
    smooth: int = 3
    threshold: float | None = None
    motion_threshold: float | None = None
    motion_smooth: float = 0.5
    min_duration: float = 0.5
    merge_gap: float = 0.4
    action_threshold: float = 0.5
    nms_iou: float = 0.5
    labels_per_segment: int = 1
    rescore: bool | None = None
    rescore_pad: float = 0.25
    rescore_max: float = 10.0

    def for_model(
        self, background: bool, window: float | None = None, unknown: float | None = None
    ) -> DetectOptions:
        """These options with the choices left to the model made: for a model with a
        ``background`` class, ``motion_threshold`` 0, ``rescore`` off and ``hop`` a sixteenth
        of ``window`` (its window, seconds, when known); otherwise ``motion_threshold`` 0.5
        and ``rescore`` on. ``threshold``: ``unknown`` (the model's calibrated unknown-action
        confidence) when given, else 0.2."""
        changes: dict[str, Any] = {}
        if self.threshold is None:
            changes["threshold"] = THRESHOLD if unknown is None else min(unknown, 1.0)
        if self.motion_threshold is None:
            changes["motion_threshold"] = 0.0 if background else MOTION_THRESHOLD
        if self.rescore is None:
            changes["rescore"] = not background
        if background and self.hop is None and (self.window or window):
            changes["hop"] = (self.window or window) / BACKGROUND_HOPS
        return replace(self, **changes).validate() if changes else self

    def validate(self) -> DetectOptions:
        checks = [
            (self.window is None or self.window > 0, "window", "must be positive"),
            (self.hop is None or self.hop > 0, "hop", "must be positive"),
            (self.smooth >= 1, "smooth", "must be at least 1 window"),
            (self.threshold is None or 0 <= self.threshold <= 1, "threshold", "must be in [0, 1]"),
            (
                self.motion_threshold is None or self.motion_threshold >= 0,
                "motion_threshold",
                "must be 0 (off) or more",
            ),
            (self.min_duration >= 0, "min_duration", "must be 0 or more"),
            (self.merge_gap >= 0, "merge_gap", "must be 0 or more"),
            (0 <= self.action_threshold <= 1, "action_threshold", "must be in [0, 1]"),
            (0 < self.nms_iou <= 1, "nms_iou", "must be in (0, 1]"),
            (self.labels_per_segment >= 1, "labels_per_segment", "must be at least 1"),
            (self.rescore_pad >= 0, "rescore_pad", "must be 0 or more"),
            (self.rescore_max > 0, "rescore_max", "must be positive"),
        ]
        for ok, key, rule in checks:
            if not ok:
                raise ConfigError(f"detection option {key} {rule} (got {getattr(self, key)!r})")
        return self


@dataclass
class Detection:
    """Segments found in one video (in time order), the scores they came from, and what was
    seen: ``frames`` pose (or clip) frames used, ``frames_with_person`` (``None`` for RGB
    models), ``duration`` seconds of video, ``seconds`` the time detection took."""

    video: str
    segments: list[Segment]
    scores: ScoreTrack
    model: str
    frames: int
    frames_with_person: int | None
    duration: float
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    skeleton: Skeleton | None = None  # image keypoints, kept only when asked (rendering)

    def to_dict(self) -> dict[str, Any]:
        return segments_json(
            self.video,
            self.segments,
            model=self.model,
            duration=round(self.duration, 3),
            frames=self.frames,
            frames_with_person=self.frames_with_person,
            warnings=self.warnings,
        )

    def to_csv(self) -> str:
        return segments_csv((self.video, s) for s in self.segments)

    def to_srt(self) -> str:
        return segments_srt(self.segments)

    def save(self, path: str | os.PathLike, fmt: str | None = None) -> None:
        """Write JSON, CSV or SRT (``fmt``, or the suffix of ``path``), atomically."""
        fmt = (fmt or Path(path).suffix.lstrip(".")).lower()
        writers = {
            "json": lambda: json.dumps(self.to_dict(), indent=2) + "\n",
            "csv": self.to_csv,
            "srt": self.to_srt,
        }
        if fmt not in writers:
            raise ConfigError(f"{path}: unknown output format {fmt!r}; use .json, .csv or .srt")
        write_text(path, writers[fmt]())


MOTION_THRESHOLD = 0.5
"""Limb lengths per second: the motion gate of models without a background class."""
THRESHOLD = 0.2
"""Least segment score of a model not calibrated for unknown actions."""
BACKGROUND_HOPS = 16
"""Windows per window length for models with a background class, whose windows are
labelled at their centre: a sixteenth of a 4 s window is 0.25 s."""

Classifier = Callable[[list[tuple[float, float]]], np.ndarray]
"""``classify(spans)``: class probabilities ``(N, K)`` of the ``(start, end)`` spans (s)."""

# Videos longer than this (s) are posed with one MediaPipe thread unless told otherwise.
LONG_VIDEO_SECONDS = 600.0


def find_segments(
    scores: ScoreTrack,
    options: DetectOptions | None = None,
    classify: Classifier | None = None,
) -> list[Segment]:
    """Segments of ``scores`` (see the module docstring for the steps). ``classify``, when
    given, scores each found segment (up to ``rescore_max`` seconds long) as one clip, and
    its probabilities replace the windows' for that segment."""
    background = background_index(scores.class_names)
    options = (options or DetectOptions()).validate().for_model(background is not None)
    if not scores.num_windows or not len(scores.times):
        return []
    if background is None:
        frame_probs = scores.frame_scores(options.smooth)
        active = active_frames(scores, options)
    else:  # windows labelled by their centre, "no action" learned as a class
        frame_probs = scores.center_scores(options.smooth)
        active = active_frames(scores, options, 1.0 - frame_probs[:, background])
        frame_probs[:, background] = 0.0  # a segment's label is one of the actions
    period = _period(scores)
    pieces: list[tuple[float, float, np.ndarray]] = []  # start, end, probabilities
    for first, stop in _runs(active):
        for a, b, _ in _split_run(frame_probs[first:stop], period, options):
            start = float(scores.times[first + a])
            end = float(scores.times[first + b - 1]) + period
            pieces.append((start, end, frame_probs[first + a : first + b].mean(axis=0)))
    if classify is not None:
        pieces = _rescore(pieces, classify, options, background)
    found = []
    for start, end, probs in pieces:
        if end - start < options.min_duration - 1e-9:
            continue
        labels = [k for k in np.argsort(-probs, kind="stable") if k != background]
        for k in labels[: options.labels_per_segment]:
            if probs[k] >= options.threshold:
                found.append(Segment(start, end, scores.class_names[k], float(probs[k])))
    if options.labels_per_segment > 1:
        found = nms(found, options.nms_iou, per_label=True)
    return sorted(found, key=lambda s: (s.start, -s.score))


def background_index(class_names: list[str]) -> int | None:
    """Index of the :data:`~actscope.datasets.recordings.BACKGROUND` class ("no action
    here", learned from untrimmed recordings), or ``None`` for a model without one."""
    return class_names.index(BACKGROUND) if BACKGROUND in class_names else None


def active_frames(
    scores: ScoreTrack, options: DetectOptions, actionness: np.ndarray | None = None
) -> np.ndarray:
    """``(F,)`` bool: frames that may belong to an action (the actionness gate); with a
    model's ``actionness`` ``(F,)`` (1 - the background class's probability) also where it
    reaches ``options.action_threshold``."""
    active = scores.present.copy()
    if actionness is not None:
        active &= actionness >= options.action_threshold
    period = _period(scores)
    if scores.motion is not None and options.motion_threshold > 0:
        frames = max(1, round(options.motion_smooth / period))
        motion = moving_average(scores.motion, frames)
        active &= motion >= options.motion_threshold
    # frames no scored window covers have no class scores: count the windows over each frame
    first = np.searchsorted(scores.times, scores.starts - 1e-9, side="left")
    stop = np.searchsorted(scores.times, scores.ends - 1e-9, side="left")
    change = np.zeros(len(scores.times) + 1, np.int64)
    np.add.at(change, first, 1)
    np.add.at(change, stop, -1)
    active &= np.cumsum(change[:-1]) > 0
    return _close_gaps(active, round(options.merge_gap / period))


def _split_run(probs: np.ndarray, period: float, options: DetectOptions) -> list[list[int]]:
    """``[start, stop, label]`` pieces of one run of active frames with frame probabilities
    ``probs (T, K)``: split where the top class changes, short pieces merged away."""
    labels = probs.argmax(axis=1)
    return _merge_short([[a, b, labels[a]] for a, b in _label_runs(labels)], probs, period, options)


def _rescore(
    pieces: list[tuple[float, float, np.ndarray]],
    classify: Classifier,
    options: DetectOptions,
    background: int | None = None,
) -> list[tuple[float, float, np.ndarray]]:
    """Replace the probabilities of pieces up to ``rescore_max`` s by ``classify``'s (the
    ``background`` class's set to 0), then join neighbours (closer than ``merge_gap``) that
    now agree, weighting by duration."""
    chosen = [i for i, (a, b, _) in enumerate(pieces) if b - a <= options.rescore_max]
    if chosen:
        pad = options.rescore_pad
        spans = [(pieces[i][0] - pad, pieces[i][1] + pad) for i in chosen]
        for i, probs in zip(chosen, classify(spans), strict=True):
            probs = np.array(probs, np.float32)
            if background is not None:
                probs[background] = 0.0
            pieces[i] = (pieces[i][0], pieces[i][1], probs)
    joined: list[tuple[float, float, np.ndarray]] = []
    for start, end, probs in pieces:
        if joined:
            last_start, last_end, last = joined[-1]
            if start - last_end < options.merge_gap and last.argmax() == probs.argmax():
                weight = (last_end - last_start) / max(end - last_start, 1e-9)
                joined[-1] = (last_start, end, weight * last + (1 - weight) * probs)
                continue
        joined.append((start, end, probs))
    return joined


def _merge_short(
    pieces: list[list[int]], probs: np.ndarray, period: float, options: DetectOptions
) -> list[list[int]]:
    """Merge pieces shorter than ``min_duration`` into the neighbour they agree with most,
    then join neighbours of the same label."""
    shortest = options.min_duration / period
    while len(pieces) > 1:
        lengths = [b - a for a, b, _ in pieces]
        i = int(np.argmin(lengths))
        if lengths[i] >= shortest:
            break
        a, b, _ = pieces[i]
        neighbours = [j for j in (i - 1, i + 1) if 0 <= j < len(pieces)]
        # the neighbour whose label the short piece's frames find most probable
        j = max(neighbours, key=lambda n: probs[a:b, pieces[n][2]].mean())
        pieces[j] = [min(a, pieces[j][0]), max(b, pieces[j][1]), pieces[j][2]]
        del pieces[i]
    joined: list[list[int]] = []
    for piece in pieces:
        if joined and joined[-1][2] == piece[2]:
            joined[-1][1] = piece[1]
        else:
            joined.append(piece)
    return joined


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[start, stop)`` of each run of True in ``mask``."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def _label_runs(labels: np.ndarray) -> list[tuple[int, int]]:
    change = np.flatnonzero(np.diff(labels)) + 1
    bounds = np.concatenate([[0], change, [len(labels)]])
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True))


def _close_gaps(mask: np.ndarray, gap: int) -> np.ndarray:
    """``mask`` with runs of False shorter than ``gap`` frames between two True runs filled."""
    out = mask.copy()
    runs = _runs(~mask)
    for a, b in runs:
        if a > 0 and b < len(mask) and b - a < gap:
            out[a:b] = True
    return out


def _period(scores: ScoreTrack) -> float:
    if len(scores.times) > 1:
        return float(np.median(np.diff(scores.times)))
    return scores.duration or 1.0


# --- the API ----------------------------------------------------------------------------


def detect(
    video: str | os.PathLike,
    model: str | os.PathLike | Recognizer = "default",
    options: DetectOptions | None = None,
    *,
    step: int = 1,
    work_size: int | None = None,
    workers: int | None = None,
    estimator: Estimators | None = None,
    keep_poses: bool = False,
    allow_partial: bool = False,
    mirrored: bool = False,
    progress: Progress | None = None,
    **overrides: Any,
) -> Detection:
    """Find the actions in ``video`` (a file, URL, or a ``.npz`` pose file written by
    ``actscope pose``) with ``model`` (``"default"``, a checkpoint path, a registered name,
    or a loaded :class:`Recognizer`).

    ``options`` (or keyword ``overrides`` of its fields, e.g. ``threshold=0.5``) set how
    scores become segments. Skeleton models: ``step`` uses every ``step``-th frame for pose
    estimation, ``work_size`` is the short side frames are estimated at (pixels; default
    480), ``workers`` the number of MediaPipe threads (default: two, one for videos longer
    than 10 minutes, so that an hour stays under 1 GB of memory), or ``estimator`` one pose
    estimator
    or a list of them (see :func:`actscope.pose.iter_poses`); ``keep_poses`` keeps the image
    keypoints in :attr:`Detection.skeleton` (for rendering; a few hundred bytes per frame);
    ``mirrored`` says the video is a mirror image (a selfie view) and undoes it.
    ``progress(done_seconds, total_seconds)`` is called as the video is processed; an ETA
    is also logged every 30 s at INFO level.
    """
    name = video_name(video)
    options = replace(options or DetectOptions(), **overrides).validate()
    recognizer = model if isinstance(model, Recognizer) else Recognizer.load(model)
    options = _for_model(options, recognizer)
    started = time.perf_counter()
    skeleton = None
    if isinstance(recognizer, ClipRecognizer):
        track = score_video_windows(
            recognizer,
            name,
            window=options.window,
            hop=options.hop,
            allow_partial=allow_partial,
            on_window=_ticker(progress, _duration_of(name)),
        )
        return _detection(name, recognizer, track, find_segments(track, options), started)
    offset = 0.0
    if name.endswith(".npz") and os.path.isfile(name):
        poses = recognizer.file_skeleton(name, mirrored)
        if keep_poses:
            skeleton = poses
        poses, offset = even_frames(poses)
        stream = _stream_for(recognizer, poses, options)
        stream.add_skeleton(poses)
    else:
        duration = _duration_of(name)
        if workers is None and estimator is None and (duration or 0) > LONG_VIDEO_SECONDS:
            workers = 1  # each more MediaPipe thread holds ~100 MB more for the whole video
        tick = _ticker(progress, duration)
        stream, skeleton = stream_video_poses(
            recognizer,
            name,
            window=options.window,
            hop=options.hop,
            step=step,
            work_size=work_size,
            workers=workers,
            estimator=estimator,
            keep_history=options.rescore,
            keep_poses=keep_poses,
            allow_partial=allow_partial,
            mirrored=mirrored,
            on_frame=lambda frame: tick(frame.time),
        )
    return _finish(name, recognizer, stream, options, started, skeleton, offset)


def detect_skeleton(
    skeleton: Skeleton,
    model: str | os.PathLike | Recognizer = "default",
    options: DetectOptions | None = None,
    **overrides: Any,
) -> Detection:
    """:func:`detect` on a pose track already in memory (any layout and space the model
    can read; world skeletons are projected for 2D models as in training). Frames with
    timestamps are put on an even grid first (:func:`even_frames`); segment times are on
    the skeleton's own time line."""
    options = replace(options or DetectOptions(), **overrides).validate()
    recognizer = _skeleton_model(model)
    options = _for_model(options, recognizer)
    started = time.perf_counter()
    even, offset = even_frames(skeleton)
    stream = _stream_for(recognizer, even, options)
    stream.add_skeleton(even)
    return _finish(skeleton.source, recognizer, stream, options, started, None, offset)


def _for_model(options: DetectOptions, recognizer: Recognizer) -> DetectOptions:
    """``options`` with the choices left to the model made (see
    :meth:`DetectOptions.for_model`)."""
    window = recognizer.window_seconds if isinstance(recognizer, SkeletonRecognizer) else None
    unknown = recognizer.unknown.threshold if recognizer.unknown is not None else None
    background = background_index(recognizer.class_names) is not None
    return options.for_model(background, window, unknown)


def _skeleton_model(model: str | os.PathLike | Recognizer) -> SkeletonRecognizer:
    recognizer = model if isinstance(model, Recognizer) else Recognizer.load(model)
    if not isinstance(recognizer, SkeletonRecognizer):
        raise ModelError(f"{recognizer.source} is an RGB model; it takes frames, not skeletons")
    return recognizer


def _stream_for(
    recognizer: SkeletonRecognizer, skeleton: Skeleton, options: DetectOptions
) -> SkeletonStream:
    return SkeletonStream(
        recognizer,
        skeleton.fps,
        skeleton.layout,
        skeleton.space,
        window=options.window,
        hop=options.hop,
        image_size=skeleton.image_size,
        keep_history=options.rescore,
    )


def _finish(
    name: str,
    recognizer: SkeletonRecognizer,
    stream: SkeletonStream,
    options: DetectOptions,
    started: float,
    skeleton: Skeleton | None,
    offset: float = 0.0,
) -> Detection:
    """Score the stream's tail, find the segments, say what was not seen; times are moved
    ``offset`` seconds later (a stream that starts late on its time line)."""
    track = stream.finish()
    classify = None
    if options.rescore and stream.history is not None:
        history, fps = stream.history, stream.fps

        def classify(spans: list[tuple[float, float]]) -> np.ndarray:
            clips = [history.skeleton(round(a * fps), round(b * fps)) for a, b in spans]
            return recognizer.skeleton_scores(clips)

    segments = find_segments(track, options, classify)
    if offset:
        track = track.shifted(offset)
        segments = [replace(s, start=s.start + offset, end=s.end + offset) for s in segments]
    found = _detection(name, recognizer, track, segments, started, skeleton)
    found.frames_with_person = int(track.present.sum())
    found.warnings = presence_warnings(track, stream.window / stream.fps)
    return found


def _detection(
    name: str,
    recognizer: Recognizer,
    track: ScoreTrack,
    segments: list[Segment],
    started: float,
    skeleton: Skeleton | None = None,
) -> Detection:
    return Detection(
        video=name,
        segments=segments,
        scores=track,
        model=recognizer.source,
        frames=len(track.times),
        frames_with_person=None,
        duration=track.duration,
        seconds=time.perf_counter() - started,
        skeleton=skeleton,
    )


def _duration_of(video: str) -> float | None:
    from actscope.video import probe

    duration = probe(video).duration
    return duration if duration > 0 else None


def _ticker(progress: Progress | None, total: float | None) -> Callable[[float], None]:
    """A callback taking the time reached in the video (s): forwards it to ``progress`` and
    logs the progress with an ETA every 30 s of wall time."""
    started = last_log = time.perf_counter()

    def tick(done: float) -> None:
        nonlocal last_log
        if progress is not None:
            progress(done, total)
        now = time.perf_counter()
        if now - last_log >= 30 and total and done > 0:
            last_log = now
            eta = (now - started) * (total - done) / done
            log.info(
                "%.0f of %.0f s of video processed (%.0f%%), about %.0f s left",
                done,
                total,
                100 * done / total,
                eta,
            )

    return tick
