"""Random augmentations of skeleton sequences for training.

Every transform is a callable ``transform(x, generator=None)`` on one sequence ``x``, a torch
tensor ``(C, T, V, M)`` (channels, frames, joints, people: a model's input without the batch
dimension), returning a new tensor. The first ``ndim`` channels (2 or 3) are coordinates;
a further channel, if present, is the joint's confidence score. Randomness comes only from
``generator`` (a ``torch.Generator``; ``None`` uses torch's global one), so a seeded
generator reproduces a run exactly. :class:`Compose` chains transforms.

Missing joints are NaN coordinates, or, when there is a score channel, a score of 0 (with any
coordinates, usually zeros). No transform turns a missing joint into a present one: the
geometric ones (rotation, scale, shear, noise) leave missing joints exactly as they came,
and the ones that create missing joints (joint dropout, frames resampled from a missing
frame) write NaN coordinates, or zero coordinates with score 0 when there is a score
channel. :class:`FillMissing` turns NaN into zeros as the last step before a model.

Rotation, scaling and shear act about the origin: centre the skeleton (e.g. on the pelvis)
first.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

from actscope.errors import ConfigError, DatasetError

Transform = Callable[..., torch.Tensor]


def _check(x: torch.Tensor, ndim: int) -> None:
    if x.dim() != 4 or x.shape[0] not in (ndim, ndim + 1):
        raise DatasetError(
            f"expected a skeleton tensor (C, T, V, M) with C = {ndim} coordinates "
            f"(+1 optional score), got shape {tuple(x.shape)}; set ndim= to match the data"
        )


def _check_ndim(ndim: int) -> None:
    if ndim not in (2, 3):
        raise ConfigError(f"ndim must be 2 or 3 coordinates, got {ndim}")


def missing_mask(x: torch.Tensor, ndim: int = 3) -> torch.Tensor:
    """``(T, V, M)`` bool: joints with a NaN coordinate or, with a score channel, score 0."""
    _check(x, ndim)
    missing = torch.isnan(x[:ndim]).any(0)
    if x.shape[0] > ndim:
        missing |= x[ndim] == 0
    return missing


def _mark_missing(x: torch.Tensor, mask: torch.Tensor, ndim: int) -> torch.Tensor:
    """``x`` with the joints in ``mask`` ``(T, V, M)`` written as missing."""
    out = x.clone()
    if x.shape[0] > ndim:
        out[:, mask] = 0.0
    else:
        out[:ndim, mask] = float("nan")
    return out


def _uniform(low: float, high: float, size: Sequence[int], generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(size, generator=generator, dtype=torch.float64)


class _Linear:
    """Base of transforms that multiply the coordinates by a random matrix."""

    def __init__(self, ndim: int) -> None:
        _check_ndim(ndim)
        self.ndim = ndim

    def matrix(self, generator: torch.Generator | None) -> torch.Tensor:
        raise NotImplementedError

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        _check(x, self.ndim)
        matrix = self.matrix(generator).to(x.dtype)
        out = x.clone()
        out[: self.ndim] = torch.einsum("ij,jtvm->itvm", matrix, x[: self.ndim])
        missing = missing_mask(x, self.ndim)
        out[:, missing] = x[:, missing]
        return out


class RandomRotation(_Linear):
    """Rotate about the origin by random angles.

    3D (``ndim=3``): about the x, y and z axes by angles drawn uniformly from
    ``±degrees[0]``, ``±degrees[1]``, ``±degrees[2]`` (one number: the same for all three),
    applied x first, then y, then z. 2D (``ndim=2``): in the image plane by ``±degrees``.
    """

    def __init__(self, degrees: float | Sequence[float] = 15.0, ndim: int = 3) -> None:
        super().__init__(ndim)
        axes = 3 if ndim == 3 else 1
        limits = [degrees] * axes if isinstance(degrees, (int, float)) else list(degrees)
        if len(limits) != axes:
            raise ConfigError(f"give one angle limit, or three for 3D data; got {degrees}")
        self.limits = [math.radians(float(d)) for d in limits]

    def matrix(self, generator: torch.Generator | None) -> torch.Tensor:
        angles = [float(_uniform(-lim, lim, (1,), generator)) for lim in self.limits]
        if self.ndim == 2:
            c, s = math.cos(angles[0]), math.sin(angles[0])
            return torch.tensor([[c, -s], [s, c]], dtype=torch.float64)
        ax, ay, az = angles
        return _rotation(az, 2) @ _rotation(ay, 1) @ _rotation(ax, 0)


def _rotation(angle: float, axis: int) -> torch.Tensor:
    """3x3 right-handed rotation by ``angle`` radians about axis ``axis`` (0 = x, 1 = y,
    2 = z)."""
    c, s = math.cos(angle), math.sin(angle)
    matrix = torch.eye(3, dtype=torch.float64)
    i, j = [(1, 2), (2, 0), (0, 1)][axis]  # the plane turned, in right-handed order
    matrix[i, i], matrix[i, j], matrix[j, i], matrix[j, j] = c, -s, s, c
    return matrix


class RandomScale(_Linear):
    """Scale the coordinates by a factor drawn uniformly from ``scale`` ``(low, high)``; one
    factor for all axes, or one per axis with ``per_axis=True``."""

    def __init__(
        self, scale: tuple[float, float] = (0.9, 1.1), per_axis: bool = False, ndim: int = 3
    ) -> None:
        super().__init__(ndim)
        if not 0 < scale[0] <= scale[1]:
            raise ConfigError(f"scale range must satisfy 0 < low <= high, got {scale}")
        self.scale = scale
        self.per_axis = per_axis

    def matrix(self, generator: torch.Generator | None) -> torch.Tensor:
        factors = _uniform(*self.scale, (self.ndim if self.per_axis else 1,), generator)
        return torch.diag(factors.expand(self.ndim))


class RandomShear(_Linear):
    """Shear: multiply by the identity plus off-diagonal terms drawn from ``±magnitude``."""

    def __init__(self, magnitude: float = 0.2, ndim: int = 3) -> None:
        super().__init__(ndim)
        if magnitude < 0:
            raise ConfigError(f"shear magnitude must be >= 0, got {magnitude}")
        self.magnitude = magnitude

    def matrix(self, generator: torch.Generator | None) -> torch.Tensor:
        shear = _uniform(-self.magnitude, self.magnitude, (self.ndim, self.ndim), generator)
        return torch.eye(self.ndim, dtype=torch.float64) + shear * (1 - torch.eye(self.ndim))


class RandomFlip:
    """With probability ``p``, mirror the first axis (x) and swap left and right joints by
    ``permutation`` (e.g. ``Layout.flip_permutation`` of :mod:`actscope.pose.layouts`).

    Only for classes that stay the same in a mirror: it turns "right hand wave" into a
    left-hand wave.
    """

    def __init__(self, permutation: Sequence[int], p: float = 0.5, ndim: int = 3) -> None:
        _check_ndim(ndim)
        if sorted(permutation) != list(range(len(permutation))):
            raise ConfigError("the flip permutation must list every joint index once")
        self.permutation = torch.as_tensor(permutation)
        self.p = p
        self.ndim = ndim

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        _check(x, self.ndim)
        if x.shape[2] != len(self.permutation):
            raise DatasetError(
                f"the flip permutation has {len(self.permutation)} joints, the data {x.shape[2]}"
            )
        if float(torch.rand(1, generator=generator)) >= self.p:
            return x.clone()
        out = x[:, :, self.permutation].clone()
        out[0] = -out[0]
        return out


class TemporalCrop:
    """Crop a random window of ``ratio`` (drawn uniformly from ``(low, high)``) of the frames
    and resample it linearly to ``length`` frames: ``(C, T, V, M) -> (C, length, V, M)``.

    ``ratio=(1.0, 1.0)`` resamples the whole sequence (deterministic, for evaluation; see
    :func:`resample`). A resampled joint is missing when a frame it is interpolated from
    (with non-zero weight) has it missing.
    """

    def __init__(self, length: int, ratio: tuple[float, float] = (0.8, 1.0), ndim: int = 3) -> None:
        _check_ndim(ndim)
        if length < 1:
            raise ConfigError(f"length must be at least 1 frame, got {length}")
        if not 0 < ratio[0] <= ratio[1] <= 1:
            raise ConfigError(f"crop ratio must satisfy 0 < low <= high <= 1, got {ratio}")
        self.length = length
        self.ratio = ratio
        self.ndim = ndim

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        _check(x, self.ndim)
        frames = x.shape[1]
        ratio = float(_uniform(*self.ratio, (1,), generator))
        size = min(frames, max(1, round(ratio * frames)))
        start = int(torch.randint(0, frames - size + 1, (1,), generator=generator))
        return resample(x[:, start : start + size], self.length, self.ndim)


def resample(x: torch.Tensor, length: int, ndim: int = 3) -> torch.Tensor:
    """Linearly resample ``x`` ``(C, T, V, M)`` to ``(C, length, V, M)``, first and last
    frames kept; joints interpolated from a frame where they are missing come out missing."""
    _check(x, ndim)
    frames = x.shape[1]
    positions = torch.linspace(0, frames - 1, length, dtype=torch.float64)
    low = positions.floor().long().clamp(max=frames - 1)
    high = (low + 1).clamp(max=frames - 1)
    weight = (positions - low).to(x.dtype).view(1, -1, 1, 1)
    missing = missing_mask(x, ndim)
    clean = torch.nan_to_num(x, nan=0.0)
    out = clean[:, low] * (1 - weight) + clean[:, high] * weight
    uses_high = (positions - low > 0).view(-1, 1, 1)
    gone = missing[low] | (missing[high] & uses_high)
    return _mark_missing(out, gone, ndim)


class JointDropout:
    """Mark each joint of each person missing with probability ``p``: for the whole sequence,
    or frame by frame with ``per_frame=True``."""

    def __init__(self, p: float = 0.05, per_frame: bool = False, ndim: int = 3) -> None:
        _check_ndim(ndim)
        if not 0 <= p <= 1:
            raise ConfigError(f"dropout probability must be in [0, 1], got {p}")
        self.p = p
        self.per_frame = per_frame
        self.ndim = ndim

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        _check(x, self.ndim)
        _, t, v, m = x.shape
        drop = torch.rand((t if self.per_frame else 1, v, m), generator=generator) < self.p
        drop = drop.expand(t, v, m) & ~missing_mask(x, self.ndim)
        return _mark_missing(x, drop, self.ndim)


class GaussianNoise:
    """Add independent Gaussian noise of standard deviation ``std`` (coordinate units) to
    every coordinate of every present joint."""

    def __init__(self, std: float = 0.01, ndim: int = 3) -> None:
        _check_ndim(ndim)
        if std < 0:
            raise ConfigError(f"noise std must be >= 0, got {std}")
        self.std = std
        self.ndim = ndim

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        _check(x, self.ndim)
        noise = torch.randn(x[: self.ndim].shape, generator=generator, dtype=x.dtype)
        noise = noise * self.std * ~missing_mask(x, self.ndim)
        out = x.clone()
        out[: self.ndim] = x[: self.ndim] + noise
        return out


class FillMissing:
    """Replace NaN coordinates with ``value`` (0 by default), the input models expect; the
    score channel, if any, is left as it is."""

    def __init__(self, value: float = 0.0) -> None:
        self.value = value

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.nan_to_num(x, nan=self.value)


class Compose:
    """Apply ``transforms`` in order, each drawing from the same ``generator``."""

    def __init__(self, transforms: Sequence[Transform]) -> None:
        self.transforms = list(transforms)

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        for transform in self.transforms:
            x = transform(x, generator=generator)
        return x

    def __repr__(self) -> str:
        inner = ", ".join(type(t).__name__ for t in self.transforms)
        return f"Compose([{inner}])"


def default_train_augment(length: int, ndim: int = 3) -> Compose:
    """A reasonable training pipeline: crop 70-100% of the frames to ``length``, rotate
    (±15° about each axis in 3D, in-plane in 2D), scale 0.9-1.1 per axis, shear ±0.1, noise
    of std 0.005, drop 2% of joints, fill missing with zeros."""
    return Compose(
        [
            TemporalCrop(length, (0.7, 1.0), ndim=ndim),
            RandomRotation(15.0, ndim=ndim),
            RandomScale((0.9, 1.1), per_axis=True, ndim=ndim),
            RandomShear(0.1, ndim=ndim),
            GaussianNoise(0.005, ndim=ndim),
            JointDropout(0.02, ndim=ndim),
            FillMissing(),
        ]
    )
