"""EfficientGCN (Song, Zhang, Shan and Wang, "Constructing Stronger and Faster Baselines for
Skeleton-based Action Recognition", IEEE T-PAMI 2022), with the authors' NTU RGB+D 60 weights.

The model takes RAW joint coordinates ``(N, 3, T, 25, M)``: NTU RGB+D's Kinect v2 camera
space in metres (x towards the sensor's left, y up, z away from the sensor; 25 joints in
NTU's order, layout ``ntu25``), absent people and frames all zeros, as EfficientGCN's data
pipeline stores NTU (no centring, no rotation; clips shorter than ``T`` zero-padded at the
end). It computes EfficientGCN's three input branches itself (the authors' ``multi_input``),
so that a caller only prepares coordinates and the whole model exports as one graph. With
``x`` the coordinates, ``t`` the frame, ``v`` the joint (:class:`BranchFeatures`):

- **joint** (6 channels): ``x[t, v]`` and ``x[t, v] - x[t, spine_mid]`` (joint 1);
- **velocity** (6): ``x[t + 1, v] - x[t, v]`` and ``x[t + 2, v] - x[t, v]``; both are zero in
  the last two frames (where ``t + 2`` is out of range);
- **bone** (6): the bone vector ``b = x[t, v] - x[t, parent(v)]`` and its angles to the
  three axes, ``arccos(b / (|b| + 1e-4))`` in radians. Parents follow the tree of
  :data:`NTU_EDGES` from the spine mid (:data:`NTU_BONE_PARENTS`, the authors'
  ``connect_joint``); the spine mid is its own parent, so its bone is zero and, like every
  zero bone (padding, absent people), has angles of pi/2.

Because the padding is part of the features (a clip's last real frame has a velocity of
minus its coordinates, and padded frames have bone angles of pi/2), short clips must be
zero-padded as in training, not looped or resampled; see ``docs/efficientgcn.md``.

Network (``layer_type: Sep`` of the B0 config): each branch has a batch norm, a stem (graph
convolution to 64 channels, then a 5-frame temporal convolution) and two graph blocks (48 and
32 channels); the branches are concatenated (96 channels) and a trunk of two blocks (64 and
128 channels, each halving time) follows. A block is a graph convolution, ``depth`` separable
temporal layers (1x1 expansion by 2, 5-frame depthwise convolution, 1x1 projection) and
spatial-temporal joint attention. Graph convolutions use three partitions by hop distance
(the joint itself, joints 1 and 2 bones away) with learnable edge weights. Activations are
Swish (SiLU), Hardswish inside the attention. Features are averaged over time, joints and
BOTH person slots (an absent second person included, as the authors' pooling does), then
dropout and a linear classifier give logits ``(N, num_classes)``.

Code written for actscope from the paper and the authors' MIT-licensed code (gitee
yfsong0709/EfficientGCNv1, mirrored in github coekmez/Hand-EffGCN ``src/``); the weights
were trained on NTU RGB+D, whose terms allow non-commercial research only, and are not
shipped: they load from their published address or a local copy.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from actscope.errors import ModelError
from actscope.models.graph import UNREACHABLE, SkeletonGraph
from actscope.models.registry import WeightsInfo, register_model
from actscope.models.stgcn import GraphConv
from actscope.pose.features import BodyFeatures

# --- NTU RGB+D 60 ---------------------------------------------------------------------------

NTU60_CLASSES: tuple[str, ...] = (
    "drink water",
    "eat meal/snack",
    "brushing teeth",
    "brushing hair",
    "drop",
    "pickup",
    "throw",
    "sitting down",
    "standing up (from sitting position)",
    "clapping",
    "reading",
    "writing",
    "tear up paper",
    "wear jacket",
    "take off jacket",
    "wear a shoe",
    "take off a shoe",
    "wear on glasses",
    "take off glasses",
    "put on a hat/cap",
    "take off a hat/cap",
    "cheer up",
    "hand waving",
    "kicking something",
    "reach into pocket",
    "hopping (one foot jumping)",
    "jump up",
    "make a phone call/answer phone",
    "playing with phone/tablet",
    "typing on a keyboard",
    "pointing to something with finger",
    "taking a selfie",
    "check time (from watch)",
    "rub two hands together",
    "nod head/bow",
    "shake head",
    "wipe face",
    "salute",
    "put the palms together",
    "cross hands in front (say stop)",
    "sneeze/cough",
    "staggering",
    "falling",
    "touch head (headache)",
    "touch chest (stomachache/heart pain)",
    "touch back (backache)",
    "touch neck (neckache)",
    "nausea or vomiting condition",
    "use a fan (with hand or paper)/feeling warm",
    "punching/slapping other person",
    "kicking other person",
    "pushing other person",
    "pat on back of other person",
    "point finger at the other person",
    "hugging other person",
    "giving something to other person",
    "touch other person's pocket",
    "handshaking",
    "walking towards each other",
    "walking apart from each other",
)
"""NTU RGB+D 60's actions in the dataset's order: index ``i`` is action ``A{i + 1:03d}``."""

# 0-based joints of NTU's order (layout ``ntu25``). The graph of ST-GCN and EfficientGCN for
# NTU: the same bones as the layout, except that each hand tip hangs off the thumb
# (tip - thumb - hand) instead of off the hand.
NTU_EDGES: tuple[tuple[int, int], ...] = (
    (0, 1),  # spine base - spine mid
    (1, 20),  # spine mid - spine shoulder
    (2, 20),  # neck - spine shoulder
    (3, 2),  # head - neck
    (4, 20),
    (5, 4),
    (6, 5),
    (7, 6),  # left shoulder, elbow, wrist, hand
    (8, 20),
    (9, 8),
    (10, 9),
    (11, 10),  # right shoulder, elbow, wrist, hand
    (12, 0),
    (13, 12),
    (14, 13),
    (15, 14),  # left hip, knee, ankle, foot
    (16, 0),
    (17, 16),
    (18, 17),
    (19, 18),  # right hip, knee, ankle, foot
    (21, 22),
    (22, 7),  # left hand tip - left thumb - left hand
    (23, 24),
    (24, 11),  # right hand tip - right thumb - right hand
)
NTU_CENTER = 1
"""The spine mid: root of the bone tree and the origin of the relative joint features."""


def ntu_graph() -> SkeletonGraph:
    """EfficientGCN's NTU graph: 25 joints, :data:`NTU_EDGES`, rooted at the spine mid."""
    return SkeletonGraph(25, NTU_EDGES, center=NTU_CENTER)


