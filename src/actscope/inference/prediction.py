"""What happens in a video: the top-k actions of each of many videos.

Skeleton models: poses are estimated in every frame (MediaPipe) and streamed through
:class:`~actscope.inference.scoring.SkeletonStream` (only the last window of poses is kept):
windows of the model's length are scored every quarter window, and the probabilities of the
windows with a person in them are averaged. A video in which nobody is found gives no
actions and a warning, never an invented label. RGB models: clips spread over the video are
scored and averaged.

:func:`read_for_model` and :func:`predict_read` are the two halves of one video's
prediction, for when the model runs elsewhere (``actscope batch`` on Ray): everything up to
the model (poses kept in memory rather than streamed), then the model and the result,
through the same functions as :func:`predict`, so the results are its own.

A file that cannot be read is reported in its :class:`Prediction` (``error``) and the other
videos go on.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from actscope.errors import ActscopeError, ConfigError, VideoArgumentError, VideoError
from actscope.inference.recognizer import (
    ClipRecognizer,
    Recognizer,
    SkeletonRecognizer,
    VideoClips,
)
from actscope.inference.scoring import (
    RecordedPoses,
    ScoreTrack,
    SkeletonStream,
    even_frames,
    presence_warnings,
    record_video_poses,
    stream_video_poses,
)
from actscope.pose.estimate import Estimators
from actscope.pose.skeleton import Skeleton

log = logging.getLogger(__name__)

VideoInput = str | os.PathLike
UNKNOWN = "unknown action"
"""The label of a video that shows none of a model's actions (as far as it can tell)."""
FrameCallback = Callable[[int, int | None], None]
"""``on_frame(frames_done, frames_total_or_None)`` within the current video."""


@dataclass
class Prediction:
    """Top-k actions of one video (``top``: ``(label, probability)`` pairs, best first).

    ``frames`` decoded frames used; ``frames_with_person`` how many had a person in them
    (``None`` for RGB models); ``windows`` how many windows or clips were scored;
    ``duration`` seconds of video; ``seconds`` the time taken. ``error`` is set, and
    ``top`` empty, when the video could not be processed. ``unknown`` is true when the model
    is not sure enough that the video shows any of its actions (see
    :class:`~actscope.engine.calibration.UnknownRule`): :attr:`label` is then
    :data:`UNKNOWN` and ``top`` holds the nearest guesses.
    """

    video: str
    top: list[tuple[str, float]] = field(default_factory=list)
    frames: int = 0
    frames_with_person: int | None = None
    windows: int = 0
    duration: float = 0.0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    unknown: bool = False
    scores: ScoreTrack | None = field(default=None, repr=False)
    skeleton: Skeleton | None = field(default=None, repr=False)  # image keypoints

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def label(self) -> str | None:
        """The most probable action, :data:`UNKNOWN` when it is too unsure to name one, or
        ``None`` when nothing was scored."""
        if not self.top:
            return None
        return UNKNOWN if self.unknown else self.top[0][0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "video": self.video,
            "label": self.label,
            "unknown": self.unknown,
            "top": [{"label": k, "score": round(v, 4)} for k, v in self.top],
            "frames": self.frames,
            "frames_with_person": self.frames_with_person,
            "windows": self.windows,
            "duration": round(self.duration, 3),
            "seconds": round(self.seconds, 3),
            "warnings": self.warnings,
            "error": self.error,
        }


def collect_videos(inputs: VideoInput | Iterable[VideoInput]) -> list[str]:
    """Files (kept as given, in order) and the video files under folders (recursively, by
    suffix, sorted). Raises :class:`VideoError` when nothing is left, and
    :class:`VideoArgumentError` for an input that is not a path or URL."""
    from actscope.pose.cache import find_videos

    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    elif not isinstance(inputs, Iterable):
        raise VideoArgumentError(_not_a_video_argument(inputs))
    found: list[str] = []
    empty: list[str] = []
    for item in inputs:
        name = video_name(item)
        if os.path.isdir(name):
            videos = find_videos(name)
            if not videos:
                empty.append(name)
            found += [str(v) for v in videos]
        else:
            found.append(name)
    if not found:
        folders = ", ".join(empty) or "the inputs"
        raise VideoError(f"{folders}: a folder with no video files in it; give videos")
    for name in empty:
        log.warning("%s: no video files in this folder", name)
    return found


def video_name(video: object) -> str:
    """``video`` (a path or URL) as a string; :class:`VideoArgumentError` for anything else
    (``None``, a number, an array...)."""
    if not isinstance(video, (str, os.PathLike)):
        raise VideoArgumentError(_not_a_video_argument(video))
    return os.fspath(video)


