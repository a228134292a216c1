"""What a batch does to one file, by task, and the rows it gives: the same library calls as
``actscope predict``, ``actscope detect`` and ``actscope pose``, so the results are theirs.

A :class:`FileWorker` loads its model once and is then called with one path at a time (in
this process for the local engine, in a Ray actor for the Ray engine's detect and pose
tasks). The Ray engine runs predict in two stages: a :class:`PredictReader` decodes and
finds poses (or reads clips) on CPU workers, a :class:`PredictModel` runs the model where
there is a GPU, through the same library functions, so the rows are the same. A file that
fails gives one row with ``status`` ``"error"`` and a one-line ``error``; the rest go on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from actscope.errors import ActscopeError, ConfigError

log = logging.getLogger(__name__)

TASKS = ("predict", "detect", "pose")
DEVICES = ("auto", "cpu", "cuda")
Row = dict[str, Any]


@dataclass(frozen=True)
class BatchSettings:
    """What every file of a batch gets: the ``task``, its ``model`` and ``backend`` (``torch``
    or ``onnx``), ``top_k`` actions per video (predict), ``step`` (every step-th frame is
    used for poses) and the ``device`` the model runs on (``auto``, ``cpu``, ``cuda``).
    Stored in the output's metadata, but for the device, which changes no result a rerun
    must match: a rerun with other settings is refused rather than mixed in."""

    task: str = "predict"
    model: str = "default"
    backend: str = "torch"
    top_k: int = 5
    step: int = 1
    device: str = "auto"

    def check(self) -> BatchSettings:
        if self.task not in TASKS:
            raise ConfigError(f"unknown batch task {self.task!r}; use one of {', '.join(TASKS)}")
        if self.backend not in ("torch", "onnx"):
            raise ConfigError(f"unknown backend {self.backend!r}; use torch or onnx")
        if self.device not in DEVICES:
            raise ConfigError(f"unknown device {self.device!r}; use one of {', '.join(DEVICES)}")
        for name, value in (("top_k", self.top_k), ("step", self.step)):
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be an integer of at least 1, got {value!r}")
        return self

    def to_json(self) -> str:
        stored = {k: v for k, v in asdict(self).items() if k != "device"}
        return json.dumps(stored, sort_keys=True)


def schema(task: str):
    """The Arrow schema of a task's rows: ``path``, ``status`` (``ok``/``error``), ``error``,
    then the task's fields; times and durations in seconds."""
    import pyarrow as pa

    people = [("frames", pa.int64()), ("frames_with_person", pa.int64())]
    fields = {
        "predict": [
            ("label", pa.string()),
            ("unknown", pa.bool_()),
            ("score", pa.float64()),
            ("top", pa.list_(pa.struct([("label", pa.string()), ("score", pa.float64())]))),
            *people,
            ("duration", pa.float64()),
            ("warnings", pa.list_(pa.string())),
        ],
        "detect": [
            ("start", pa.float64()),
            ("end", pa.float64()),
            ("label", pa.string()),
            ("score", pa.float64()),
            *people,
            ("duration", pa.float64()),
            ("warnings", pa.list_(pa.string())),
        ],
        "pose": [
            *people,
            ("people", pa.int64()),
            ("duration", pa.float64()),
            ("poses", pa.string()),
        ],
    }[task]
    common = [("path", pa.string()), ("status", pa.string()), ("error", pa.string())]
    return pa.schema([*common, *fields, ("seconds", pa.float64())])


def poses_name(path: str) -> str:
    """The ``.npz`` name of a video's poses: its stem and a hash of its path (two videos of
    the same name in different folders do not collide)."""
    digest = hashlib.sha1(path.encode()).hexdigest()[:8]
    return f"{Path(path).stem}-{digest}.npz"