NTU_BONE_PARENTS: tuple[int, ...] = ntu_graph().parents
"""Parent of each NTU joint in the bone features: ``(1, 1, 20, 2, 20, 4, 5, 6, 20, 8, 9, 10,
0, 12, 13, 14, 0, 16, 17, 18, 1, 22, 7, 24, 11)``, the authors' ``connect_joint``."""


def hop_adjacency(graph: SkeletonGraph, parts: int = 3, max_hop: int = 3) -> torch.Tensor:
    """EfficientGCN's adjacency ``(parts, V, V)``, rows receiving (as in
    :meth:`SkeletonGraph.adjacency`): part ``k`` links joints ``k`` bones apart, and row ``w``
    is divided by the number of joints within ``max_hop`` bones of ``w``. The authors' graph
    counts joints up to 3 bones away although only parts 0-2 are used; their released NTU
    checkpoint holds exactly these matrices (transposed)."""
    hops = graph.hops
    reach = (hops != UNREACHABLE) & (hops <= max_hop)
    degree = reach.sum(axis=1, keepdims=True)
    parts_ = np.stack([(hops == k) / degree for k in range(parts)])
    return torch.tensor(parts_, dtype=torch.float32)  # on the default device (meta in stats)


# --- input branches ----------------------------------------------------------------------------

BRANCHES = ("joint", "velocity", "bone")