def _not_a_video_argument(value: object) -> str:
    return (
        f"expected a video file, URL or folder (a str or path), got {type(value).__name__} "
        f"{value!r:.60}"
    )


def predict(
    videos: VideoInput | Iterable[VideoInput],
    model: str | os.PathLike | Recognizer = "default",
    top_k: int = 5,
    *,
    step: int = 1,
    work_size: int | None = None,
    workers: int | None = None,
    estimator: Estimators | None = None,
    clips: int = 5,
    keep_poses: bool = False,
    allow_partial: bool = False,
    mirrored: bool = False,
    on_video: Callable[[str, int, int], None] | None = None,
    on_frame: FrameCallback | None = None,
) -> list[Prediction]:
    """The ``top_k`` actions of each video (files, URLs or folders of videos), one
    :class:`Prediction` per video in order.

    ``model``: ``"default"`` (the shipped skeleton model), a checkpoint path, a registered
    name or a loaded :class:`Recognizer`. Skeleton models: ``step`` estimates poses in every
    ``step``-th frame, at ``work_size`` pixels on the short side (default 480), with
    ``workers`` threads (or with ``estimator``, one pose estimator or a list of them, as
    :func:`actscope.pose.extract_poses` takes); ``keep_poses`` keeps the image keypoints
    (for rendering); ``mirrored`` says the videos are mirror images (selfie views, NTU
    RGB+D's Kinect videos) and undoes it. RGB models: ``clips`` clips are scored per video.
    ``allow_partial`` uses the frames that decode from a truncated or damaged file instead
    of reporting it.
    ``on_video(path, index, count)`` is called before each video and ``on_frame(done,
    total)`` as its frames are processed.
    """
    if top_k < 1:
        raise ConfigError(f"top_k must be at least 1, got {top_k}")
    paths = collect_videos(videos)
    recognizer = model if isinstance(model, Recognizer) else Recognizer.load(model)
    if isinstance(recognizer, ClipRecognizer):
        one = partial(_predict_clips, recognizer, clips=clips, allow_partial=allow_partial)
    else:
        one = partial(
            _predict_poses,
            recognizer,
            pose_options={"step": step, "work_size": work_size, "workers": workers},
            estimator=estimator,
            mirrored=mirrored,
            keep_poses=keep_poses,
            allow_partial=allow_partial,
            on_frame=on_frame,
        )
    results = []
    for index, video in enumerate(paths):
        if on_video is not None:
            on_video(video, index, len(paths))
        started = time.perf_counter()
        try:
            result = one(video, top_k)
        except ActscopeError as exc:
            # recorded in the result, which callers report; a warning here would say it twice
            log.info("%s: skipped: %s", video, exc)
            result = Prediction(video, error=str(exc))
        result.seconds = time.perf_counter() - started
        results.append(result)
    return results


def read_for_model(
    recognizer: Recognizer,
    video: str,
    *,
    step: int = 1,
    estimator: Estimators | None = None,
    clips: int = 5,
    mirrored: bool = False,
    allow_partial: bool = False,
) -> RecordedPoses | VideoClips:
    """All of :func:`predict`'s work on ``video`` but the model's, so that the model can run
    elsewhere (``actscope batch`` on Ray): a skeleton model's poses (every ``step``-th frame,
    found by MediaPipe or ``estimator``; or a ``.npz`` poses file's frames), or an RGB
    model's ``clips`` clips decoded and transformed; the options are :func:`predict`'s.
    :func:`predict_read` finishes the work. Errors are raised."""
    if isinstance(recognizer, ClipRecognizer):
        return recognizer.read_clips(video, clips, allow_partial=allow_partial)
    if _is_poses_file(video):
        skeleton, _ = even_frames(recognizer.file_skeleton(video, mirrored))
        return RecordedPoses.of_skeleton(skeleton)
    return record_video_poses(
        recognizer,
        video,
        step=step,
        estimator=estimator,
        allow_partial=allow_partial,
        mirrored=mirrored,
    )


def predict_read(
    recognizer: Recognizer, video: str, read: RecordedPoses | VideoClips, top_k: int = 5
) -> Prediction:
    """The :class:`Prediction` :func:`predict` gives ``video``, from what
    :func:`read_for_model` read of it: the model's part (without ``seconds``)."""
    if isinstance(read, VideoClips):
        return _clips_prediction(recognizer, video, top_k, read, recognizer.clip_probs(read))
    return _prediction(recognizer, video, top_k, read.stream(recognizer), None)


def _is_poses_file(video: str) -> bool:
    return video.endswith(".npz") and os.path.isfile(video)


