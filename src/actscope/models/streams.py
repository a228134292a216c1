"""Input streams of skeleton models and the multi-stream score fusion.

A skeleton batch is ``(N, C, T, V, M)``: batch, channels, frames, joints, people. The four
streams of multi-stream models (2s-AGCN, CTR-GCN, ST-GCN++) are derived from it:

- ``joint``: the coordinates themselves;
- ``bone``: each joint minus its parent (:attr:`SkeletonGraph.parents`); zero at the centre;
- ``joint_motion``: the joint stream at frame ``t + 1`` minus frame ``t``; zero at the last frame;
- ``bone_motion``: the same temporal difference of the bone stream.

When the batch carries a confidence channel (``score_channel``), that channel is not
differenced: a bone's score is the lower of its two joints' scores, a motion's the lower of
its two frames', and coordinates whose score is 0 are set to 0, so a missing joint never
turns into a made-up bone or motion. Without a score channel, NaN coordinates (missing
joints) stay NaN.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from actscope.errors import ModelError
from actscope.models.graph import SkeletonGraph

STREAMS = ("joint", "bone", "joint_motion", "bone_motion")


def bone(
    x: torch.Tensor, parents: Sequence[int] | torch.Tensor, score_channel: int | None = None
) -> torch.Tensor:
    """Bone vectors ``joint - parent`` of ``x`` ``(N, C, T, V, M)``; same shape. ``parents``
    may be a long tensor already on ``x``'s device (what :class:`StreamInput` keeps)."""
    if len(parents) != x.shape[3]:
        raise ModelError(f"{len(parents)} parents given for {x.shape[3]} joints")
    index = torch.as_tensor(parents, dtype=torch.long, device=x.device)
    out = x - x.index_select(3, index)
    if score_channel is not None:
        score = torch.minimum(x[:, score_channel], x[:, score_channel].index_select(2, index))
        out = _with_score(out, score, score_channel)
    return out


def motion(x: torch.Tensor, score_channel: int | None = None) -> torch.Tensor:
    """Temporal difference ``x[t + 1] - x[t]`` of ``x`` ``(N, C, T, V, M)``; the last frame is
    zero so the shape is kept."""
    out = torch.zeros_like(x)
    out[:, :, :-1] = x[:, :, 1:] - x[:, :, :-1]
    if score_channel is not None:
        s = x[:, score_channel]
        score = s.clone()
        score[:, :-1] = torch.minimum(s[:, 1:], s[:, :-1])
        out = _with_score(out, score, score_channel)
    return out


def _with_score(out: torch.Tensor, score: torch.Tensor, score_channel: int) -> torch.Tensor:
    """Put ``score`` ``(N, T, V, M)`` in ``score_channel`` and zero coordinates scored 0."""
    out = out * (score > 0).unsqueeze(1).to(out.dtype)
    out[:, score_channel] = score
    return out


def make_stream(
    x: torch.Tensor,
    stream: str,
    parents: Sequence[int] | torch.Tensor,
    score_channel: int | None = None,
) -> torch.Tensor:
    """Stream ``stream`` (one of :data:`STREAMS`) of ``x`` ``(N, C, T, V, M)``; same shape."""
    if stream == "joint":
        return x
    if stream == "bone":
        return bone(x, parents, score_channel)
    if stream == "joint_motion":
        return motion(x, score_channel)
    if stream == "bone_motion":
        return motion(bone(x, parents, score_channel), score_channel)
    raise ModelError(f"unknown stream {stream!r}; use one of {', '.join(STREAMS)}")