class BranchFeatures(nn.Module):
    """EfficientGCN's input branches from raw coordinates: ``(N, C, T, V, M)`` ->
    ``(N, 3, 2C, T, V, M)`` (joint, velocity, bone; see the module docstring). Units: metres
    for positions and differences, radians for the bone angles."""

    def __init__(self, parents: Sequence[int], center: int) -> None:
        super().__init__()
        self.center = center
        self.register_buffer(
            "parent_index", torch.tensor(tuple(parents), dtype=torch.long), persistent=False
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, _, v, m = x.shape
        joint = torch.cat([x, x - x[:, :, :, self.center : self.center + 1]], dim=1)
        tail = x.new_zeros(n, c, 2, v, m)
        step1 = torch.cat([x[:, :, 1:-1] - x[:, :, :-2], tail], dim=2)
        step2 = torch.cat([x[:, :, 2:] - x[:, :, :-2], tail], dim=2)
        velocity = torch.cat([step1, step2], dim=1)
        bone = x - x.index_select(3, self.parent_index)
        length = bone.square().sum(dim=1, keepdim=True).sqrt() + 1e-4
        bone = torch.cat([bone, torch.acos(bone / length)], dim=1)
        return torch.stack([joint, velocity, bone], dim=1)


# --- layers ------------------------------------------------------------------------------------


def conv_bn(
    in_channels: int,
    out_channels: int,
    kernel: int = 1,
    stride: int = 1,
    groups: int = 1,
) -> nn.Sequential:
    """A ``(kernel x 1)`` temporal convolution (with bias) and a batch norm, as
    ``conv``/``bn``: ``(N, C_in, T, V) -> (N, C_out, T / stride, V)``."""
    layers = OrderedDict(
        conv=nn.Conv2d(
            in_channels,
            out_channels,
            (kernel, 1),
            (stride, 1),
            ((kernel - 1) // 2, 0),
            groups=groups,
        ),
        bn=nn.BatchNorm2d(out_channels),
    )
    return nn.Sequential(layers)


class GraphLayer(nn.Module):
    """Graph convolution, batch norm and a residual (1x1 projection when the width changes),
    Swish: ``(N, C_in, T, V) -> (N, C_out, T, V)``."""

    def __init__(self, in_channels: int, out_channels: int, adjacency: torch.Tensor) -> None:
        super().__init__()
        self.graph = GraphConv(in_channels, out_channels, adjacency)
        self.bn = nn.BatchNorm2d(out_channels)
        self.shortcut = (
            nn.Identity() if in_channels == out_channels else conv_bn(in_channels, out_channels)
        )
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.graph(x)) + self.shortcut(x))


class TemporalLayer(nn.Module):
    """The stem's temporal convolution over ``kernel`` frames, batch norm, identity
    residual, Swish: ``(N, C, T, V) -> (N, C, T, V)``."""

    def __init__(self, channels: int, kernel: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, (kernel, 1), padding=((kernel - 1) // 2, 0))
        self.bn = nn.BatchNorm2d(channels)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)) + x)


class SepTemporalLayer(nn.Module):
    """Separable temporal layer: 1x1 expansion by ``expand``, depthwise convolution over
    ``kernel`` frames (stride ``stride`` in time), 1x1 projection, plus a residual (a strided
    1x1 projection when ``stride > 1``): ``(N, C, T, V) -> (N, C, T / stride, V)``."""

    def __init__(self, channels: int, kernel: int, stride: int = 1, expand: int = 2) -> None:
        super().__init__()
        inner = channels * expand
        self.expand = conv_bn(channels, inner)
        self.depthwise = conv_bn(inner, inner, kernel, stride, groups=inner)
        self.pointwise = conv_bn(inner, channels)
        self.shortcut = nn.Identity() if stride == 1 else conv_bn(channels, channels, 1, stride)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self.expand(x))
        y = self.act(self.depthwise(y))
        return self.pointwise(y) + self.shortcut(x)