def _predict_clips(
    recognizer: ClipRecognizer, video: str, top_k: int, *, clips: int, allow_partial: bool
) -> Prediction:
    """An RGB model's :class:`Prediction`: the mean over ``clips`` clips spread over the
    video. Errors are raised, not recorded."""
    read = recognizer.read_clips(video, clips, allow_partial=allow_partial)
    return predict_read(recognizer, video, read, top_k)


def _clips_prediction(
    recognizer: ClipRecognizer, video: str, top_k: int, clips: VideoClips, probs: np.ndarray
) -> Prediction:
    """The :class:`Prediction` of an RGB model's clip probabilities ``(N, K)``: their mean."""
    track = ScoreTrack(
        class_names=list(recognizer.class_names),
        starts=clips.starts,
        ends=clips.ends,
        probs=probs,
        times=np.zeros(0),
        present=np.zeros(0, bool),
        motion=None,
        duration=float(clips.ends.max()) if len(clips.ends) else 0.0,
    )
    result = Prediction(
        video,
        top_labels(track.mean_probs(), recognizer.class_names, top_k),
        frames=clips.frame_count,
        windows=len(clips.starts),
        duration=track.duration,
        scores=track,
    )
    return _judge_unknown(recognizer, result)


def _predict_poses(
    recognizer: SkeletonRecognizer,
    video: str,
    top_k: int,
    *,
    pose_options: dict[str, int | None],
    estimator: Estimators | None,
    mirrored: bool,
    keep_poses: bool,
    allow_partial: bool,
    on_frame: FrameCallback | None,
) -> Prediction:
    """A skeleton model's :class:`Prediction`: poses streamed through windows, their mean;
    ``pose_options`` are :func:`stream_video_poses`' ``step``, ``work_size`` and ``workers``.
    A ``.npz`` poses file is read instead of estimating poses. Errors are raised, not
    recorded."""
    from actscope.video import probe

    if _is_poses_file(video):
        skeleton, _ = even_frames(recognizer.file_skeleton(video, mirrored))
        stream = RecordedPoses.of_skeleton(skeleton).stream(recognizer)
        return _prediction(recognizer, video, top_k, stream, skeleton if keep_poses else None)
    info = probe(video)
    step = pose_options.get("step") or 1
    total = len(range(0, info.frame_count, step)) if info.frame_count else None
    done = 0

    def progress(frame: object) -> None:
        nonlocal done
        done += 1
        if on_frame is not None:
            on_frame(done, total)

    stream, skeleton = stream_video_poses(
        recognizer,
        video,
        **pose_options,
        estimator=estimator,
        keep_poses=keep_poses,
        allow_partial=allow_partial,
        mirrored=mirrored,
        on_frame=progress,
    )
    return _prediction(recognizer, video, top_k, stream, skeleton)


def _prediction(
    recognizer: SkeletonRecognizer,
    video: str,
    top_k: int,
    stream: SkeletonStream,
    skeleton: Skeleton | None,
) -> Prediction:
    """The :class:`Prediction` of a stream fed with every frame: the mean of its windows."""
    track = stream.finish()
    frames, person = len(track.times), int(track.present.sum())
    result = Prediction(
        video,
        top_labels(track.mean_probs(), recognizer.class_names, top_k) if track.num_windows else [],
        frames=frames,
        frames_with_person=person,
        windows=track.num_windows,
        duration=track.duration,
        scores=track,
        skeleton=skeleton,
        warnings=presence_warnings(track, stream.window / stream.fps),
    )
    return _judge_unknown(recognizer, result)


def _judge_unknown(recognizer: Recognizer, result: Prediction) -> Prediction:
    """``result`` marked unknown when the model's rule says its mean scores name no action."""
    if recognizer.unknown is not None and result.top and result.scores is not None:
        result.unknown = bool(recognizer.unknown.is_unknown(result.scores.mean_probs()))
    return result


def top_labels(
    probs: np.ndarray, class_names: Sequence[str], top_k: int
) -> list[tuple[str, float]]:
    """The ``top_k`` ``(label, probability)`` pairs of ``probs (K,)``, best first."""
    order = np.argsort(-probs, kind="stable")[:top_k]
    return [(class_names[k], float(probs[k])) for k in order]


def output_path(option: str | os.PathLike, video: str, count: int, suffix: str) -> Path:
    """Where a per-video output goes: ``option`` itself for a single video, else
    ``option/<video name><suffix>`` (``option`` is then a folder)."""
    if count == 1:
        return Path(option)
    return Path(option) / f"{Path(video).stem}{suffix}"
