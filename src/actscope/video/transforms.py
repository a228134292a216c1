"""Turning decoded frames into model input.

Every transform is a callable on a clip tensor and composes with :class:`Compose`. Clips are
``(C, T, H, W)`` tensors (uint8 or float); :class:`ThreeCrop` adds a leading view axis,
``(V, C, T, H, W)``, which the transforms after it carry through. Resizing and cropping use
``torchvision.transforms.v2.functional``, which works on any leading dimensions.

Typical test-time pipeline for a Kinetics model::

    transform = Compose([ToTensor(), ResizeShortSide(256), CenterCrop(224),
                         Normalize(KINETICS_MEAN, KINETICS_STD)])
    clip = transform(read_video(path, UniformSampler(16)).frames)   # (3, 16, 224, 224)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torchvision.transforms.v2 import functional as F

KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
KINETICS_STD = (0.22803, 0.22145, 0.216989)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

ClipTransform = Callable[[torch.Tensor], torch.Tensor]


class Compose:
    """Apply ``transforms`` in order."""

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = list(transforms)

    def __call__(self, clip):
        for transform in self.transforms:
            clip = transform(clip)
        return clip

    def __repr__(self) -> str:
        inner = ", ".join(repr(t) for t in self.transforms)
        return f"Compose([{inner}])"


class ToTensor:
    """RGB uint8 frames ``(T, H, W, 3)`` (numpy or torch) -> float ``(C, T, H, W)`` in [0, 1]."""

    def __call__(self, frames: np.ndarray | torch.Tensor) -> torch.Tensor:
        clip = torch.as_tensor(np.asarray(frames) if isinstance(frames, np.ndarray) else frames)
        if clip.ndim != 4 or clip.shape[-1] != 3:
            raise ValueError(f"expected frames of shape (T, H, W, 3), got {tuple(clip.shape)}")
        return clip.permute(3, 0, 1, 2).float().div_(255.0)

    def __repr__(self) -> str:
        return "ToTensor()"


class ResizeShortSide:
    """Resize so the shorter spatial side is ``size`` pixels, keeping the aspect ratio."""

    def __init__(self, size: int, antialias: bool = True) -> None:
        self.size = size
        self.antialias = antialias

    def __call__(self, clip: torch.Tensor) -> torch.Tensor:
        height, width = clip.shape[-2:]
        scale = self.size / min(height, width)
        target = [max(1, round(height * scale)), max(1, round(width * scale))]
        if target == [height, width]:
            return clip
        return F.resize(clip, target, antialias=self.antialias)

    def __repr__(self) -> str:
        return f"ResizeShortSide({self.size})"


class CenterCrop:
    """Crop the central ``size`` x ``size`` (or ``(height, width)``) region."""

    def __init__(self, size: int | tuple[int, int]) -> None:
        self.size = (size, size) if isinstance(size, int) else tuple(size)

    def __call__(self, clip: torch.Tensor) -> torch.Tensor:
        return F.center_crop(clip, list(self.size))

    def __repr__(self) -> str:
        return f"CenterCrop({self.size})"


class ThreeCrop:
    """Three ``size`` x ``size`` crops along the longer side (start, centre, end).

    The spatial half of the field's "num_clips x 3 crops" multi-view test. Input
    ``(C, T, H, W)`` with the shorter side already resized to ``size``; output
    ``(3, C, T, size, size)``.
    """

    def __init__(self, size: int) -> None:
        self.size = size

    def __call__(self, clip: torch.Tensor) -> torch.Tensor:
        height, width = clip.shape[-2:]
        if min(height, width) < self.size:
            raise ValueError(f"clip of {height}x{width} is smaller than the {self.size} crop")
        if width >= height:
            offsets = _three_offsets(width, self.size)
            crops = [
                F.crop(clip, (height - self.size) // 2, x, self.size, self.size) for x in offsets
            ]
        else:
            offsets = _three_offsets(height, self.size)
            crops = [
                F.crop(clip, y, (width - self.size) // 2, self.size, self.size) for y in offsets
            ]
        return torch.stack(crops)

    def __repr__(self) -> str:
        return f"ThreeCrop({self.size})"


def _three_offsets(length: int, size: int) -> tuple[int, int, int]:
    return 0, (length - size) // 2, length - size


class Normalize:
    """Subtract ``mean`` and divide by ``std`` per channel; channels on axis -4 (``C`` of CTHW)."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        self.mean = torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(-1, 1, 1, 1)

    def __call__(self, clip: torch.Tensor) -> torch.Tensor:
        if not clip.is_floating_point():
            raise TypeError("Normalize expects a float clip; put ToTensor() before it")
        return (clip - self.mean) / self.std

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.flatten().tolist()}, std={self.std.flatten().tolist()})"