class JointFrameAttention(nn.Module):
    """Spatial-temporal joint attention (the paper's ST-JointAtt): the features averaged over
    joints and over frames share a 1x1 squeeze (to ``C / reduction``, batch norm,
    Hardswish); one 1x1 convolution scores each frame, another each joint, and their sigmoid
    product scales the input; then batch norm, residual and Swish. ``(N, C, T, V)`` kept."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        inner = channels // reduction
        self.squeeze = conv_bn(channels, inner)
        self.frame = nn.Conv2d(inner, channels, 1)
        self.joint = nn.Conv2d(inner, channels, 1)
        self.bn = nn.BatchNorm2d(channels)
        self.squeeze_act = nn.Hardswish()
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x.shape[2]
        per_frame = x.mean(dim=3, keepdim=True)  # (N, C, T, 1)
        per_joint = x.mean(dim=2, keepdim=True).transpose(2, 3)  # (N, C, V, 1)
        both = self.squeeze_act(self.squeeze(torch.cat([per_frame, per_joint], dim=2)))
        frames, joints = both[:, :, :t], both[:, :, t:]
        weight = self.frame(frames).sigmoid() * self.joint(joints).transpose(2, 3).sigmoid()
        return self.act(self.bn(x * weight) + x)


class GCNBlock(nn.Module):
    """One EfficientGCN block: :class:`GraphLayer` to ``out_channels``, ``depth``
    :class:`SepTemporalLayer` (the first with stride ``stride``), :class:`JointFrameAttention`:
    ``(N, C_in, T, V) -> (N, C_out, T / stride, V)`` (``T`` unchanged when ``depth`` is 0)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        adjacency: torch.Tensor,
        *,
        stride: int = 1,
        depth: int = 1,
        kernel: int = 5,
        expand: int = 2,
        reduction: int = 4,
    ) -> None:
        super().__init__()
        self.spatial = GraphLayer(in_channels, out_channels, adjacency)
        self.temporal = nn.Sequential(
            *(
                SepTemporalLayer(out_channels, kernel, stride if i == 0 else 1, expand)
                for i in range(depth)
            )
        )
        self.attention = JointFrameAttention(out_channels, reduction)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attention(self.temporal(self.spatial(x)))


class InputBranch(nn.Module):
    """One input branch: batch norm of its ``in_channels`` features, the stem (graph layer to
    ``stem_channels``, temporal layer) and ``blocks``: ``(N*M, C, T, V) -> (N*M, C', T', V)``."""

    def __init__(
        self,
        in_channels: int,
        stem_channels: int,
        blocks: Sequence[tuple[int, int, int]],
        adjacency: torch.Tensor,
        kernel: int,
        **block_options: int,
    ) -> None:
        super().__init__()
        self.input_bn = nn.BatchNorm2d(in_channels)
        self.stem_graph = GraphLayer(in_channels, stem_channels, adjacency)
        self.stem_temporal = TemporalLayer(stem_channels, kernel)
        self.blocks = _blocks(stem_channels, blocks, adjacency, kernel, block_options)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.stem_temporal(self.stem_graph(self.input_bn(x))))


def _blocks(
    in_channels: int,
    blocks: Sequence[tuple[int, int, int]],
    adjacency: torch.Tensor,
    kernel: int,
    options: Mapping[str, int],
) -> nn.Sequential:
    layers = []
    for channels, stride, depth in blocks:
        layers.append(
            GCNBlock(
                in_channels,
                channels,
                adjacency,
                stride=stride,
                depth=depth,
                kernel=kernel,
                **options,
            )
        )
        in_channels = channels
    return nn.Sequential(*layers)


# --- the network -------------------------------------------------------------------------------

B0_BLOCKS = ((48, 1, 0.5), (24, 1, 0.5), (64, 2, 1), (128, 2, 1))
"""The base block arguments (channels, temporal stride, depth) of the EfficientGCN configs."""


def scaled_blocks(
    scale: int, blocks: Sequence[tuple[int, int, float]] = B0_BLOCKS
) -> tuple[tuple[int, int, int], ...]:
    """Block arguments of EfficientGCN-B``scale``: channels times 1.2**scale rounded to a
    multiple of 16 (at least 16), depth times 1.35**scale rounded, both with Python's
    round-half-to-even, which makes B0's blocks ``(48, 1, 0), (32, 1, 0), (64, 2, 1),
    (128, 2, 1)``: the first two have no temporal layer."""
    width, deep = 1.2**scale, 1.35**scale
    return tuple(
        (max(round(channels * width / 16) * 16, 16), stride, round(depth * deep))
        for channels, stride, depth in blocks
    )


