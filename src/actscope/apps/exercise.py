"""Exercise analysis: repetitions counted from the periodic motion of a joint angle.

Each exercise (:data:`EXERCISES`) names the angle that goes through one cycle per
repetition (the elbow for push-ups, the knee for squats, ...) and which end of the cycle is
the working end (the bottom of a push-up: the elbow at its smallest). The angle is measured
from ``body15`` joints (any layout; in 3D when the skeleton has depth, else in the image
plane, where a movement towards the camera shows less) on the side of the body the camera
sees better, smoothed, and a repetition is counted at each working end from which the
angle moves at least ``min_range`` degrees away on both sides: down *and* back up. A clip
that stops half-way through a repetition does not count it.

Per repetition: start, working end and finish times (seconds), duration, and the angle's
range of motion (degrees).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
from scipy.signal import find_peaks

from actscope.errors import PoseError
from actscope.pose.convert import to_body15
from actscope.pose.layouts import BODY15
from actscope.pose.skeleton import Skeleton

log = logging.getLogger(__name__)

MIN_SCORE = 0.3
"""Joints scored below this count as missing."""


@dataclass(frozen=True)
class Exercise:
    """How to count one exercise: the angle at ``joints[1]`` between ``joints[0]`` and
    ``joints[2]`` (joint names without their side), its working ``end`` (``"min"``: the
    angle is smallest at the working end of a repetition), the smallest range of motion
    that counts (degrees) and the shortest repetition (seconds)."""

    name: str
    joints: tuple[str, str, str]
    end: Literal["min", "max"]
    min_range: float
    min_seconds: float = 0.5
    description: str = ""


EXERCISES: dict[str, Exercise] = {
    e.name: e
    for e in (
        Exercise(
            "pushup",
            ("shoulder", "elbow", "wrist"),
            "min",
            30.0,
            0.6,
            "elbow angle; a repetition bottoms out with the arms bent",
        ),
        Exercise(
            "squat",
            ("hip", "knee", "ankle"),
            "min",
            40.0,
            0.8,
            "knee angle; a repetition bottoms out with the knees bent",
        ),
        Exercise(
            "lunge", ("hip", "knee", "ankle"), "min", 35.0, 0.8, "knee angle of the front leg"
        ),
        Exercise(
            "situp",
            ("shoulder", "hip", "knee"),
            "min",
            30.0,
            0.8,
            "hip angle; a repetition peaks with the trunk up",
        ),
        Exercise(
            "curl",
            ("shoulder", "elbow", "wrist"),
            "min",
            50.0,
            0.6,
            "elbow angle; a repetition peaks with the forearm up",
        ),
        Exercise(
            "press",
            ("shoulder", "elbow", "wrist"),
            "max",
            40.0,
            0.6,
            "elbow angle; a repetition peaks with the arms straight overhead",
        ),
        Exercise(
            "jumping_jack",
            ("hip", "shoulder", "elbow"),
            "max",
            60.0,
            0.4,
            "shoulder angle; a repetition peaks with the arms up",
        ),
    )
}


def get_exercise(name: str) -> Exercise:
    """The exercise called ``name``; a :class:`PoseError` lists the known ones otherwise."""
    try:
        return EXERCISES[name]
    except KeyError:
        raise PoseError(
            f"unknown exercise {name!r}; known: {', '.join(sorted(EXERCISES))}"
        ) from None


@dataclass
class Repetition:
    """One repetition: ``start``, ``turn`` (the working end) and ``end`` in seconds;
    ``top`` and ``bottom`` angles in degrees (the angle's extremes within the repetition,
    whatever the direction) and ``range`` = top - bottom."""

    index: int
    start: float
    turn: float
    end: float
    top: float
    bottom: float

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def range(self) -> float:
        return self.top - self.bottom

    def to_dict(self) -> dict:
        values = {k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(self).items()}
        return {**values, "duration": round(self.duration, 3), "range": round(self.range, 1)}


@dataclass
class ExerciseReport:
    """The repetitions found in a clip, with the angle signal they were found in:
    ``times`` (seconds) and ``angle`` (degrees, smoothed, NaN where unseen), the ``side``
    it was measured on, and the ``threshold`` (degrees) a repetition had to reach."""

    exercise: str
    repetitions: list[Repetition]
    times: np.ndarray = field(repr=False)
    angle: np.ndarray = field(repr=False)
    side: str
    threshold: float

    @property
    def count(self) -> int:
        return len(self.repetitions)

    def summary(self) -> dict:
        """Count, mean duration (s), cadence (repetitions per minute), mean range (deg)."""
        reps = self.repetitions
        durations = [r.duration for r in reps]
        return {
            "exercise": self.exercise,
            "count": self.count,
            "side": self.side,
            "mean_duration": round(float(np.mean(durations)), 3) if reps else None,
            "cadence_per_minute": round(60.0 / float(np.mean(durations)), 1) if reps else None,
            "mean_range": round(float(np.mean([r.range for r in reps])), 1) if reps else None,
            "repetitions": [r.to_dict() for r in reps],
        }


def joint_angle(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Angle at ``b`` between ``a`` and ``c`` in degrees; ``(..., C)`` points -> ``(...)``."""
    u, v = a - b, c - b
    cosine = (u * v).sum(-1) / (np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1))
    return np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))


