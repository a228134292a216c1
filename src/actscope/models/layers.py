"""Layers shared by the 3D CNN families (X3D, SlowFast, I3D).

All of them are ResNet-style networks over ``(N, C, T, H, W)`` clips: a stem, four stages of
bottleneck blocks, a head. :class:`Bottleneck3d` covers both block flavours used here:

* ResNet (I3D, SlowFast): ``T x 1 x 1`` conv -> ``1 x 3 x 3`` conv -> ``1 x 1 x 1`` conv, ReLU;
* X3D: ``1 x 1 x 1`` conv -> channel-wise ``3 x 3 x 3`` conv (+ squeeze-excitation, Swish) ->
  ``1 x 1 x 1`` conv.

Batch-norm momentum and epsilon follow PySlowFast (0.1, 1e-5), so published checkpoints behave
the same here.
"""

from __future__ import annotations

import math

import torch
from torch import nn

BN_EPS = 1e-5
BN_MOMENTUM = 0.1


def round_width(width: float, multiplier: float, min_width: int = 1, divisor: int = 1) -> int:
    """Channel count ``width * multiplier`` rounded to a multiple of ``divisor``, at least
    ``min_width``; never rounded down by more than 10% (the X3D width rule)."""
    width *= multiplier
    rounded = max(min_width, int(width + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * width:
        rounded += divisor
    return int(rounded)


def round_repeats(repeats: int, multiplier: float) -> int:
    """Block count ``repeats * multiplier`` rounded up (the X3D depth rule)."""
    return math.ceil(multiplier * repeats)


def batch_norm(channels: int) -> nn.BatchNorm3d:
    return nn.BatchNorm3d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class SqueezeExcite3d(nn.Module):
    """Squeeze-and-excitation: scale each channel by a gate computed from the clip's mean."""

    def __init__(self, channels: int, reduced: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv3d(channels, reduced, 1)
        self.fc2 = nn.Conv3d(reduced, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = x.mean(dim=(2, 3, 4), keepdim=True)
        gate = torch.sigmoid(self.fc2(torch.relu(self.fc1(gate))))
        return x * gate


class Shortcut3d(nn.Module):
    """Projection shortcut: ``1 x 1 x 1`` conv with a spatial stride, then batch norm."""

    def __init__(self, dim_in: int, dim_out: int, spatial_stride: int) -> None:
        super().__init__()
        self.conv = nn.Conv3d(
            dim_in, dim_out, 1, stride=(1, spatial_stride, spatial_stride), bias=False
        )
        self.bn = batch_norm(dim_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class Bottleneck3d(nn.Module):
    """Residual bottleneck block ``(N, dim_in, T, H, W) -> (N, dim_out, T, H/s, W/s)``.

    ``kernel_a`` is the temporal size of the first conv (ResNet: 1 or 3; X3D: 1),
    ``kernel_b`` the temporal size of the middle ``3 x 3`` conv (ResNet: 1; X3D: 3),
    ``groups_b`` its groups (X3D: ``dim_inner``, i.e. channel-wise). The spatial stride
    ``s`` sits on the middle conv. ``se_channels > 0`` adds squeeze-excitation after the
    middle conv's batch norm; ``swish`` replaces the middle ReLU by Swish (SiLU).
    """

    def __init__(
        self,
        dim_in: int,
        dim_inner: int,
        dim_out: int,
        *,
        spatial_stride: int = 1,
        kernel_a: int = 1,
        kernel_b: int = 1,
        groups_b: int = 1,
        se_channels: int = 0,
        swish: bool = False,
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv3d(
            dim_in, dim_inner, (kernel_a, 1, 1), padding=(kernel_a // 2, 0, 0), bias=False
        )
        self.bn1 = batch_norm(dim_inner)
        self.conv2 = nn.Conv3d(
            dim_inner,
            dim_inner,
            (kernel_b, 3, 3),
            stride=(1, spatial_stride, spatial_stride),
            padding=(kernel_b // 2, 1, 1),
            groups=groups_b,
            bias=False,
        )
        self.bn2 = batch_norm(dim_inner)
        self.se = SqueezeExcite3d(dim_inner, se_channels) if se_channels > 0 else None
        self.act2 = nn.SiLU() if swish else nn.ReLU(inplace=True)
        self.conv3 = nn.Conv3d(dim_inner, dim_out, 1, bias=False)
        self.bn3 = batch_norm(dim_out)
        needs_projection = dim_in != dim_out or spatial_stride != 1
        self.shortcut = Shortcut3d(dim_in, dim_out, spatial_stride) if needs_projection else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.se is not None:
            out = self.se(out)
        out = self.bn3(self.conv3(self.act2(out)))
        identity = x if self.shortcut is None else self.shortcut(x)
        return torch.relu(out + identity)


class ResNetStem3d(nn.Module):
    """ResNet stem: ``t x 7 x 7`` conv (spatial stride 2), BN, ReLU, ``1 x 3 x 3`` max pool
    (stride 2): ``(N, C, T, H, W) -> (N, dim_out, T, H/4, W/4)``."""

    def __init__(self, dim_in: int, dim_out: int, temporal_kernel: int) -> None:
        super().__init__()
        self.conv = nn.Conv3d(
            dim_in,
            dim_out,
            (temporal_kernel, 7, 7),
            stride=(1, 2, 2),
            padding=(temporal_kernel // 2, 3, 3),
            bias=False,
        )
        self.bn = batch_norm(dim_out)
        self.pool = nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(torch.relu(self.bn(self.conv(x))))


def resnet_stage(
    dim_in: int,
    dim_inner: int,
    dim_out: int,
    temporal_kernels: list[int],
    spatial_stride: int,
) -> nn.Sequential:
    """A ResNet stage: one :class:`Bottleneck3d` per entry of ``temporal_kernels`` (the
    temporal size of each block's first conv); the first block carries the stride."""
    blocks = [
        Bottleneck3d(
            dim_in if i == 0 else dim_out,
            dim_inner,
            dim_out,
            spatial_stride=spatial_stride if i == 0 else 1,
            kernel_a=kernel,
        )
        for i, kernel in enumerate(temporal_kernels)
    ]
    return nn.Sequential(*blocks)


def cycle_kernels(pattern: list[int], depth: int) -> list[int]:
    """Repeat ``pattern`` to ``depth`` entries: ``([3, 1], 4) -> [3, 1, 3, 1]``."""
    return (pattern * depth)[:depth]