class EfficientGCN(nn.Module):
    """EfficientGCN: raw coordinates ``(N, C, T, V, M)`` -> logits ``(N, num_classes)``.

    ``blocks`` lists (channels, stride, depth) per block; the first ``fusion_stage`` run in
    each of the three input branches, the rest in the trunk after the branches are
    concatenated (default: B0's, :func:`scaled_blocks`). ``graph`` gives the adjacency, and
    its centre and bone tree the input features.
    """

    def __init__(
        self,
        num_classes: int,
        *,
        graph: SkeletonGraph,
        in_channels: int = 3,
        blocks: Sequence[tuple[int, int, int]] | None = None,
        fusion_stage: int = 2,
        stem_channels: int = 64,
        kernel: int = 5,
        expand: int = 2,
        reduction: int = 4,
        dropout: float = 0.25,
    ) -> None:
        super().__init__()
        blocks = scaled_blocks(0) if blocks is None else tuple(blocks)
        if not 0 < fusion_stage < len(blocks):
            raise ModelError(f"fusion_stage must be in 1..{len(blocks) - 1}, got {fusion_stage}")
        self.in_channels = in_channels
        self.num_joints = graph.num_joints
        adjacency = hop_adjacency(graph)
        options = {"expand": expand, "reduction": reduction}
        self.features = BranchFeatures(graph.parents, graph.center)
        self.branches = nn.ModuleList(
            InputBranch(
                2 * in_channels,
                stem_channels,
                blocks[:fusion_stage],
                adjacency,
                kernel,
                **options,
            )
            for _ in BRANCHES
        )
        fused = len(BRANCHES) * blocks[fusion_stage - 1][0]
        self.trunk = _blocks(fused, blocks[fusion_stage:], adjacency, kernel, options)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(blocks[-1][0], num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        """The authors' initialisation: He-normal (fan out) convolutions, zero biases, a
        classifier drawn with standard deviation 0.001."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="leaky_relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        nn.init.normal_(self.fc.weight, std=0.001)
        nn.init.zeros_(self.fc.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = tuple(x.shape)
        if len(shape) != 5 or shape[1:4:2] != (self.in_channels, self.num_joints) or shape[2] < 2:
            raise ModelError(
                f"EfficientGCN takes raw coordinates (N, {self.in_channels}, T, "
                f"{self.num_joints}, M) with T >= 2 frames, got {shape}"
            )
        n, _, t, v, m = x.shape
        branches = self.features(x)  # (N, 3, 2C, T, V, M)
        folded = branches.permute(1, 0, 5, 2, 3, 4).reshape(len(BRANCHES), n * m, -1, t, v)
        y = torch.cat([branch(folded[i]) for i, branch in enumerate(self.branches)], dim=1)
        y = self.trunk(y)  # (N*M, C, T', V); row n*M + m is sample n's person m
        pooled = y.mean(dim=(2, 3)).reshape(n, m, -1).mean(dim=1)
        return self.fc(self.dropout(pooled))


# --- the authors' checkpoints -----------------------------------------------------------------

_GRAPH_LAYER = {
    "conv.gcn": "graph.conv",
    "residual.0": "shortcut.conv",
    "residual.1": "shortcut.bn",
}
_SEP_LAYER = {
    "expand_conv.0": "expand.conv",
    "expand_conv.1": "expand.bn",
    "depth_conv.0": "depthwise.conv",
    "depth_conv.1": "depthwise.bn",
    "point_conv.0": "pointwise.conv",
    "point_conv.1": "pointwise.bn",
    "residual.0": "shortcut.conv",
    "residual.1": "shortcut.bn",
}
_ATTENTION = {
    "att.fcn.0": "squeeze.conv",
    "att.fcn.1": "squeeze.bn",
    "att.conv_t": "frame",
    "att.conv_v": "joint",
}


def _swap(rest: str, table: Mapping[str, str]) -> str:
    """``rest`` with its longest prefix found in ``table`` replaced (else unchanged)."""
    for old in sorted(table, key=len, reverse=True):
        if rest.startswith(old + "."):
            return table[old] + rest[len(old) :]
    return rest


def _graph_layer(rest: str) -> str:
    if rest == "conv.A":
        return "graph.adjacency"
    if rest == "conv.edge":
        return "graph.importance"
    return _swap(rest, _GRAPH_LAYER)


def _block_part(part: str, rest: str) -> str:
    if part == "scn":
        return "spatial." + _graph_layer(rest)
    if part == "att":
        return "attention." + _swap(rest, _ATTENTION)
    return f"temporal.{part[len('tcn-') :]}." + _swap(rest, _SEP_LAYER)


def _block(rest: str) -> str | None:
    """``"block-1_scn.conv.A"`` -> ``"1.spatial.graph.adjacency"``; None if not a block key."""
    match = re.fullmatch(r"block-(\d+)_(scn|att|tcn-\d+)\.(.+)", rest)
    return f"{match[1]}.{_block_part(match[2], match[3])}" if match else None


def _official_key(key: str) -> str:
    """One key of the authors' state dict under :class:`EfficientGCN`'s name."""
    if match := re.fullmatch(r"input_branches\.(\d+)\.(.+)", key):
        branch, rest = f"branches.{match[1]}.", match[2]
        part, _, leaf = rest.partition(".")
        if part == "init_bn":
            return branch + "input_bn." + leaf
        if part == "stem_scn":
            return branch + "stem_graph." + _graph_layer(leaf)
        if part == "stem_tcn":
            return branch + "stem_temporal." + leaf
        block = _block(rest)
        return branch + "blocks." + block if block else key
    if key.startswith("main_stream."):
        block = _block(key[len("main_stream.") :])
        return "trunk." + block if block else key
    if key.startswith("classifier.fc."):
        return "fc." + key[len("classifier.fc.") :]
    return key


def efficientgcn_from_official(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The authors' EfficientGCN state dict (``input_branches.0.block-1_scn.conv.gcn.weight``,
    ``main_stream.block-0_tcn-0.depth_conv.0.weight``, ``classifier.fc.weight``) ->
    :class:`EfficientGCN` names. Adjacencies and edge weights are transposed (the authors'
    matrices have the receiving joint in columns), and the 1x1x1 ``Conv3d`` classifier
    becomes a linear layer. Unknown keys keep their names (and are then reported)."""
    renamed: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        new = _official_key(key)
        if new.endswith(("graph.adjacency", "graph.importance")):
            value = value.transpose(-1, -2)
        elif new == "fc.weight" and value.ndim == 5:
            value = value.flatten(1)
        renamed[new] = value
    return renamed


NTU60_XSUB_WEIGHTS = WeightsInfo(
    name="ntu60-xsub",
    source=(
        "url:https://raw.githubusercontent.com/coekmez/Hand-EffGCN/"
        "87d7913ce2ea4c6332fb0cf10855075746acf6b0/pretrained_models/"
        "2001_EfficientGCN-B0_ntu-xsub.pth.tar"
    ),
    classes=NTU60_CLASSES,
    licence=(
        "MIT (EfficientGCN code, Yi-Fan Song); weights research-only: trained on NTU RGB+D, "
        "whose terms allow non-commercial research use only"
    ),
    # Recorded in the checkpoint's best_state (NTU-60 cross-subject test split).
    metrics={"acc@1 (x-sub)": 89.86, "acc@5 (x-sub)": 98.26},
    dataset="NTU RGB+D 60 (cross-subject)",
    sha256="003abdb6d17a57755d12013407e7b3b68a9a2ed06327db2b1a4fc58d4c2b27c7",
)


@register_model(
    "efficientgcn_b0",
    family="skeleton",
    # NTU RGB+D's raw input (pose.ntu_input): 288 frames at 30 fps, zero-padded, 2 people
    input=BodyFeatures(
        dims=3,
        frames=288,
        persons=2,
        layout="ntu25",
        normalize="camera",
        fps=30.0,
        min_score=0.0,
        window_seconds=9.6,
    ),
    weights=(NTU60_XSUB_WEIGHTS,),
)
def efficientgcn_b0(*, num_classes: int = 60, dropout: float = 0.25) -> EfficientGCN:
    """EfficientGCN-B0 (Song et al. 2022) on raw NTU coordinates: 0.35 M parameters."""
    return EfficientGCN(num_classes, graph=ntu_graph(), blocks=scaled_blocks(0), dropout=dropout)
