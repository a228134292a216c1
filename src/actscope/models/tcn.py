"""A plain 1D temporal CNN over flattened joint coordinates and their velocities.

The simple baseline of issue 4: every frame becomes one vector of all joints' coordinates
and frame-to-frame velocities (``2 * C * V`` values), four temporal convolutions (BN, ReLU,
max-pooling time by 2 after the second and third) mix it over time; global average and max
pooling over time; dropout; a linear classifier. It ignores the graph except for the joint
count (the graph gives the joint count and, for other streams than ``joint``,
the bones). Input ``(N, C, T, V, M)``, output logits ``(N, num_classes)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from actscope.models.graph import GraphLike, SkeletonGraph, resolve_graph
from actscope.models.registry import register_model
from actscope.models.streams import (
    MultiStream,
    RandomAxisScale,
    StreamInput,
    fold_persons,
    motion,
    multi_stream,
    pool_persons,
)
from actscope.pose.features import BodyFeatures

TCN_CHANNELS = (128, 128, 256, 256)


class TemporalCNN(nn.Module):
    """Four (by default) 1D convolutions over time on per-frame joint vectors:
    ``(N, C, T, V, M)`` -> logits ``(N, num_classes)``."""

    def __init__(
        self,
        num_classes: int,
        graph: SkeletonGraph,
        in_channels: int = 3,
        channels: Sequence[int] = TCN_CHANNELS,
        kernel_size: int = 5,
        dropout: float = 0.3,
        stream: str = "joint",
        score_channel: int | None = None,
        train_scale: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        self.augment = RandomAxisScale(train_scale, in_channels, score_channel)
        self.stream = StreamInput(stream, graph.parents, score_channel)
        self.score_channel = score_channel
        previous = 2 * in_channels * graph.num_joints
        self.input_bn = nn.BatchNorm1d(previous)
        layers: list[nn.Module] = []
        for i, width in enumerate(channels):
            layers += [
                nn.Conv1d(previous, width, kernel_size, padding=kernel_size // 2, bias=False),
                nn.BatchNorm1d(width),
                nn.ReLU(inplace=True),
            ]
            if 0 < i < len(channels) - 1:
                layers.append(nn.MaxPool1d(2, ceil_mode=True))
            previous = width
        self.convs = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * previous, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        people = x
        x = self.stream(self.augment(x))
        frames = torch.cat([x, motion(x, self.score_channel)], dim=1)
        frames = fold_persons(frames)  # (N*M, 2C, T, V)
        n, c, t, v = frames.shape
        frames = frames.permute(0, 1, 3, 2).reshape(n, c * v, t)
        y = self.convs(self.input_bn(frames))
        features = torch.cat([y.mean(-1), y.amax(-1)], dim=1)
        return self.head(pool_persons(features, people))


@register_model("tcn", family="skeleton", input=BodyFeatures(frames=64))
def tcn(*, num_classes: int, graph: GraphLike = None, **kwargs: Any) -> TemporalCNN:
    """Plain 1D temporal CNN over joint positions and velocities: 4 conv layers, no graph.

    ``kwargs`` are :class:`TemporalCNN`'s (``in_channels``, ``channels``, ``dropout``,
    ``stream``, ``score_channel``, ``train_scale=(low, high)``: each axis scaled by a random
    factor in training, :class:`~actscope.models.streams.RandomAxisScale`, off by default)."""
    return TemporalCNN(num_classes, resolve_graph(graph), **kwargs)


@register_model("tcn_ms", family="skeleton", input=BodyFeatures(frames=64))
def tcn_ms(
    *,
    num_classes: int,
    streams: Sequence[str] = ("joint", "bone"),
    fusion_weights: Sequence[float] | None = None,
    fusion: str = "product",
    **kwargs,
) -> MultiStream:
    """Temporal CNNs on several streams (default joint + bone), trained together, scores fused."""
    return multi_stream(tcn, streams, fusion_weights, fusion, num_classes=num_classes, **kwargs)