class StreamInput(nn.Module):
    """The first layer of a skeleton model: turns the joint input into ``stream``.

    Holding the stream inside the model lets one training command train any stream, and a
    saved model remembers which stream it was trained on.
    """

    def __init__(
        self, stream: str, parents: Sequence[int], score_channel: int | None = None
    ) -> None:
        super().__init__()
        if stream not in STREAMS:
            raise ModelError(f"unknown stream {stream!r}; use one of {', '.join(STREAMS)}")
        self.stream = stream
        self.parents = tuple(parents)
        self.score_channel = score_channel
        # A buffer follows the model to its device: no host-to-device copy per forward.
        self.register_buffer(
            "parent_index", torch.tensor(self.parents, dtype=torch.long), persistent=False
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return make_stream(x, self.stream, self.parent_index, self.score_channel)

    def extra_repr(self) -> str:
        return f"stream={self.stream!r}, score_channel={self.score_channel}"


def fold_persons(x: torch.Tensor) -> torch.Tensor:
    """``(N, C, T, V, M)`` -> ``(N * M, C, T, V)``; sample ``n``'s person ``m`` is row
    ``n * M + m``."""
    n, c, t, v, m = x.shape
    return x.permute(0, 4, 1, 2, 3).reshape(n * m, c, t, v)


def pool_persons(features: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean of per-person ``features`` ``(N * M, F)`` over the people present in ``x``
    ``(N, C, T, V, M)``, giving ``(N, F)``.

    A person whose input is all zeros (padding for absent people) is left out, so a
    one-person clip in a two-person tensor is not diluted; a sample with nobody present
    averages all slots.
    """
    n, m = x.shape[0], x.shape[-1]
    features = features.reshape(n, m, -1)
    present = (x.detach().abs().sum(dim=(1, 2, 3)) > 0).to(features.dtype)  # (N, M)
    present = torch.where(present.sum(1, keepdim=True) > 0, present, torch.ones_like(present))
    return (features * present.unsqueeze(-1)).sum(1) / present.sum(1, keepdim=True)


class JointBatchNorm(nn.BatchNorm1d):
    """Batch norm of each joint's each channel over the batch and frames:
    ``(B, C, T, V) -> (B, C, T, V)``, how the ST-GCN family normalises its input. (A
    ``BatchNorm1d`` over ``C * V`` features, so its state-dict keys are a plain one's.)"""

    def __init__(self, channels: int, joints: int) -> None:
        super().__init__(channels * joints)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t, v = x.shape
        x = super().forward(x.permute(0, 3, 1, 2).reshape(b, v * c, t))
        return x.view(b, v, c, t).permute(0, 2, 3, 1)


def stack_blocks(
    make: Callable[[int, int, int, bool], nn.Module], in_channels: int, widths: Sequence[int]
) -> tuple[nn.Sequential, int]:
    """Blocks ``make(in, out, stride, residual)`` of the given ``widths``, time halved
    (stride 2) where the width grows and no residual on the first: the ST-GCN layout.
    Returns the blocks and the last width."""
    blocks = []
    previous = in_channels
    for i, width in enumerate(widths):
        stride = 2 if i > 0 and width > previous else 1
        blocks.append(make(previous, width, stride, i > 0))
        previous = width
    return nn.Sequential(*blocks), previous


class BlockGraphNet(nn.Module):
    """The frame of ST-GCN and ST-GCN++: the input ``stream``, batch norm per joint, a stack
    of graph blocks (:func:`stack_blocks`) over every person ``(N*M, C, T, V)``, then the
    mean over time and joints and over the people present. Subclasses give the block type,
    built as ``block(in, out, adjacency, stride=, residual=, **block_options)`` with the
    graph's spatial adjacency, and a head over :meth:`features`."""

    def __init__(
        self,
        graph: SkeletonGraph,
        in_channels: int,
        widths: Sequence[int],
        block: Callable[..., nn.Module],
        stream: str = "joint",
        score_channel: int | None = None,
        channels_last: bool = False,
        **block_options: Any,
    ) -> None:
        super().__init__()
        self.stream = StreamInput(stream, graph.parents, score_channel)
        self.data_bn = JointBatchNorm(in_channels, graph.num_joints)
        adjacency = graph.adjacency("spatial")

        def make(cin: int, cout: int, stride: int, residual: bool) -> nn.Module:
            return block(cin, cout, adjacency, stride=stride, residual=residual, **block_options)

        self.blocks, self.width = stack_blocks(make, in_channels, widths)
        self.channels_last = channels_last

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, T, V, M)`` -> ``(N, width)``."""
        y = self.data_bn(fold_persons(self.stream(x)))
        if self.channels_last:
            y = y.contiguous(memory_format=torch.channels_last)
        return pool_persons(self.blocks(y).mean(dim=(2, 3)), x)


FUSIONS = ("mean", "product", "ensemble")


class MultiStream(nn.Module):
    """Score fusion of several models, each fed its own stream (see :class:`StreamInput`).

    ``branches`` maps a name (usually the stream) to a model taking ``(N, C, T, V, M)`` and
    returning logits ``(N, K)``; ``weights`` (default: all 1) weigh them. :meth:`forward`
    returns log-probabilities ``(N, K)``, so it can stand wherever logits are expected: its
    softmax is the fused score, its argmax the fused class.

    ``fusion="mean"``: the weighted mean of the branches' softmax scores (the score fusion of
    2s-AGCN and its successors, for branches trained apart). ``fusion="product"``: the
    weighted mean of their log-softmax scores, renormalised (a product of experts); trained
    end to end with cross-entropy, every branch then receives the fused model's full gradient
    (scaled by its weight), where the mean would favour the branch already most right.
    ``fusion="ensemble"``: fused as ``mean``, but in training mode :meth:`forward` returns the
    dict of branch logits, and the training engine gives each branch its own loss: an
    ensemble of branches trained apart, in one run.
    """

    def __init__(
        self,
        branches: Mapping[str, nn.Module],
        weights: Mapping[str, float] | None = None,
        fusion: str = "mean",
    ) -> None:
        super().__init__()
        if not branches:
            raise ModelError("a multi-stream model needs at least one branch")
        if fusion not in FUSIONS:
            raise ModelError(f"unknown fusion {fusion!r}; use one of {', '.join(FUSIONS)}")
        weights = dict(weights) if weights is not None else {name: 1.0 for name in branches}
        if set(weights) != set(branches):
            raise ModelError(
                f"fusion weights are given for {sorted(weights)} but the branches are "
                f"{sorted(branches)}; give one weight per branch"
            )
        if any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
            raise ModelError("fusion weights must be non-negative and not all zero")
        self.branches = nn.ModuleDict(branches)
        self.fusion = fusion
        total = sum(weights.values())
        self.weights = {name: weights[name] / total for name in branches}

    def branch_logits(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each branch's logits ``(N, K)`` for ``x`` ``(N, C, T, V, M)``."""
        return {name: model(x) for name, model in self.branches.items()}

    def forward(self, x: torch.Tensor) -> torch.Tensor | dict[str, torch.Tensor]:
        logits = self.branch_logits(x)
        if self.fusion == "ensemble" and self.training:
            return logits
        if self.fusion == "product":
            fused = sum(self.weights[name] * out.log_softmax(-1) for name, out in logits.items())
            return fused.log_softmax(-1)
        mean = sum(self.weights[name] * out.softmax(-1) for name, out in logits.items())
        return mean.clamp_min(torch.finfo(mean.dtype).tiny).log()

    def extra_repr(self) -> str:
        return f"fusion={self.fusion!r}, weights={self.weights}"


def multi_stream(
    builder: Callable[..., nn.Module],
    streams: Sequence[str],
    weights: Sequence[float] | None = None,
    fusion: str = "product",
    **kwargs,
) -> MultiStream:
    """A :class:`MultiStream` of ``builder(stream=s, **kwargs)`` for each of ``streams``,
    fused with ``weights`` (one per stream, default equal): what the ``*_ms`` registry entries
    build, so one training run trains every stream together."""
    streams = list(streams)
    if len(set(streams)) != len(streams) or not streams:
        raise ModelError(f"streams {streams} must be distinct and at least one; e.g. joint, bone")
    if weights is not None and len(weights) != len(streams):
        raise ModelError(f"{len(weights)} fusion weights for {len(streams)} streams; give one each")
    branches = {s: builder(stream=s, **kwargs) for s in streams}
    named = None if weights is None else dict(zip(streams, weights, strict=True))
    return MultiStream(branches, named, fusion)


class RandomAxisScale(nn.Module):
    """Training-time augmentation inside the model: multiplies each sample's coordinates by
    a random factor per axis, drawn uniformly from ``scale`` ``(low, high)``; identity in
    eval mode or with ``scale=None``. Input and output ``(N, C, T, V, M)``.

    Subjects differ in build, and a handful of training subjects show few builds; scaling
    each axis on its own is the cheapest cover for that (the view augmentation of the data
    pipeline rotates but does not scale). The score channel is left as it is. Draws come
    from torch's global generator, which the engine seeds and restores on resume.
    """

    def __init__(
        self, scale: Sequence[float] | None, coords: int, score_channel: int | None = None
    ) -> None:
        super().__init__()
        if scale is not None and not 0 < scale[0] <= scale[1]:
            raise ModelError(f"train_scale must be (low, high) with 0 < low <= high, got {scale}")
        self.scale = None if scale is None else (float(scale[0]), float(scale[1]))
        self.coords = coords
        self.score_channel = score_channel

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.scale is None:
            return x
        low, high = self.scale
        n, c = x.shape[:2]
        factors = torch.ones(n, c, 1, 1, 1, dtype=x.dtype, device=x.device)
        coords = [i for i in range(c) if i != self.score_channel]
        drawn = torch.rand(n, len(coords), 1, 1, 1, dtype=x.dtype, device=x.device)
        factors[:, coords] = low + (high - low) * drawn
        return x * factors

    def extra_repr(self) -> str:
        return f"scale={self.scale}"
