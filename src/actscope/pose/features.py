"""The model-input form of a skeleton, the same for every source.

A skeleton from any layout and space becomes ``(C, T, V, M)``: the ``body15`` joints in
canonical axes, resampled to a fixed number of frames, with a last channel holding each
joint's score. Two choices make Kinect skeletons and keypoints estimated from ordinary video
mean the same thing (see docs/default_model.md):

- **Neck-relative pose, trajectory on the neck.** Every joint but the neck is given relative
  to the neck in the same frame; the neck joint itself carries the body's path
  (neck minus its median position). Sources that centre each frame themselves (the
  UTD-MHAD OpenPose files) simply give a still neck.
- **Limb scale.** Lengths are divided by the mean over arm and leg bones of each bone's 90th
  percentile length over the sequence. Torso length is not used: Kinect puts its hip joints
  far higher than COCO-style estimators, so torso-relative proportions differ by source.

In 2D, 3D world coordinates are first projected through a pinhole at the camera origin
(``x / depth``, ``y / depth``), which is what an RGB camera beside the depth sensor sees.

Two options serve models trained and used on one sensor (the in-domain benchmarks), where
sharing the form with other sources matters less than keeping what the sensor gives:

- ``layout`` other than ``body15`` keeps the source layout's own joints (a Kinect's hands and
  feet), and ``normalize="torso"`` centres every frame on the pelvis and divides by the
  median neck-pelvis length (:func:`actscope.pose.convert.normalize`).
- ``normalize="camera"`` is the raw input of models trained on NTU RGB+D's skeletons
  (``efficientgcn_b0``): the 25 NTU joints in metres in Kinect v2's camera space, 30 fps,
  zero-padded, no score channel (:func:`actscope.pose.ntu_input.ntu_input`).
- ``fps`` keeps real tempo: time is resampled to that rate and the sequence centred in the
  window of ``frames`` (its first and last frames repeated), instead of stretched over it,
  so a jog stays faster than a walk. Sequences longer than the window are squeezed into it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import torch

from actscope.errors import ConfigError, PoseError
from actscope.pose.convert import normalize as normalize_skeleton
from actscope.pose.convert import to_body15
from actscope.pose.layouts import BODY15, get_layout
from actscope.pose.skeleton import Skeleton

NECK = BODY15.index("neck")
LIMB_BONES = tuple(
    (BODY15.index(f"{side}_{a}"), BODY15.index(f"{side}_{b}"))
    for side in ("left", "right")
    for a, b in (("shoulder", "elbow"), ("elbow", "wrist"), ("hip", "knee"), ("knee", "ankle"))
)


@dataclass(frozen=True)
class BodyFeatures:
    """Skeleton -> model input ``(dims + 1, frames, V, persons)`` float32: the typed input
    spec of every skeleton model (the registry's defaults, what a checkpoint stores, what
    inference reads back).

    ``dims`` 2 or 3 coordinates, then the score channel (0 for a missing joint, whose
    coordinates are 0). The ``persons`` most present people are kept, zero-padded. A joint
    scored below ``min_score`` counts as missing: estimators such as MediaPipe still place
    joints they cannot see (legs out of the picture), with a low score. ``use_scores=False``
    scores every placed joint 1: for sources whose scores are tracking flags rather than
    visibility (MSR Action3D's are 0 for 29% of joints that it still places well), since
    models treat a joint scored 0 as missing. ``window_seconds`` is how long the clips the
    model was trained on typically last: the window that detection and live recognition
    slide over longer recordings.
    """

    kind: ClassVar[str] = "skeleton"

    dims: Literal[2, 3] = 2
    frames: int = 48
    persons: int = 1
    min_score: float = 0.3
    layout: str = BODY15.name
    normalize: Literal["limb", "torso", "camera"] = "limb"
    fps: float = 0.0  # 0: the whole sequence stretched over ``frames``
    use_scores: bool = True
    window_seconds: float = 2.5

    def __post_init__(self) -> None:
        if self.dims not in (2, 3):
            raise PoseError(f"dims must be 2 or 3, got {self.dims!r}")
        if self.frames < 2 or self.persons < 1 or self.window_seconds <= 0:
            raise PoseError(
                f"frames={self.frames}, persons={self.persons}, "
                f"window_seconds={self.window_seconds}: need at least 2 frames, 1 person and "
                "a positive window"
            )
        if self.normalize not in ("limb", "torso", "camera"):
            raise PoseError(
                f"normalize must be 'limb', 'torso' or 'camera', got {self.normalize!r}"
            )
        if self.normalize == "camera" and (self.layout != "ntu25" or self.dims != 3):
            raise PoseError("normalize='camera' (NTU RGB+D's raw input) takes ntu25 in 3D")
        if self.layout != BODY15.name and self.normalize == "limb":
            raise PoseError(f"layout {self.layout!r} needs normalize='torso' (limb is body15's)")
        get_layout(self.layout)  # fails clearly on an unknown name

    def to_dict(self) -> dict[str, Any]:
        """Plain values with ``kind: "skeleton"``, as checkpoints store it."""
        return {"kind": self.kind, **asdict(self)}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> BodyFeatures:
        """Inverse of :meth:`to_dict` (keys left out take their defaults); also reads a
        training run's ``data.options``. An unknown key or a value of the wrong type is a
        :class:`~actscope.errors.ConfigError`."""
        types = {"dims": int, "frames": int, "persons": int, "min_score": float, "fps": float}
        types |= {"layout": str, "normalize": str, "use_scores": bool, "window_seconds": float}
        fields = {k: v for k, v in values.items() if k != "kind"}
        unknown = set(fields) - set(types)
        if unknown:
            raise ConfigError(
                f"unknown skeleton input option(s) {', '.join(sorted(unknown))}; known: "
                f"{', '.join(types)}"
            )
        typed = {}
        for key, value in fields.items():
            convert = types[key]
            if convert is bool and not isinstance(value, bool):
                raise ConfigError(f"skeleton input option {key} must be true or false: {value!r}")
            try:
                typed[key] = convert(value)
            except (TypeError, ValueError):
                raise ConfigError(
                    f"skeleton input option {key} must be a {convert.__name__}, got {value!r}"
                ) from None
        try:
            return cls(**typed)
        except PoseError as exc:
            raise ConfigError(f"skeleton input: {exc}") from None

    def replace(self, **changes: Any) -> BodyFeatures:
        """A copy with some fields changed (checked again)."""
        return dataclasses.replace(self, **changes)

    @property
    def channels(self) -> int:
        """Coordinates, then a score channel (none for raw camera-space input)."""
        return self.dims if self.normalize == "camera" else self.dims + 1

    @property
    def num_joints(self) -> int:
        return get_layout(self.layout).num_joints

    def __call__(self, skeleton: Skeleton) -> torch.Tensor:
        if not skeleton.even:  # frames recorded unevenly: onto an even grid by their times
            skeleton = skeleton.resample(self.fps or None)
        if self.normalize == "camera":
            from actscope.pose.ntu_input import ntu_input

            return torch.from_numpy(ntu_input(skeleton, self.frames, self.persons))
        if self.normalize == "torso":
            coords, scores = torso_coords(skeleton, self.dims, self.layout)
        else:
            coords, scores = body_coords(skeleton, self.dims)
        return torch.from_numpy(self.from_coords(coords, scores, skeleton.fps))

    def from_coords(
        self, coords: np.ndarray, scores: np.ndarray, fps: float | None = None
    ) -> np.ndarray:
        """Canonical ``coords (M, T, V, dims)`` and ``scores (M, T, V)`` of ``fps`` frames per
        second, in :attr:`layout` (and, for ``normalize="torso"``, already normalised) ->
        ``(C, frames, V, persons)`` numpy array (the tensor :meth:`__call__` returns)."""
        out = np.zeros((self.channels, self.frames, self.num_joints, self.persons), np.float32)
        if not self.use_scores:
            scores = np.where(np.isnan(coords[..., 0]), 0.0, 1.0).astype(np.float32)
        if self.min_score > 0:
            unseen = scores < self.min_score
            coords = np.where(unseen[..., None], np.nan, coords)
            scores = np.where(unseen, 0.0, scores)
        order = np.argsort(-(scores > 0).sum(axis=(1, 2)), kind="stable")[: self.persons]
        for slot, person in enumerate(order):
            if self.normalize == "torso":
                pose = np.nan_to_num(fill_missing(coords[person]))
                score = np.where(np.isnan(coords[person][..., 0]), 0.0, scores[person])
            else:
                pose, score = relative_pose(coords[person], scores[person])
            out[: self.dims, :, :, slot] = self.window(pose, fps).transpose(2, 0, 1)
            out[self.dims, :, :, slot] = self.window(score[..., None], fps)[..., 0]
        return out

    def window(self, x: np.ndarray, fps: float | None) -> np.ndarray:
        """``x (T, ...)`` recorded at ``fps`` -> ``(frames, ...)``: stretched over the window,
        or, with :attr:`fps` set, resampled to that rate and centred in it."""
        if not self.fps or not fps or len(x) == 0:
            return resample(x, self.frames)
        length = max(2, round(len(x) * self.fps / fps))
        if length >= self.frames:
            return resample(x, self.frames)
        x = resample(x, length)
        before = (self.frames - length) // 2
        after = self.frames - length - before
        return np.concatenate([x[:1].repeat(before, 0), x, x[-1:].repeat(after, 0)])


def body_coords(skeleton: Skeleton, dims: int) -> tuple[np.ndarray, np.ndarray]:
    """``skeleton`` as canonical body15 ``(M, T, 15, dims)`` coordinates and scores; 3D world
    coordinates are projected through a pinhole when ``dims == 2``."""
    if dims not in (2, 3):
        raise PoseError(f"dims must be 2 or 3, got {dims}")
    body = to_body15(skeleton)
    coords = body.coords
    if dims == 3:
        if coords.shape[-1] != 3:
            raise PoseError(f"{skeleton.source}: a 2D skeleton cannot feed a 3D model")
        return coords, body.scores
    if coords.shape[-1] == 3 and body.space in ("world", "camera"):
        coords = project(coords)
    return coords[..., :2], body.scores


def torso_coords(
    skeleton: Skeleton, dims: int, layout: str = BODY15.name
) -> tuple[np.ndarray, np.ndarray]:
    """``skeleton`` in ``layout`` as ``(M, T, V, dims)`` coordinates centred on each frame's
    pelvis, in units of the median neck-pelvis length, and its scores ``(M, T, V)``. Any
    source converts to ``body15``; another layout must be the skeleton's own."""
    if layout == BODY15.name:
        skeleton = to_body15(skeleton)
    elif skeleton.layout != layout:
        where = f"{skeleton.source}: " if skeleton.source else ""
        raise PoseError(
            f"{where}the model takes {layout} skeletons, this one is {skeleton.layout}; "
            "use a body15 model for other sources"
        )
    if dims == 3 and skeleton.channels != 3:
        raise PoseError(f"{skeleton.source}: a 2D skeleton cannot feed a 3D model")
    body = normalize_skeleton(skeleton, dims=dims, center="frame")
    return body.coords.astype(np.float32), body.scores


def project(coords: np.ndarray) -> np.ndarray:
    """Pinhole projection of canonical 3D coordinates (z towards the camera, metres) onto
    the image plane at unit focal length: ``(..., 3) -> (..., 2)``."""
    depth = np.maximum(-coords[..., 2:3], 1e-3)
    return coords[..., :2] / depth


def limb_scale(pose: np.ndarray) -> float:
    """Mean over arm and leg bones of each bone's 90th-percentile length in ``pose (T, V, C)``."""
    first, second = np.array(LIMB_BONES).T
    lengths = np.linalg.norm(pose[:, first] - pose[:, second], axis=-1).T  # (bones, T)
    finite = np.isfinite(lengths)
    whole = finite.all(axis=1)  # the usual case, and one vectorised call (nanpercentile is slow)
    per_bone = list(np.percentile(lengths[whole], 90, axis=1)) if whole.any() else []
    per_bone += [
        np.percentile(row[ok], 90)
        for row, ok in zip(lengths, finite, strict=True)
        if 0 < ok.sum() < len(ok)
    ]
    scale = float(np.mean(per_bone)) if per_bone else float("nan")
    return scale if scale > 1e-6 else float("nan")


def relative_pose(pose: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One person's ``(T, V, C)`` pose as neck-relative joints with the neck's path on the
    neck joint, in limb units; missing joints are filled over time (score kept at 0) or 0.
    A person whose neck is never seen (no shoulder at all) is placed relative to the centre
    of the joints that are, in its place."""
    pose = fill_missing(pose)
    score = np.where(np.isnan(pose[..., 0]), 0.0, score).astype(np.float32)
    scale = limb_scale(pose)
    if not np.isfinite(scale):  # no limb ever seen: nothing to measure the body by
        return np.zeros_like(pose), np.zeros_like(score)
    neck = pose[:, NECK]
    if np.isnan(neck).all():
        neck = np.nanmean(pose, axis=1)  # (T, C): every frame has a limb, so a joint
    out = pose - neck[:, None]
    out[:, NECK] = neck - np.median(neck, axis=0)
    out /= scale
    return np.nan_to_num(out).astype(np.float32), score


def fill_missing(pose: np.ndarray) -> np.ndarray:
    """``(T, V, C)`` with each joint's missing frames interpolated from its present ones
    (ends held); joints never present stay NaN."""
    pose = pose.copy()
    frames = np.arange(len(pose))
    for joint in range(pose.shape[1]):
        valid = ~np.isnan(pose[:, joint, 0])
        if valid.all() or not valid.any():
            continue
        for c in range(pose.shape[2]):
            pose[:, joint, c] = np.interp(frames, frames[valid], pose[valid, joint, c])
    return pose


def resample(x: np.ndarray, frames: int) -> np.ndarray:
    """Linear resampling of ``x (T, ...)`` to ``frames`` time steps spanning the sequence."""
    if len(x) == 0:
        return np.zeros((frames, *x.shape[1:]), np.float32)
    position = np.linspace(0, len(x) - 1, frames)
    low = np.floor(position).astype(int)
    high = np.minimum(low + 1, len(x) - 1)
    weight = (position - low).reshape(-1, *([1] * (x.ndim - 1)))
    return (x[low] * (1 - weight) + x[high] * weight).astype(np.float32)
