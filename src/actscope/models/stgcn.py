"""ST-GCN (Yan, Xiong and Lin, AAAI 2018): the reference baseline of skeleton models.

Ten blocks of a spatial graph convolution over the skeleton (ST-GCN's three-part spatial
partition with learnable edge importance) followed by a 9-frame temporal convolution, with
residual connections; global average pooling over time, joints and people; a linear
classifier. Input ``(N, C, T, V, M)``, output logits ``(N, num_classes)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import nn

from actscope.models.graph import SkeletonGraph, resolve_graph
from actscope.models.registry import SkeletonInput, register_model
from actscope.models.streams import StreamInput, fold_persons, pool_persons

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


class STGCN(nn.Module):
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
        super().__init__()
        self.stream = StreamInput(stream, graph.parents, score_channel)
        self.data_bn = nn.BatchNorm1d(in_channels * graph.num_joints)
        adjacency = graph.adjacency("spatial")
        blocks = []
        previous = in_channels
        for i, width in enumerate(channels):
            stride = 2 if i > 0 and width > previous else 1
            blocks.append(
                STGCNBlock(
                    previous,
                    width,
                    adjacency,
                    stride=stride,
                    temporal_kernel=temporal_kernel,
                    dropout=dropout,
                    residual=i > 0,
                )
            )
            previous = width
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(previous, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        people = x
        x = fold_persons(self.stream(x))
        n, c, t, v = x.shape
        x = self.data_bn(x.permute(0, 3, 1, 2).reshape(n, v * c, t))
        x = x.view(n, v, c, t).permute(0, 2, 3, 1)
        features = self.blocks(x).mean(dim=(2, 3))
        return self.fc(pool_persons(features, people))


@register_model(
    "stgcn", family="skeleton", input=SkeletonInput(layout="body15", frames=64, channels=3)
)
def stgcn(
    *,
    num_classes: int,
    in_channels: int = 3,
    graph: SkeletonGraph | None = None,
    num_joints: int | None = None,
    edges: Iterable[Sequence[int]] | None = None,
    center: int | None = None,
    channels: Sequence[int] = STGCN_CHANNELS,
    temporal_kernel: int = 9,
    dropout: float = 0.0,
    stream: str = "joint",
    score_channel: int | None = None,
) -> STGCN:
    """ST-GCN (Yan et al. 2018), the reference skeleton baseline: 10 blocks, 64-128-256."""
    return STGCN(
        num_classes,
        resolve_graph(graph, num_joints, edges, center),
        in_channels=in_channels,
        channels=channels,
        temporal_kernel=temporal_kernel,
        dropout=dropout,
        stream=stream,
        score_channel=score_channel,
    )
