"""SGN (Zhang et al., "Semantics-Guided Neural Networks for Efficient Skeleton-Based Human
Action Recognition", CVPR 2020): a small, fast model that tells each joint and frame which
one it is.

Every joint of every frame is embedded from its position and velocity (two layers each,
summed) and joined with a learned embedding of its joint type. A frame's joints attend to each
other (an adjacency computed from the embeddings, softmax over joints) through three residual
graph convolutions. A learned embedding of the frame index is added, joints are max-pooled,
two temporal convolutions (3 frames, then 1) mix the frames, and a max over time feeds the
classifier. Knowing which joint is which, without learning it from the graph, suits small
datasets; all layers are matrix products over many rows, which suits a CPU.
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
from actscope.models.streams import (
    JointBatchNorm,
    MultiStream,
    StreamInput,
    fold_persons,
    motion,
    multi_stream,
    pool_persons,
)
from actscope.pose.features import BodyFeatures


class Embed(nn.Module):
    """Two linear layers with ReLU, on the last dimension: ``(..., C_in) -> (..., C_out)``."""

    def __init__(self, in_features: int, out_features: int, hidden: int | None = None) -> None:
        super().__init__()
        hidden = hidden or out_features
        self.layers = nn.Sequential(
            nn.Linear(in_features, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, out_features),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class SemanticGraphConv(nn.Module):
    """Residual graph convolution over a per-frame adjacency: ``(B, V, C_in)`` with ``(B, V, V)``
    -> ``(B, V, C_out)``; ``relu(bn(A x W + x W_res))``."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.neighbours = nn.Linear(in_features, out_features, bias=False)
        self.own = nn.Linear(in_features, out_features, bias=False)
        self.bn = nn.BatchNorm1d(out_features)

    def forward(self, x: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        y = self.neighbours(adjacency @ x) + self.own(x)
        return F.relu(self.bn(y.flatten(0, -2)).view_as(y))


class SGN(nn.Module):
    """SGN for skeletons of ``num_joints`` joints: ``(N, C, T, V, M)`` -> ``(N, num_classes)``.

    ``width`` is the embedding size (64 in the paper; the graph layers use 2x and 4x it, the
    temporal layers 4x and 8x). ``frames`` is the length the frame-index embedding is learned
    for; other lengths interpolate it.
    """

    def __init__(
        self,
        num_classes: int,
        graph: SkeletonGraph,
        in_channels: int = 3,
        frames: int = 32,
        width: int = 64,
        dropout: float = 0.2,
        stream: str = "joint",
        score_channel: int | None = None,
    ) -> None:
        super().__init__()
        self.stream = StreamInput(stream, graph.parents, score_channel)
        self.score_channel = score_channel
        joints = graph.num_joints
        self.input_bn = JointBatchNorm(in_channels, joints)
        self.motion_bn = JointBatchNorm(in_channels, joints)
        self.position = Embed(in_channels, width)
        self.velocity = Embed(in_channels, width)
        self.register_buffer("joint_ids", torch.eye(joints), persistent=False)
        self.register_buffer("frame_ids", torch.eye(frames), persistent=False)
        self.joint_type = Embed(joints, width)
        self.frame_index = Embed(frames, 4 * width)
        self.query = nn.Linear(2 * width, 4 * width)
        self.key = nn.Linear(2 * width, 4 * width)
        self.gcn = nn.ModuleList(
            [
                SemanticGraphConv(2 * width, 2 * width),
                SemanticGraphConv(2 * width, 4 * width),
                SemanticGraphConv(4 * width, 4 * width),
            ]
        )
        self.temporal = nn.Sequential(
            nn.Conv1d(4 * width, 4 * width, 3, padding=1, bias=False),
            nn.BatchNorm1d(4 * width),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Conv1d(4 * width, 8 * width, 1, bias=False),
            nn.BatchNorm1d(8 * width),
            nn.ReLU(inplace=True),
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(8 * width, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        people = x
        x = self.stream(x)
        velocity = fold_persons(motion(x, self.score_channel))
        x = fold_persons(x)  # (B, C, T, V)
        b, _, t, v = x.shape
        dynamics = self.position(self.input_bn(x).permute(0, 2, 3, 1)) + self.velocity(
            self.motion_bn(velocity).permute(0, 2, 3, 1)
        )  # (B, T, V, width)
        joint_type = self.joint_type(self.joint_ids).expand(b, t, -1, -1)
        z = torch.cat([dynamics, joint_type], dim=-1).reshape(b * t, v, -1)
        adjacency = (self.query(z) @ self.key(z).transpose(1, 2)).softmax(-1)  # (B*T, V, V)
        for layer in self.gcn:
            z = layer(z, adjacency)
        z = z.view(b, t, v, -1) + self._frame_embedding(t).view(1, t, 1, -1)
        frames = z.amax(dim=2).transpose(1, 2)  # (B, C, T): max over joints
        features = self.temporal(frames).amax(dim=-1)
        return self.head(pool_persons(features, people))

    def _frame_embedding(self, frames: int) -> torch.Tensor:
        """``(frames, 4 * width)``: the learned frame-index embedding, stretched linearly to
        ``frames`` when the input is not as long as the model was built for."""
        table = self.frame_index(self.frame_ids)
        if table.shape[0] == frames:
            return table
        return F.interpolate(table.T[None], size=frames, mode="linear", align_corners=True)[0].T


@register_model("sgn", family="skeleton", input=BodyFeatures(frames=32))
def sgn(*, num_classes: int, graph: GraphLike = None, **kwargs: Any) -> SGN:
    """SGN (Zhang et al. 2020): joint- and frame-semantics graph network, 32 frames, fast.

    ``kwargs`` are :class:`SGN`'s (``in_channels``, ``frames``, ``width``, ``dropout``,
    ``stream``, ``score_channel``)."""
    return SGN(num_classes, resolve_graph(graph), **kwargs)


@register_model("sgn_ms", family="skeleton", input=BodyFeatures(frames=32))
def sgn_ms(
    *,
    num_classes: int,
    streams: Sequence[str] = ("joint", "bone"),
    fusion_weights: Sequence[float] | None = None,
    fusion: str = "product",
    **kwargs,
) -> MultiStream:
    """SGNs on several streams (default joint + bone), trained together, scores fused."""
    return multi_stream(sgn, streams, fusion_weights, fusion, num_classes=num_classes, **kwargs)
