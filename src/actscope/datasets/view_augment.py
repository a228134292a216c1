"""Training transform that makes a model trained on depth-sensor skeletons work on poses
estimated from ordinary video.

It sees each 3D (Kinect) skeleton from a random camera and perturbs it the ways in which
video pose estimators differ from Kinect, then produces the same
:class:`~actscope.pose.features.BodyFeatures` tensor that inference uses:

- a random view: turn about the pelvis (yaw, pitch, roll), move the camera nearer or further,
  project through a pinhole (2D models);
- joint definitions: hips moved along the torso (Kinect's hips sit far higher than COCO's)
  and the head moved, by random amounts;
- mirroring (left and right swapped, x negated): webcams and some datasets mirror video;
- time: frames dropped (estimators skip frames they fail on) and ends cropped;
- keypoint quality: Gaussian noise and coarse quantisation (heat-map peaks);
- per-frame rescaling by shoulder width, and a hidden trajectory, as some sources deliver;
- proportions (``bone_scale``, off by default): each limb bone lengthened or shortened;
- missing joints: legs out of view (a person at a desk or close to a webcam) or scattered
  joints the estimator lost, for some frames or the whole clip (score 0, as inference sees
  them), and scores spread between ``min_score`` and 1 as an estimator's confidences are
  (Kinect's are all 1).

Randomness comes from numpy's global generator, which the training engine seeds per sample,
so a resumed run repeats it exactly.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import torch

from actscope.pose.features import NECK, BodyFeatures, body_coords, project
from actscope.pose.layouts import BODY15
from actscope.pose.skeleton import Skeleton

_PELVIS = BODY15.index("pelvis")
_HEAD = BODY15.index("head")
_HIPS = [BODY15.index("left_hip"), BODY15.index("right_hip")]
_LEGS = [
    BODY15.index(f"{side}_{joint}") for side in ("left", "right") for joint in ("knee", "ankle")
]
_SHOULDERS = (BODY15.index("left_shoulder"), BODY15.index("right_shoulder"))
_LIMB_CHAINS = tuple(
    tuple(BODY15.index(f"{side}_{joint}") for joint in chain)
    for side in ("left", "right")
    for chain in (("shoulder", "elbow", "wrist"), ("hip", "knee", "ankle"))
)


@dataclass(frozen=True)
class RandomViewTransform:
    """Skeleton (3D world, or 2D) -> augmented ``BodyFeatures`` tensor ``(C, T, 15, M)``.

    Angles in radians, distances in metres, ``hip_shift``/``head_shift`` in torso lengths,
    ``noise``/``quantize`` in the features' limb units; probabilities in [0, 1].
    """

    features: BodyFeatures = field(default_factory=BodyFeatures)
    yaw: float = 0.6
    pitch: float = 0.2
    roll: float = 0.1
    distance: tuple[float, float] = (-0.8, 1.5)
    hip_shift: tuple[float, float] = (-0.1, 0.45)
    head_shift: float = 0.15
    mirror: float = 0.5
    drop: float = 0.3
    crop: float = 0.1
    noise: float = 0.05
    quantize: float = 0.2
    frame_scale: float = 0.5
    hide_trajectory: float = 0.5
    occlude: float = 0.3
    score_jitter: float = 0.5
    bone_scale: float = 0.0

    def __call__(self, skeleton: Skeleton) -> torch.Tensor:
        dims = self.features.dims
        world = skeleton.space == "world" and skeleton.channels == 3
        coords, scores = body_coords(skeleton, 3 if world else dims)
        if coords.shape[1] < 2:  # nothing moves: no view or time to vary
            return torch.from_numpy(
                self.features.from_coords(coords[..., :dims], scores, skeleton.fps)
            )
        coords = coords.copy()
        coords = self._scale_bones(coords)
        if world:
            coords = self._move_joints(self._turn(coords))
            if dims == 2:
                coords[..., 2] -= np.random.uniform(*self.distance)
                coords = project(coords)
        if np.random.random() < self.mirror:
            coords = coords[:, :, BODY15.flip_permutation] * _mirror_signs(coords.shape[-1])
            scores = scores[:, :, BODY15.flip_permutation]
        coords, scores = self._retime(coords, scores)
        if np.random.random() < self.occlude:
            coords, scores = self._hide(coords, scores)
        if np.random.random() < self.score_jitter:  # estimators' confidences, not Kinect's 1s
            low = self.features.min_score
            scores = np.where(scores > 0, np.random.uniform(low, 1.0, scores.shape), 0.0)
        out = self.features.from_coords(coords, scores, skeleton.fps)
        self._degrade(out)
        return torch.from_numpy(out)

    def _turn(self, coords: np.ndarray) -> np.ndarray:
        rotation = _rotation(
            np.random.uniform(-self.yaw, self.yaw),
            np.random.uniform(-self.pitch, self.pitch),
            np.random.uniform(-self.roll, self.roll),
        )
        centre = np.nanmean(coords[:, :, _PELVIS], axis=(0, 1))
        return (coords - centre) @ rotation.T + centre

    def _move_joints(self, coords: np.ndarray) -> np.ndarray:
        torso = coords[:, :, NECK] - coords[:, :, _PELVIS]  # (M, T, 3)
        shift = np.random.uniform(*self.hip_shift)
        coords[:, :, _HIPS] -= shift * torso[:, :, None]
        coords[:, :, _PELVIS] -= shift * torso
        coords[:, :, _HEAD] += np.random.uniform(-self.head_shift, self.head_shift) * torso
        return coords

    def _scale_bones(self, coords: np.ndarray) -> np.ndarray:
        """Each limb bone (upper arm, forearm, thigh, shank, each side) made longer or
        shorter by its own factor in ``1 ± bone_scale`` for the whole clip, the joints below
        it moving with it: people's proportions, and estimators' ideas of where a hip or a
        shoulder is, differ."""
        if not self.bone_scale:
            return coords
        out = coords.copy()
        for chain in _LIMB_CHAINS:
            offset = 0.0
            for parent, child in itertools.pairwise(chain):
                factor = np.random.uniform(1 - self.bone_scale, 1 + self.bone_scale)
                bone = np.nan_to_num(coords[:, :, child] - coords[:, :, parent])
                offset = offset + (factor - 1) * bone
                out[:, :, child] = coords[:, :, child] + offset
        return out

    def _retime(self, coords: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        frames = coords.shape[1]
        keep = np.random.random(frames) >= np.random.uniform(0, self.drop)
        keep[[0, -1]] = True
        start = int(np.random.uniform(0, self.crop) * frames)
        stop = frames - int(np.random.uniform(0, self.crop) * frames)
        keep[:start] = keep[stop:] = False
        if keep.sum() < 2:
            return coords, scores
        return coords[:, keep], scores[:, keep]

    def _hide(self, coords: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mark joints missing (NaN, score 0): the legs, with the hips half of the time, or
        about one joint in eight; over the whole clip or a random stretch of it."""
        if np.random.random() < 0.5:
            joints = _LEGS + ([*_HIPS, _PELVIS] if np.random.random() < 0.5 else [])
        else:
            lost = np.random.random(len(BODY15.joints)) < 0.125
            lost[NECK] = False  # the reference of every other joint; kept, as estimators do
            joints = list(np.flatnonzero(lost))
        frames = coords.shape[1]
        start, stop = 0, frames
        if np.random.random() < 0.5:
            start = np.random.randint(0, frames)
            stop = np.random.randint(start + 1, frames + 1)
        coords, scores = coords.copy(), scores.copy()
        coords[:, start:stop, joints] = np.nan
        scores[:, start:stop, joints] = 0.0
        return coords, scores

    def _degrade(self, out: np.ndarray) -> None:
        """In place on ``(C, T, V, M)``: noise, quantisation, shoulder rescaling, no path."""
        dims = self.features.dims
        xyz, present = out[:dims], out[dims:] > 0
        xyz += np.random.normal(0, np.random.uniform(0, self.noise), xyz.shape) * present
        step = np.random.uniform(0, self.quantize)
        if step > 0.02:
            xyz[:] = np.round(xyz / step) * step
        if np.random.random() < self.frame_scale:
            left, right = _SHOULDERS
            width = np.linalg.norm(xyz[:, :, left] - xyz[:, :, right], axis=0)  # (T, M)
            reference = np.median(width, axis=0)
            factor = reference / np.maximum(width, 0.5 * reference + 1e-6)
            neck_path = xyz[:, :, NECK].copy()
            xyz *= factor[None, :, None, :]
            xyz[:, :, NECK] = neck_path
        if np.random.random() < self.hide_trajectory:
            xyz[:, :, NECK] = 0.0
        xyz *= present


def _mirror_signs(channels: int) -> np.ndarray:
    return np.array([-1.0, 1.0, 1.0][:channels], np.float32)


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """``(3, 3)`` rotation: yaw about y (vertical), then pitch about x, then roll about z."""
    cy, sy, cp, sp, cr, sr = (
        np.cos(yaw),
        np.sin(yaw),
        np.cos(pitch),
        np.sin(pitch),
        np.cos(roll),
        np.sin(roll),
    )
    about_y = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    about_x = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    about_z = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return (about_z @ about_x @ about_y).astype(np.float32)
