"""ST-GCN++ (Duan et al., "PYSKL: Towards Good Practices for Skeleton Action Recognition",
ACM MM 2022): ST-GCN with a learnable adjacency and a multi-scale temporal convolution.

Each block is a graph convolution whose adjacency starts from the graph's spatial partition
and is learned freely (not masked), with its own residual, then a multi-branch temporal
convolution (3-frame kernels dilated 1-4, a max-pool branch and a 1x1 branch) and the block
residual. The paper reports it on par with CTR-GCN on NTU RGB+D at a fraction of its cost,
which is what matters on a CPU. ``stgcnpp`` is the published size (10 blocks, 64-128-256);
``stgcnpp_lite`` halves the widths and has 6 blocks, for CPU latency. Convolutions are
written as matrix products over channels-last memory (:class:`Pointwise`,
:class:`TemporalConv`): the same functions, faster on a CPU.
Input ``(N, C, T, V, M)``, output logits ``(N, num_classes)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from actscope.models.graph import GraphLike, SkeletonGraph, resolve_graph
from actscope.models.registry import register_model
from actscope.models.streams import BlockGraphNet
from actscope.pose.features import BodyFeatures

STGCNPP_CHANNELS = (64, 64, 64, 64, 128, 128, 128, 256, 256, 256)
LITE_CHANNELS = (32, 32, 64, 64, 128, 128)
DILATIONS = (1, 2, 3, 4)


class Pointwise(nn.Module):
    """1x1 convolution ``(N, C_in, T, V) -> (N, C_out, T / stride, V)`` computed as a matrix
    product over channels-last memory.

    PyTorch sends batch-1, single-thread 1x1 convolutions to a slow generic kernel; a matrix
    product over the ``(N, T, V, C)`` view takes the fast path at every batch size and needs no
    copy. Parameters are those of the convolution (weight ``(C_out, C_in)``, bias).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.linear = nn.Linear(in_channels, out_channels)
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride]
        return self.linear(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class TemporalConv(nn.Module):
    """Convolution over time ``(N, C_in, T, V) -> (N, C_out, T / stride, V)`` with a
    ``kernel``-frame window, ``dilation`` and zero padding that keeps ``T`` at stride 1;
    computed, like :class:`Pointwise`, as one matrix product over the stacked frames."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: int = 3,
        stride: int = 1,
        dilation: int = 1,
    ) -> None:
        super().__init__()
        self.linear = nn.Linear(in_channels * kernel, out_channels)
        self.kernel, self.stride, self.dilation = kernel, stride, dilation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x.shape[2]
        pad = self.dilation * (self.kernel - 1) // 2
        frames = F.pad(x.permute(0, 2, 3, 1), (0, 0, 0, 0, pad, pad))  # (N, T + 2 pad, V, C)
        span = (t - 1) // self.stride * self.stride + 1
        taps = [
            frames[:, j * self.dilation : j * self.dilation + span : self.stride]
            for j in range(self.kernel)
        ]
        return self.linear(torch.cat(taps, dim=-1)).permute(0, 3, 1, 2)


class AdaptiveGraphConv(nn.Module):
    """Graph convolution ``(N, C_in, T, V) -> (N, C_out, T, V)`` over a learnable adjacency
    initialised from ``adjacency`` ``(K, V, V)``; BN, residual, ReLU."""

    def __init__(self, in_channels: int, out_channels: int, adjacency: torch.Tensor) -> None:
        super().__init__()
        self.parts = adjacency.shape[0]
        self.adjacency = nn.Parameter(adjacency.clone())
        self.conv = nn.Linear(in_channels, out_channels * self.parts)
        self.bn = nn.BatchNorm2d(out_channels)
        self.down = (
            nn.Identity()
            if in_channels == out_channels
            else nn.Sequential(Pointwise(in_channels, out_channels), nn.BatchNorm2d(out_channels))
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, t, v = x.shape
        y = self.conv(x.permute(0, 2, 3, 1))  # (N, T, V, K * C)
        # out[n, t, w] = sum over k, v of A[k, w, v] y[n, t, v, k]: one batched product with
        # the parts and joints of A flattened to match y's (V, K) order.
        mixing = self.adjacency.permute(1, 2, 0).reshape(v, v * self.parts)  # (W, V * K)
        y = torch.matmul(mixing, y.reshape(n * t, v * self.parts, -1))  # (N * T, W, C)
        y = y.view(n, t, v, -1).permute(0, 3, 1, 2)
        return self.relu(self.bn(y) + self.down(x))


class MultiScaleTemporalConv(nn.Module):
    """Temporal convolution ``(N, C_in, T, V) -> (N, C_out, T / stride, V)`` in six branches:
    3-frame convolutions with dilations 1-4, a 3-frame max pool and a strided 1x1; their
    concatenation is mixed by BN-ReLU-1x1 convolution-BN.

    The five branches that start with a 1x1 convolution, BN and ReLU share one wide
    convolution split by channels afterwards: the same function in one operation instead of
    five, which matters for single-sequence latency on a CPU.
    """

    def __init__(
        self, in_channels: int, out_channels: int, stride: int = 1, dropout: float = 0.0
    ) -> None:
        super().__init__()
        branches = len(DILATIONS) + 2
        widths = [out_channels // branches] * branches
        widths[0] += out_channels - sum(widths)
        self.widths = widths[:-1]
        self.squeeze = nn.Sequential(
            Pointwise(in_channels, sum(self.widths)),
            nn.BatchNorm2d(sum(self.widths)),
            nn.ReLU(inplace=True),
        )
        self.temporal = nn.ModuleList(
            TemporalConv(w, w, 3, stride, d)
            for w, d in zip(widths[: len(DILATIONS)], DILATIONS, strict=True)
        )
        self.pool = nn.MaxPool2d((3, 1), (stride, 1), padding=(1, 0))
        self.pointwise = Pointwise(in_channels, widths[-1], stride)
        self.mix = nn.Sequential(
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            Pointwise(out_channels, out_channels),
            nn.BatchNorm2d(out_channels),
            nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        *dilated, pooled = self.squeeze(x).split(self.widths, dim=1)
        outputs = [conv(part) for conv, part in zip(self.temporal, dilated, strict=True)]
        outputs += [self.pool(pooled), self.pointwise(x)]
        return self.mix(torch.cat(outputs, dim=1))


class STGCNPPBlock(nn.Module):
    """Adaptive graph convolution, multi-scale temporal convolution, residual, ReLU."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        adjacency: torch.Tensor,
        stride: int = 1,
        dropout: float = 0.0,
        residual: bool = True,
    ) -> None:
        super().__init__()
        self.gcn = AdaptiveGraphConv(in_channels, out_channels, adjacency)
        self.tcn = MultiScaleTemporalConv(out_channels, out_channels, stride, dropout)
        if not residual:
            self.residual: nn.Module | None = None
        elif in_channels == out_channels and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = nn.Sequential(
                Pointwise(in_channels, out_channels, stride), nn.BatchNorm2d(out_channels)
            )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.tcn(self.gcn(x))
        if self.residual is not None:
            y = y + self.residual(x)
        return self.relu(y)


