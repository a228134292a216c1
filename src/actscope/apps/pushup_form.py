"""Push-up form: correct or wrong, from a clip's pose track.

A clip becomes a small vector of named, interpretable measurements (:data:`FEATURES`) of
the body line (hips sagging or piked), the legs, the head, the depth and lockout of the
elbows, the hands' place under the shoulders and the pace of the repetitions; a logistic
regression on them gives the probability that the form is correct. The model is a few
hundred bytes of JSON shipped in the package (``assets/pushup_form.json``); its training
data, protocol and accuracy are in docs/apps/pushup_form.md.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from actscope.apps.exercise import count_repetitions, joint_angle
from actscope.errors import ModelError, PoseError
from actscope.files import atomic_path
from actscope.pose.convert import to_body15
from actscope.pose.layouts import BODY15
from actscope.pose.skeleton import Skeleton

MIN_SCORE = 0.3
MODEL_FILE = "pushup_form.json"
LABELS = ("wrong", "correct")

_J = {name: i for i, name in enumerate(BODY15.joints)}

FEATURES = (
    "hip_offset_median",  # hip above (+) or below (-) the shoulder-ankle line, body lengths
    "hip_offset_p10",
    "hip_offset_p90",
    "hip_angle_median",  # shoulder-hip-ankle angle, degrees (180: straight body)
    "knee_angle_median",  # hip-knee-ankle, degrees (180: straight legs)
    "knee_angle_p10",
    "head_angle_median",  # pelvis-neck-head, degrees (180: head in line with the back)
    "elbow_min",  # smallest elbow angle over the clip (depth), degrees
    "elbow_max",  # largest (lockout), degrees
    "elbow_range",
    "incline_median",  # shoulder-ankle line against the horizontal, degrees
    "hand_offset_median",  # wrist ahead of (+) the shoulder along the body, torso lengths
    "shoulder_travel",  # vertical range of the shoulders, torso lengths
    "hip_travel",  # vertical range of the hips, torso lengths
    "repetitions_per_second",
    "seen",  # share of frames with a person
)


def _side_joints(skeleton: Skeleton) -> tuple[np.ndarray, str]:
    """``(T, 15, 2)`` canonical body15 image coordinates with unsure joints missing, and the
    side ("left"/"right") whose arm and leg were seen with the higher mean score."""
    body = to_body15(skeleton.people([0]))
    coords = np.where((body.scores[0] >= MIN_SCORE)[..., None], body.coords[0, ..., :2], np.nan)
    quality = {}
    for side in ("left", "right"):
        joints = [_J[f"{side}_{j}"] for j in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")]
        quality[side] = float(body.scores[0][:, joints].mean())
    return coords, max(quality, key=quality.get)


def _stat(values: np.ndarray, q: float | str) -> float:
    values = values[np.isfinite(values)]
    if not len(values):
        return float("nan")
    if q == "median":
        return float(np.median(values))
    return float(np.percentile(values, q))


def form_features(skeleton: Skeleton) -> np.ndarray:
    """The :data:`FEATURES` of a push-up clip ``(F,)``; NaN where a measurement has no
    joints to come from (the classifier fills those with the training mean)."""
    if skeleton.num_people == 0 or not skeleton.present().any():
        raise PoseError(f"{skeleton.source or 'clip'}: nobody in view; cannot judge the form")
    coords, side = _side_joints(skeleton)

    def joint(name: str) -> np.ndarray:  # (T, 2); a limb joint on the chosen side
        key = name if name in ("neck", "pelvis", "head") else f"{side}_{name}"
        return coords[:, _J[key]]

    shoulder, elbow, wrist = joint("shoulder"), joint("elbow"), joint("wrist")
    hip, knee, ankle = joint("hip"), joint("knee"), joint("ankle")
    neck, pelvis, head = joint("neck"), joint("pelvis"), joint("head")
    line = shoulder - ankle
    length = np.linalg.norm(line, axis=-1)
    towards_head = np.sign(line[:, 0])
    cross = line[:, 0] * (hip - ankle)[:, 1] - line[:, 1] * (hip - ankle)[:, 0]
    hip_offset = towards_head * cross / length**2
    torso = np.nanmedian(np.linalg.norm(neck - pelvis, axis=-1))
    along = line / length[:, None]
    hand_offset = ((wrist - shoulder) * along).sum(-1) / torso
    elbow_angle = joint_angle(shoulder, elbow, wrist)
    incline = np.degrees(np.arctan2(np.abs(line[:, 1]), np.abs(line[:, 0])))
    try:
        reps = count_repetitions(skeleton, "pushup").count
    except PoseError:
        reps = 0
    values = {
        "hip_offset_median": _stat(hip_offset, "median"),
        "hip_offset_p10": _stat(hip_offset, 10),
        "hip_offset_p90": _stat(hip_offset, 90),
        "hip_angle_median": _stat(joint_angle(shoulder, hip, ankle), "median"),
        "knee_angle_median": _stat(joint_angle(hip, knee, ankle), "median"),
        "knee_angle_p10": _stat(joint_angle(hip, knee, ankle), 10),
        "head_angle_median": _stat(joint_angle(pelvis, neck, head), "median"),
        "elbow_min": _stat(elbow_angle, 5),
        "elbow_max": _stat(elbow_angle, 95),
        "elbow_range": _stat(elbow_angle, 95) - _stat(elbow_angle, 5),
        "incline_median": _stat(incline, "median"),
        "hand_offset_median": _stat(hand_offset, "median"),
        "shoulder_travel": (_stat(shoulder[:, 1], 95) - _stat(shoulder[:, 1], 5)) / torso,
        "hip_travel": (_stat(hip[:, 1], 95) - _stat(hip[:, 1], 5)) / torso,
        "repetitions_per_second": reps / skeleton.duration,
        "seen": float(skeleton.present()[0].mean()),
    }
    return np.array([values[name] for name in FEATURES], np.float64)


def fit_logistic(
    x: np.ndarray, y: np.ndarray, l2: float = 1.0, iterations: int = 50
) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by Newton's method on standardised ``x (N, F)``,
    labels ``y (N,)`` in {0, 1}; returns weights ``(F,)`` and bias."""
    n, f = x.shape
    design = np.hstack([x, np.ones((n, 1))])
    weights = np.zeros(f + 1)
    penalty = np.full(f + 1, l2)
    penalty[-1] = 0.0  # the bias is not shrunk
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-design @ weights))
        gradient = design.T @ (p - y) + penalty * weights
        hessian = (design * (p * (1 - p))[:, None]).T @ design + np.diag(penalty) + 1e-9
        step = np.linalg.solve(hessian, gradient)
        weights -= step
        if np.abs(step).max() < 1e-8:
            break
    return weights[:-1], float(weights[-1])