class FileWorker:
    """Runs one task on one file at a time; the model is loaded once, when built.
    ``poses_dir``: where the pose task writes its ``.npz`` files."""

    def __init__(self, settings: BatchSettings, poses_dir: str | None = None) -> None:
        self.settings = settings
        self.poses_dir = Path(poses_dir) if poses_dir else None
        self.recognizer = None
        if settings.task in ("predict", "detect"):
            self.recognizer = load_recognizer(settings, settings.device)

    def __call__(self, path: str) -> list[Row]:
        """The rows of ``path``: one, or one per segment (detect). Never raises for a bad
        file: its row says ``error``."""
        started = time.perf_counter()
        try:
            rows = getattr(self, f"_{self.settings.task}")(path)
        except Exception as exc:
            rows = [failure_row(path, exc)]
        seconds = time.perf_counter() - started
        return [{**row, "seconds": row.get("seconds", seconds)} for row in rows]

    def _predict(self, path: str) -> list[Row]:
        from actscope.inference.prediction import predict

        (result,) = predict([path], self.recognizer, self.settings.top_k, step=self.settings.step)
        if not result.ok:
            return [error_row(path, result.error or "the video could not be read")]
        return [{**prediction_row(path, result), "seconds": result.seconds}]

    def _detect(self, path: str) -> list[Row]:
        from actscope.inference.detection import detect

        found = detect(path, self.recognizer, step=self.settings.step)
        shared = {
            "path": path,
            "status": "ok",
            "frames": found.frames,
            "frames_with_person": found.frames_with_person,
            "duration": found.duration,
            "warnings": list(found.warnings),
            "seconds": found.seconds,
        }
        segments = [
            {"start": s.start, "end": s.end, "label": s.label, "score": s.score}
            for s in found.segments
        ]
        return [{**shared, **segment} for segment in segments] or [shared]

    def _pose(self, path: str) -> list[Row]:
        from actscope.pose.estimate import extract_poses

        if self.poses_dir is None:
            raise ConfigError("the pose task needs a folder for its .npz files")
        track = extract_poses(path, step=self.settings.step)
        target = self.poses_dir / poses_name(path)
        track.save(target)
        return [
            {
                "path": path,
                "status": "ok",
                "frames": track.num_frames,
                "frames_with_person": track.frames_with_person,
                "people": track.image.num_people,
                "duration": track.image.duration,
                "poses": str(target),
            }
        ]


class PredictReader:
    """The first half of the predict task, for a stage of its own: a file decoded and its
    poses found (skeleton models) or its clips transformed (RGB models), as ``predict`` does
    (:func:`~actscope.inference.prediction.read_for_model`). The model is loaded on the CPU
    for what it says it reads, and never run."""

    def __init__(self, settings: BatchSettings) -> None:
        self.settings = settings
        self.recognizer = load_recognizer(settings, "cpu")

    def __call__(self, path: str) -> tuple[Any, float]:
        """What ``path`` gives the model, or its error row (a dict), and the seconds taken."""
        from actscope.inference.prediction import read_for_model

        started = time.perf_counter()
        try:
            read = read_for_model(self.recognizer, path, step=self.settings.step)
        except Exception as exc:
            read = failure_row(path, exc)
        return read, time.perf_counter() - started


class PredictModel:
    """The second half of the predict task: the model (on ``settings.device``) over what a
    :class:`PredictReader` read, giving the row :class:`FileWorker` gives the file."""

    def __init__(self, settings: BatchSettings) -> None:
        self.settings = settings
        self.recognizer = load_recognizer(settings, settings.device)

    def __call__(self, path: str, read: Any, seconds: float) -> Row:
        """The row of ``path`` from ``read`` (passed on as it is if it is an error row);
        ``seconds``: the time the reading took, to which the model's is added."""
        from actscope.inference.prediction import predict_read

        started = time.perf_counter()
        if isinstance(read, dict):
            row = read
        else:
            try:
                result = predict_read(self.recognizer, path, read, self.settings.top_k)
                row = prediction_row(path, result)
            except Exception as exc:
                row = failure_row(path, exc)
        return {**row, "seconds": seconds + time.perf_counter() - started}


def load_recognizer(settings: BatchSettings, device: str) -> Any:
    """The :class:`~actscope.inference.recognizer.Recognizer` of ``settings`` on ``device``."""
    from actscope.inference.recognizer import Recognizer

    return Recognizer.load(settings.model, backend=settings.backend, device=device)


def prediction_row(path: str, result: Any) -> Row:
    """The row of a :class:`~actscope.inference.prediction.Prediction` (without ``seconds``)."""
    return {
        "path": path,
        "status": "ok",
        "label": result.label,
        "unknown": result.unknown,
        "score": result.top[0][1] if result.top else None,
        "top": [{"label": k, "score": v} for k, v in result.top],
        "frames": result.frames,
        "frames_with_person": result.frames_with_person,
        "duration": result.duration,
        "warnings": list(result.warnings),
    }


def failure_row(path: str, exc: Exception) -> Row:
    """The row of a file whose work raised ``exc``: an actscope error's message, or a bug's
    or a library's surprise by type (logged with its traceback); the batch goes on."""
    if isinstance(exc, ActscopeError):
        return error_row(path, str(exc))
    log.warning("%s: failed", path, exc_info=exc)
    return error_row(path, f"{type(exc).__name__}: {exc}")


def error_row(path: str, message: str) -> Row:
    """The row of a file that failed: its first line of ``message``."""
    first = message.strip().splitlines()[0] if message.strip() else "failed"
    return {"path": path, "status": "error", "error": first}