class STGCNPlusPlus(BlockGraphNet):
    """ST-GCN++ over ``graph``: ``(N, C, T, V, M)`` -> logits ``(N, num_classes)``.

    ``channels`` lists each block's width; time is halved where the width grows.
    ``dropout`` applies inside the blocks' temporal convolutions, ``head_dropout`` before the
    classifier.
    """

    def __init__(
        self,
        num_classes: int,
        graph: SkeletonGraph,
        in_channels: int = 3,
        channels: Sequence[int] = STGCNPP_CHANNELS,
        dropout: float = 0.0,
        head_dropout: float = 0.0,
        stream: str = "joint",
        score_channel: int | None = None,
    ) -> None:
        super().__init__(
            graph,
            in_channels,
            channels,
            STGCNPPBlock,
            stream,
            score_channel,
            channels_last=True,
            dropout=dropout,
        )
        self.head = nn.Sequential(nn.Dropout(head_dropout), nn.Linear(self.width, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@register_model("stgcnpp", family="skeleton", input=BodyFeatures(frames=64))
def stgcnpp(*, num_classes: int, graph: GraphLike = None, **kwargs: Any) -> STGCNPlusPlus:
    """ST-GCN++ (Duan et al. 2022), published size: 10 blocks, 64-128-256.

    ``kwargs`` are :class:`STGCNPlusPlus`'s (``in_channels``, ``channels``, ``dropout``,
    ``head_dropout``, ``stream``, ``score_channel``)."""
    return STGCNPlusPlus(num_classes, resolve_graph(graph), **kwargs)


@register_model("stgcnpp_lite", family="skeleton", input=BodyFeatures(frames=64))
def stgcnpp_lite(*, num_classes: int, graph: GraphLike = None, **kwargs: Any) -> STGCNPlusPlus:
    """ST-GCN++ narrowed for the CPU: 6 blocks, 32-64-128, about a sixth of the FLOPs."""
    kwargs.setdefault("channels", LITE_CHANNELS)
    return STGCNPlusPlus(num_classes, resolve_graph(graph), **kwargs)
