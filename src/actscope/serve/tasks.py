"""What a job does, by task: the same library calls as the ``actscope`` commands, writing
the job's result files into a folder.

``run_task(task, video, options, out_dir, report)`` returns the result JSON and the names
of the files written; ``report(done, total, unit)`` is called as the work goes on (frames,
or seconds of video for ``detect``) and may raise to stop it (cancel, timeout).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from actscope.errors import ActscopeError, ConfigError
from actscope.files import write_text

TASKS = ("predict", "detect", "fall", "exercise", "pose")
Report = Callable[[float, "float | None", str], None]

OVERLAY_SHORT_SIDE = 480  # pixels: a video a browser plays at once, not the upload's 4K


@dataclass(frozen=True)
class TaskOptions:
    """The options a client may give, by the task that reads them. Unknown keys are a
    :class:`ConfigError` (422), so a typo is not silently ignored."""

    model: str = "default"
    top_k: int = 5
    threshold: float | None = None
    min_duration: float | None = None
    kind: str = "pushup"
    step: int = 1
    overlay: bool = True

    @classmethod
    def parse(cls, values: dict[str, Any]) -> TaskOptions:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(
                f"unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        try:
            options = cls(**values)
        except TypeError as error:
            raise ConfigError(f"bad options: {error}") from None
        checks = [
            (isinstance(options.model, str) and options.model != "", "model", "a model name"),
            (_is_int(options.top_k) and 1 <= options.top_k <= 100, "top_k", "an integer 1-100"),
            (_is_int(options.step) and 1 <= options.step <= 30, "step", "an integer 1-30"),
            (_is_fraction(options.threshold), "threshold", "a number in [0, 1]"),
            (_is_seconds(options.min_duration), "min_duration", "a number of seconds >= 0"),
            (isinstance(options.kind, str), "kind", "an exercise name"),
            (isinstance(options.overlay, bool), "overlay", "true or false"),
        ]
        for ok, key, wanted in checks:
            if not ok:
                raise ConfigError(f"option {key} must be {wanted}")
        return options


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_fraction(value: Any) -> bool:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return value is None or (number and 0 <= value <= 1)


def _is_seconds(value: Any) -> bool:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return value is None or (number and 0 <= value < 1e6)


def check_options(task: str, values: dict[str, Any]) -> TaskOptions:
    """The parsed options of a new job; :class:`ConfigError` for a bad task or option,
    including an exercise kind or a model that does not exist (so a job never fails late
    for a typo)."""
    if task not in TASKS:
        raise ConfigError(f"unknown task {task!r}; use one of {', '.join(TASKS)}")
    options = TaskOptions.parse(values)
    if task == "exercise":
        from actscope.apps.exercise import get_exercise

        get_exercise(options.kind)
    if task in ("predict", "detect") and options.model != "default":
        from actscope.models.registry import get_entry

        if Path(options.model).is_absolute():  # a checkpoint on the server is not for clients
            raise ConfigError("option model must be a registered model name or 'default'")
        get_entry(options.model)
    return options


class Recognizers:
    """Loaded models of one worker process, by name: loaded once, used by every job, run
    with ``backend`` (``torch``, or ``onnx`` for ONNX Runtime)."""

    def __init__(self, backend: str = "torch") -> None:
        self.backend = backend
        self._loaded: dict[str, Any] = {}

    def get(self, name: str):
        if name not in self._loaded:
            from actscope.inference.recognizer import Recognizer

            self._loaded[name] = Recognizer.load(name, backend=self.backend)
        return self._loaded[name]


def run_task(
    task: str,
    video: Path,
    options: TaskOptions,
    out_dir: Path,
    report: Report,
    recognizers: Recognizers,
) -> tuple[dict[str, Any], list[str]]:
    """Run ``task`` on ``video``; write its files into ``out_dir``. Returns the result JSON
    and the file names written. Raises :class:`ActscopeError` for what the user can fix."""
    runners = {
        "predict": _predict,
        "detect": _detect,
        "fall": _fall,
        "exercise": _exercise,
        "pose": _pose,
    }
    result, files = runners[task](video, options, out_dir, report, recognizers)
    write_text(out_dir / "result.json", json.dumps(result, indent=2) + "\n")
    return result, [*files, "result.json"]


def _predict(video, options, out_dir, report, recognizers):
    from actscope.inference.prediction import predict
    from actscope.inference.timeline import plot_timeline

    (result,) = predict(
        [str(video)],
        recognizers.get(options.model),
        options.top_k,
        step=options.step,
        keep_poses=True,
        workers=1,
        on_frame=lambda done, total: report(done, total, "frames"),
    )
    if not result.ok:
        raise ActscopeError(result.error or "the video could not be read")
    files = []
    if result.skeleton is not None:
        files += _save_poses(result.skeleton, out_dir)
    if result.scores is not None:
        plot_timeline(result.scores, out_dir / "timeline.png", title="whole clip")
        files.append("timeline.png")
        if options.overlay:
            files += _overlay(video, out_dir, scores=result.scores, skeleton=result.skeleton)
    body = result.to_dict()
    body.pop("video", None)
    body.pop("error", None)
    return body, files


def _detect(video, options, out_dir, report, recognizers):
    from actscope.inference.detection import DetectOptions, detect
    from actscope.inference.timeline import plot_timeline

    given = {"threshold": options.threshold, "min_duration": options.min_duration}
    detect_options = DetectOptions(**{k: v for k, v in given.items() if v is not None})
    result = detect(
        str(video),
        recognizers.get(options.model),
        detect_options.validate(),
        step=options.step,
        keep_poses=True,
        progress=lambda done, total: report(done, total, "seconds"),
    )
    for fmt in ("json", "csv", "srt"):
        result.save(out_dir / f"segments.{fmt}", fmt)
    files = [f"segments.{fmt}" for fmt in ("json", "csv", "srt")]
    plot_timeline(result.scores, out_dir / "timeline.png", result.segments, title="detections")
    files.append("timeline.png")
    if result.skeleton is not None:
        files += _save_poses(result.skeleton, out_dir)
    if options.overlay:
        files += _overlay(
            video,
            out_dir,
            scores=result.scores,
            segments=result.segments,
            skeleton=result.skeleton,
        )
    body = {**result.to_dict(), "model": options.model}  # not the server's file path
    body.pop("video", None)
    return body, files


def _estimate(video: Path, options: TaskOptions, report: Report):
    """The pose track of ``video`` (MediaPipe, every ``step``-th frame), with progress."""
    from actscope.pose.estimate import extract_poses
    from actscope.video import probe

    total = probe(video).frame_count or None
    done = 0

    def on_frame(frame, found) -> None:
        nonlocal done
        done += options.step
        report(min(done, total or done), total, "frames")

    return extract_poses(video, workers=1, step=options.step, on_frame=on_frame)


def _fall(video, options, out_dir, report, recognizers):
    from actscope.apps.fall import detect_falls

    track = _estimate(video, options, report)
    skeleton = track.image
    seen = skeleton.num_people > 0 and bool(skeleton.present().any())
    alerts = detect_falls(skeleton) if seen else []
    body = {
        "alerts": [alert.to_event() for alert in alerts],
        "duration": round(skeleton.duration, 3),
        "frames_with_person": track.frames_with_person,
    }
    if not seen:
        body["warnings"] = ["nobody in view in any frame; no fall can be detected"]
    files = _save_poses(track, out_dir)
    if options.overlay:
        files += _overlay(video, out_dir, skeleton=skeleton)
    return body, files


def _exercise(video, options, out_dir, report, recognizers):
    from actscope.apps.exercise import count_repetitions, get_exercise

    kind = get_exercise(options.kind)
    track = _estimate(video, options, report)
    body = count_repetitions(track.image, kind).summary()
    if options.kind == "pushup":
        from actscope.apps.pushup_form import FormClassifier

        body["form"] = FormClassifier.load().judge(track.image)
    files = _save_poses(track, out_dir)
    if options.overlay:
        files += _overlay(video, out_dir, skeleton=track.image)
    return body, files


def _pose(video, options, out_dir, report, recognizers):
    track = _estimate(video, options, report)
    body = {
        "frames": track.num_frames,
        "frames_with_person": track.frames_with_person,
        "people": track.image.num_people,
        "duration": round(track.image.duration, 3),
    }
    files = _save_poses(track, out_dir)
    if options.overlay:
        files += _overlay(video, out_dir, skeleton=track.image)
    return body, files


def _save_poses(poses, out_dir: Path) -> list[str]:
    """``poses.npz``: a :class:`PoseTrack` or :class:`Skeleton`, as ``actscope pose`` writes."""
    poses.save(out_dir / "poses.npz")
    return ["poses.npz"]


def _overlay(video: Path, out_dir: Path, **drawn) -> list[str]:
    """``overlay.mp4``: the video with the skeleton and the current action drawn."""
    from actscope.inference.overlay import render_overlay

    render_overlay(video, out_dir / "overlay.mp4", short_side=OVERLAY_SHORT_SIDE, **drawn)
    return ["overlay.mp4"]