def side_angles(skeleton: Skeleton, exercise: Exercise, person: int = 0) -> dict[str, np.ndarray]:
    """``{"left": (T,), "right": (T,)}`` angle in degrees (in 3D for 3D skeletons, else in
    the image plane), NaN where a joint is missing or scored below :data:`MIN_SCORE`; plus
    each side's joint score (the smallest of the three) under ``"left_score"`` and
    ``"right_score"``."""
    body = to_body15(skeleton.people([person]))
    coords = body.coords[0]  # 3D angles where the skeleton has depth
    scores = body.scores[0]
    out: dict[str, np.ndarray] = {}
    for side in ("left", "right"):
        index = [BODY15.index(f"{side}_{j}") for j in exercise.joints]
        points = [
            np.where((scores[:, i] >= MIN_SCORE)[:, None], coords[:, i], np.nan) for i in index
        ]
        out[side] = joint_angle(*points)
        out[f"{side}_score"] = scores[:, index].min(axis=1)
    return out


def _fill(signal: np.ndarray) -> np.ndarray:
    """Missing values interpolated, ends held; all-missing stays NaN."""
    valid = np.isfinite(signal)
    if valid.all() or not valid.any():
        return signal
    index = np.arange(len(signal))
    return np.interp(index, index[valid], signal[valid])


def _smooth(signal: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average over ``width`` samples (odd); the ends are held beyond the
    signal."""
    if width <= 1 or len(signal) < 3:
        return signal
    half = width // 2
    padded = np.pad(signal, half, mode="edge")
    kernel = np.ones(width) / width
    return np.convolve(padded, kernel, mode="valid")


def exercise_signal(
    skeleton: Skeleton, exercise: Exercise, person: int = 0
) -> tuple[np.ndarray, str]:
    """The exercise's angle over time ``(T,)`` degrees (filled and smoothed over 0.2 s), and
    the side it came from: the side whose joints were seen with the higher mean score, or
    ``"both"`` (their mean) when both were seen well."""
    angles = side_angles(skeleton, exercise, person)
    quality = {s: float(np.mean(angles[f"{s}_score"])) for s in ("left", "right")}
    if min(quality.values()) >= 0.8:
        pair = np.stack([angles["left"], angles["right"]])
        seen = np.isfinite(pair).sum(axis=0)
        raw = np.where(seen > 0, np.nansum(pair, axis=0) / np.maximum(seen, 1), np.nan)
        side = "both"
    else:
        side = max(quality, key=quality.get)
        raw = angles[side]
    width = max(1, round(0.2 * skeleton.fps)) | 1
    return _smooth(_fill(raw), width), side


def count_repetitions(
    skeleton: Skeleton,
    exercise: str | Exercise = "pushup",
    *,
    person: int = 0,
    min_range: float | None = None,
) -> ExerciseReport:
    """Repetitions of ``exercise`` by ``person`` of ``skeleton`` (any layout; 2D or 3D).

    ``min_range`` (degrees) overrides the exercise's; the threshold used is the larger of it
    and 40% of the angle's overall range in the clip (its 5th to 95th percentile), so jitter
    on a clip with little motion is not counted.
    """
    exercise = get_exercise(exercise) if isinstance(exercise, str) else exercise
    if skeleton.num_people <= person:
        raise PoseError(f"{skeleton.source or 'skeleton'}: nobody in view; no repetitions to count")
    angle, side = exercise_signal(skeleton, exercise, person)
    times = skeleton.times
    if not np.isfinite(angle).any():
        raise PoseError(
            f"{skeleton.source or 'skeleton'}: the {'/'.join(exercise.joints)} joints are "
            f"never seen; film the {exercise.name} so the body's side is in view"
        )
    low, high = np.percentile(angle, [5, 95])
    threshold = max(min_range if min_range is not None else exercise.min_range, 0.4 * (high - low))
    sign = -1.0 if exercise.end == "min" else 1.0
    turns, _ = find_peaks(
        sign * angle,
        prominence=threshold,
        distance=max(1, round(exercise.min_seconds * skeleton.fps)),
    )
    reps = []
    bounds = [0, *turns, len(angle) - 1]
    for k, turn in enumerate(turns):
        before = slice(bounds[k], turn + 1)
        after = slice(turn, bounds[k + 2] + 1)
        start = bounds[k] + int(np.argmax(-sign * angle[before]))
        end = turn + int(np.argmax(-sign * angle[after]))
        values = angle[start : end + 1]
        reps.append(
            Repetition(
                index=len(reps) + 1,
                start=float(times[start]),
                turn=float(times[turn]),
                end=float(times[end]),
                top=float(values.max()),
                bottom=float(values.min()),
            )
        )
    return ExerciseReport(exercise.name, reps, times, angle, side, float(threshold))
