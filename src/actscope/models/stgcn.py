"""ST-GCN (Yan, Xiong and Lin, AAAI 2018): the reference baseline of skeleton models.

Ten blocks of a spatial graph convolution over the skeleton (ST-GCN's three-part spatial
partition with learnable edge importance) followed by a 9-frame temporal convolution, with
residual connections; global average pooling over time, joints and people; a linear
classifier. Input ``(N, C, T, V, M)``, output logits ``(N, num_classes)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from actscope.models.graph import GraphLike, SkeletonGraph, resolve_graph
from actscope.models.registry import register_model
from actscope.models.streams import BlockGraphNet
from actscope.pose.features import BodyFeatures

STGCN_CHANNELS = (64, 64, 64, 64, 128, 128, 128, 256, 256, 256)


class GraphConv(nn.Module):
    """Spatial graph convolution ``(N, C_in, T, V) -> (N, C_out, T, V)``: one 1x1 convolution
    per adjacency part, each aggregated over that part's neighbours, summed."""

    def __init__(self, in_channels: int, out_channels: int, adjacency: torch.Tensor) -> None:
        super().__init__()
        self.parts = adjacency.shape[0]
        self.register_buffer("adjacency", adjacency.clone())
        self.importance = nn.Parameter(torch.ones_like(adjacency))
        self.conv = nn.Conv2d(in_channels, out_channels * self.parts, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, t, v = x.shape
        y = self.conv(x).view(n, self.parts, -1, t, v)
        return torch.einsum("nkctv,kwv->nctw", y, self.adjacency * self.importance)


class STGCNBlock(nn.Module):
    """Graph convolution, then BN-ReLU-temporal convolution-BN, plus a residual; ReLU."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        adjacency: torch.Tensor,
        stride: int = 1,
        temporal_kernel: int = 9,
        dropout: float = 0.0,
        residual: bool = True,
    ) -> None:
        super().__init__()
        self.gcn = GraphConv(in_channels, out_channels, adjacency)
        pad = (temporal_kernel - 1) // 2
        self.tcn = nn.Sequential(
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, (temporal_kernel, 1), (stride, 1), (pad, 0)),
            nn.BatchNorm2d(out_channels),
            nn.Dropout(dropout, inplace=True),
        )
        if not residual:
            self.residual: nn.Module | None = None
        elif in_channels == out_channels and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=(stride, 1)),
                nn.BatchNorm2d(out_channels),
            )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.tcn(self.gcn(x))
        if self.residual is not None:
            y = y + self.residual(x)
        return self.relu(y)


class STGCN(BlockGraphNet):
    """ST-GCN over ``graph``: ``(N, C, T, V, M)`` -> logits ``(N, num_classes)``.

    ``channels`` lists each block's width; time is halved where the width grows.
    """

    def __init__(
        self,
        num_classes: int,
        graph: SkeletonGraph,
        in_channels: int = 3,
        channels: Sequence[int] = STGCN_CHANNELS,
        temporal_kernel: int = 9,
        dropout: float = 0.0,
        stream: str = "joint",
        score_channel: int | None = None,
    ) -> None:
        super().__init__(
            graph,
            in_channels,
            channels,
            STGCNBlock,
            stream,
            score_channel,
            temporal_kernel=temporal_kernel,
            dropout=dropout,
        )
        self.fc = nn.Linear(self.width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


@register_model("stgcn", family="skeleton", input=BodyFeatures(frames=64))
def stgcn(*, num_classes: int, graph: GraphLike = None, **kwargs: Any) -> STGCN:
    """ST-GCN (Yan et al. 2018), the reference skeleton baseline: 10 blocks, 64-128-256.

    ``kwargs`` are :class:`STGCN`'s (``in_channels``, ``channels``, ``temporal_kernel``,
    ``dropout``, ``stream``, ``score_channel``)."""
    return STGCN(num_classes, resolve_graph(graph), **kwargs)