@dataclass
class FormClassifier:
    """Standardise the features with ``mean``/``std`` (NaN -> mean), then logistic
    regression ``weights``/``bias``: probability of correct form."""

    features: tuple[str, ...]
    mean: np.ndarray
    std: np.ndarray
    weights: np.ndarray
    bias: float
    info: dict

    @classmethod
    def train(cls, x: np.ndarray, y: np.ndarray, l2: float = 1.0, info: dict | None = None):
        """Fit on features ``x (N, F)`` (NaN allowed) and labels ``y (N,)`` (1 = correct)."""
        mean = np.nanmean(x, axis=0)
        std = np.nanstd(x, axis=0)
        std = np.where(std > 1e-9, std, 1.0)
        standard = np.nan_to_num((x - mean) / std)
        weights, bias = fit_logistic(standard, y.astype(np.float64), l2)
        return cls(FEATURES, mean, std, weights, bias, dict(info or {}))

    def probability(self, x: np.ndarray) -> np.ndarray:
        """Probability of correct form ``(N,)`` for features ``x (N, F)``."""
        standard = np.nan_to_num((np.atleast_2d(x) - self.mean) / self.std)
        return 1.0 / (1.0 + np.exp(-(standard @ self.weights + self.bias)))

    def judge(self, skeleton: Skeleton) -> dict:
        """``{"label": "correct" | "wrong", "p_correct": p}`` for a push-up clip."""
        p = float(self.probability(form_features(skeleton))[0])
        return {"label": LABELS[int(p >= 0.5)], "p_correct": round(p, 4)}

    def save(self, path: str | os.PathLike) -> None:
        data = {
            "format": "actscope.pushup_form",
            "version": 1,
            "features": list(self.features),
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
            "weights": self.weights.tolist(),
            "bias": self.bias,
            "info": self.info,
        }
        with atomic_path(path) as temp:
            temp.write_text(json.dumps(data, indent=1))

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> FormClassifier:
        """The shipped model, or one saved with :meth:`save` at ``path``."""
        if path is None:
            path = Path(str(resources.files("actscope") / "assets" / MODEL_FILE))
        try:
            data = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ModelError(f"{path}: no push-up form model there; reinstall actscope") from None
        except (OSError, ValueError) as exc:
            raise ModelError(f"{path}: not a readable push-up form model ({exc})") from exc
        if data.get("format") != "actscope.pushup_form" or tuple(data["features"]) != FEATURES:
            raise ModelError(
                f"{path}: made for another version of actscope's push-up features; retrain it"
            )
        return cls(
            FEATURES,
            np.asarray(data["mean"]),
            np.asarray(data["std"]),
            np.asarray(data["weights"]),
            float(data["bias"]),
            data.get("info", {}),
        )


def read_movenet_json(path: str | os.PathLike, fps: float) -> Skeleton:
    """A MoveNet keypoint file of the push-up data (a list of frames, each
    ``{"keypoints": [17 x {x, y, score}]}`` in pixels) as a ``coco17`` image skeleton."""
    frames = json.loads(Path(path).read_text())
    coords = np.full((1, len(frames), 17, 2), np.nan, np.float32)
    scores = np.zeros((1, len(frames), 17), np.float32)
    for t, frame in enumerate(frames):
        points = frame.get("keypoints") or []
        if len(points) == 17:
            coords[0, t] = [(p["x"], p["y"]) for p in points]
            scores[0, t] = [p["score"] for p in points]
    return Skeleton(coords, scores, "coco17", fps, "image", os.fspath(path))
