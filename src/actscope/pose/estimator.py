"""The pose estimator interface: what an estimator returns for one image, and what it must
offer. Estimators (:class:`actscope.pose.MediaPipePose`, or a user's own) implement it; the
frame loop of :mod:`actscope.pose.estimate` drives them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass
class PoseFrame:
    """People found in one image.

    ``keypoints`` ``(P, V, 2)`` in pixels of that image (x right, y down); ``scores``
    ``(P, V)`` in [0, 1]; ``world`` ``(P, V, 3)`` in metres in the estimator's world axes and
    ``world_scores`` ``(P, V)``, or ``None`` when the estimator gives no 3D. P may be 0.
    """

    keypoints: np.ndarray
    scores: np.ndarray
    world: np.ndarray | None = None
    world_scores: np.ndarray | None = None

    @property
    def num_people(self) -> int:
        return len(self.keypoints)


@runtime_checkable
class PoseEstimator(Protocol):
    """What :func:`extract_poses` needs from a pose estimator.

    ``layout`` names the joint layout of its keypoints; ``has_world`` says whether it gives
    3D world keypoints. Estimators that return several people must keep each person in the
    same slot from frame to frame (slot ``p`` becomes person ``p`` of the track).
    """

    name: str
    layout: str
    has_world: bool

    def estimate(self, image: np.ndarray) -> PoseFrame:
        """People in ``image`` (RGB uint8 ``(H, W, 3)``), frames given in temporal order."""
        ...

    def reset(self) -> None:
        """Forget tracking state before a new video."""
        ...

    def close(self) -> None:
        """Release the estimator's resources."""
        ...


Estimators = PoseEstimator | Sequence[PoseEstimator]
"""One estimator, or several of the same kind (one per worker thread)."""
