"""Training transform for models trained and used on one sensor: the body seen at other
angles, in other proportions, for other stretches of the action.

Where :class:`~actscope.datasets.view_augment.RandomViewTransform` imitates a change of
sensor and pose estimator, this one only varies what differs between people and takes on
the same sensor: a random stretch of the sequence is kept (the action's start and end vary),
then the :class:`~actscope.pose.features.BodyFeatures` tensor is rotated, scaled per axis,
sheared and, optionally, given noise and dropped joints, with the transforms of
:mod:`actscope.datasets.skeleton_augment`. With ``normalize="torso"`` features every frame
is centred on the pelvis, so rotation and scaling act about the body.

Randomness comes from numpy's and torch's global generators, which the training engine seeds
per sample, so a resumed run repeats it exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from actscope.datasets.skeleton_augment import (
    Compose,
    GaussianNoise,
    JointDropout,
    RandomRotation,
    RandomScale,
    RandomShear,
)
from actscope.errors import ConfigError
from actscope.pose.features import BodyFeatures
from actscope.pose.skeleton import Skeleton


@dataclass(frozen=True)
class RandomGeometricTransform:
    """Skeleton -> augmented ``BodyFeatures`` tensor ``(C, T, V, M)``.

    ``crop``: range of the fraction of frames kept (a random stretch); ``rotate``: limits in
    degrees about the x, y (vertical) and z axes (2D features turn in the image plane by the
    z limit); ``scale``: range of a factor drawn per axis; ``shear``: limit of the
    off-diagonal terms; ``noise``: standard deviation in the features' units (torso lengths
    for ``normalize="torso"``); ``joint_dropout``: probability that a joint is missing for
    the whole clip.
    """

    features: BodyFeatures = field(default_factory=BodyFeatures)
    crop: tuple[float, float] = (0.8, 1.0)
    rotate: tuple[float, float, float] = (10.0, 35.0, 10.0)
    scale: tuple[float, float] = (0.85, 1.15)
    shear: float = 0.2
    noise: float = 0.0
    joint_dropout: float = 0.0

    def __post_init__(self) -> None:
        if not 0 < self.crop[0] <= self.crop[1] <= 1:
            raise ConfigError(f"crop must satisfy 0 < low <= high <= 1, got {self.crop}")
        if len(self.rotate) != 3:
            raise ConfigError(f"rotate takes three limits in degrees (x, y, z), got {self.rotate}")

    def __call__(self, skeleton: Skeleton) -> torch.Tensor:
        return self.geometry()(self.features(self.random_stretch(skeleton)))

    def random_stretch(self, skeleton: Skeleton) -> Skeleton:
        """A random run of ``crop`` of ``skeleton``'s frames (at least 2)."""
        frames = skeleton.num_frames
        keep = min(frames, max(2, round(np.random.uniform(*self.crop) * frames)))
        start = np.random.randint(0, frames - keep + 1)
        return skeleton.frames(start, start + keep)

    def geometry(self) -> Compose:
        """The coordinate transforms, on the features tensor."""
        dims = self.features.dims
        steps = [
            RandomRotation(self.rotate if dims == 3 else self.rotate[2], ndim=dims),
            RandomScale(tuple(self.scale), per_axis=True, ndim=dims),
        ]
        if self.shear:
            steps.append(RandomShear(self.shear, ndim=dims))
        if self.noise:
            steps.append(GaussianNoise(self.noise, ndim=dims))
        if self.joint_dropout:
            steps.append(JointDropout(self.joint_dropout, ndim=dims))
        return Compose(steps)
