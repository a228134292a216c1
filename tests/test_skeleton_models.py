"""Skeleton graph, skeleton model families (ST-GCN, ST-GCN++, SGN, temporal CNN) and their
registry entries."""

from __future__ import annotations

import math

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from actscope.errors import ModelError
from actscope.models import create_model, get_entry, list_models
from actscope.models.graph import UNREACHABLE, SkeletonGraph, body15_graph

SKELETON_MODELS = ("sgn", "sgn_ms", "stgcn", "stgcnpp", "stgcnpp_lite", "tcn", "tcn_ms")

# A 5-joint "star": centre 0 with arms 0-1-2 and 0-3, plus joint 4 on its own.
STAR = SkeletonGraph(5, [(0, 1), (1, 2), (0, 3)], center=0)

# Narrow versions keep the architecture (blocks, strides where the width grows) at a fraction
# of the cost; the full sizes are built once, in test_registry_builds_with_only_num_classes.
NARROW = {
    "stgcn": {"channels": (8, 8, 16, 16)},
    "stgcnpp": {"channels": (12, 12, 24, 24)},
    "stgcnpp_lite": {"channels": (12, 24)},
    "tcn": {"channels": (16, 16, 32, 32)},
    "sgn": {"width": 16, "frames": 24},
    "tcn_ms": {"channels": (16, 16, 32, 32)},
    "sgn_ms": {"width": 16, "frames": 24},
}


pytestmark = pytest.mark.usefixtures("one_thread")


# --- graph -----------------------------------------------------------------------------------


def test_hops_and_parents():
    hops = STAR.hops
    assert hops[0].tolist() == [0, 1, 2, 1, UNREACHABLE]
    assert hops[2, 3] == 3 and hops[3, 2] == 3
    assert hops[4, 4] == 0
    assert STAR.parents == (0, 0, 1, 0, 4)


def test_spatial_partition_splits_each_neighbourhood_by_distance_to_centre():
    parts = STAR.adjacency("spatial")
    assert parts.shape == (3, 5, 5)
    same, closer, farther = (p.numpy() for p in parts)
    # joint 1's neighbourhood {0, 1, 2}: itself, the centre (closer), joint 2 (farther)
    assert same[1, 1] > 0 and closer[1, 0] > 0 and farther[1, 2] > 0
    assert closer[1, 2] == 0 and farther[1, 0] == 0
    # every joint averages its neighbourhood: the parts of a row sum to 1, equally weighted
    total = parts.sum(0)
    assert torch.allclose(total.sum(1), torch.ones(5))
    assert math.isclose(total[1, 0].item(), 1 / 3, rel_tol=1e-6)
    assert torch.allclose(total, STAR.adjacency("uniform")[0])
    # the isolated joint only hears itself
    assert total[4].tolist() == [0.0, 0.0, 0.0, 0.0, 1.0]


def test_body15_default_graph_matches_the_pose_layout():
    layouts = pytest.importorskip("actscope.pose.layouts")
    graph = body15_graph()
    layout = layouts.BODY15
    assert graph.num_joints == layout.num_joints
    assert {frozenset(e) for e in graph.edges} == {frozenset(e) for e in layout.edges}
    assert (graph.center,) == tuple(layout.center)
    # the pelvis is the root: bones hang from it
    assert graph.parents[layout.index("neck")] == layout.index("pelvis")
    assert graph.parents[layout.index("left_wrist")] == layout.index("left_elbow")


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((3, [(0, 3)], 0), "distinct joints"),
        ((3, [(1, 1)], 0), "distinct joints"),
        ((3, [(0, 1)], 5), "centre"),
        ((0, [], 0), "at least one joint"),
    ],
)
def test_bad_graphs_are_refused(args, match):
    with pytest.raises(ModelError, match=match):
        SkeletonGraph(*args)


def test_unknown_adjacency_strategy():
    with pytest.raises(ModelError, match="strategy"):
        STAR.adjacency("distance")


# --- models ----------------------------------------------------------------------------------


def test_registry_lists_the_skeleton_families_with_body15_inputs():
    names = {e.name for e in list_models("skeleton")}
    assert set(SKELETON_MODELS) <= names
    for name in SKELETON_MODELS:
        entry = get_entry(name)
        assert entry.family == "skeleton"
        assert entry.input.layout == "body15"
        assert entry.summary


@pytest.mark.parametrize("name", SKELETON_MODELS)
def test_registry_builds_with_only_num_classes(name):
    model = create_model(name, num_classes=7).eval()
    spec = get_entry(name).input
    x = torch.randn(2, spec.channels, spec.frames, 15, spec.persons)
    with torch.no_grad():
        assert model(x).shape == (2, 7)


# (N, C, T, V, M) and the graph to use: the default body15, or STAR for 5 joints.
SHAPES = [(1, 3, 64, 15, 1), (3, 2, 30, 15, 2), (2, 4, 17, 5, 1), (2, 3, 9, 5, 3)]


@pytest.mark.parametrize("name", SKELETON_MODELS)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_output_shapes(name, shape):
    n, c, _t, v, _m = shape
    graph = STAR if v == 5 else body15_graph()
    model = create_model(name, num_classes=11, in_channels=c, graph=graph, **NARROW[name]).eval()
    with torch.no_grad():
        out = model(torch.randn(shape))
    assert out.shape == (n, 11)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", SKELETON_MODELS)
def test_an_empty_person_slot_does_not_change_the_prediction(name):
    model = create_model(name, num_classes=5, **NARROW[name]).eval()
    one = torch.randn(2, 3, 20, 15, 1)
    two = torch.cat([one, torch.zeros_like(one)], dim=-1)
    with torch.no_grad():
        assert torch.allclose(model(one), model(two), atol=1e-5)


@pytest.mark.parametrize("name", SKELETON_MODELS)
def test_missing_joints_with_a_confidence_channel(name):
    model = create_model(name, num_classes=4, score_channel=2, **NARROW[name]).eval()
    x = torch.randn(2, 3, 24, 15, 1)
    x[:, 2] = 1.0
    x[:, :, :, 5] = 0.0  # the left wrist is never seen: zeros with score 0
    with torch.no_grad():
        assert torch.isfinite(model(x)).all()


def test_the_graph_is_one_argument_a_graph_or_a_layout_name():
    explicit = create_model("stgcnpp_lite", num_classes=3, graph=STAR)
    with torch.no_grad():
        assert explicit.eval()(torch.randn(1, 3, 8, 5, 1)).shape == (1, 3)
    kinect = create_model("tcn", num_classes=3, graph="kinect_v1_20", channels=[8] * 4)
    with torch.no_grad():
        assert kinect.eval()(torch.randn(1, 3, 8, 20, 1)).shape == (1, 3)
    with pytest.raises(ModelError, match="unknown joint layout"):
        create_model("stgcn", num_classes=3, graph="no_such_layout")
    with pytest.raises(ModelError, match="graph must be"):
        create_model("sgn", num_classes=3, graph=5)


def test_parameter_counts_follow_the_published_sizes():
    counts = {
        name: sum(p.numel() for p in create_model(name, num_classes=60).parameters())
        for name in SKELETON_MODELS
    }
    # ST-GCN ~3.1M and ST-GCN++ ~1.4M parameters for 60 classes (the papers' NTU settings, with
    # 25 joints; body15's 15 joints change only the input BN and the adjacency).
    assert 2.9e6 < counts["stgcn"] < 3.2e6
    assert 1.2e6 < counts["stgcnpp"] < 1.5e6
    assert counts["stgcnpp_lite"] < counts["stgcnpp"] / 4
    # the default multi-stream models are two whole branches (joint, bone)
    assert counts["tcn_ms"] == 2 * counts["tcn"]
    assert counts["sgn_ms"] == 2 * counts["sgn"]


class _DevicesSeen(TorchDispatchMode):
    """Records the device type of every tensor that reaches an ATen operation."""

    def __init__(self) -> None:
        super().__init__()
        self.devices: set[str] = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        for leaf in tree_leaves((args, kwargs)):
            if isinstance(leaf, torch.Tensor):
                self.devices.add(leaf.device.type)
        return func(*args, **kwargs)


@pytest.mark.parametrize("name", SKELETON_MODELS)
def test_forward_creates_no_tensor_off_the_model_device(name):
    """A model moved to a device must compute there. The ``meta`` device stands in for a GPU:
    every tensor that reaches an operation inside forward must be a meta tensor (a CPU index
    or constant made in forward would show up as ``cpu``)."""
    # bone_motion exercises the bone index and the temporal difference
    stream = {} if name.endswith("_ms") else {"stream": "bone_motion"}
    model = create_model(name, num_classes=6, score_channel=2, **stream, **NARROW[name])
    model = model.to("meta")
    x = torch.randn(2, 3, 24, 15, 2, device="meta")
    with _DevicesSeen() as seen:
        out = model.eval()(x)
    assert seen.devices == {"meta"}
    assert out.shape == (2, 6)


def circling_joint(n: int, clockwise: bool, generator: torch.Generator) -> torch.Tensor:
    """``(n, 2, 24, 5, 1)``: joint 2 circles around joint 1, clockwise or not, from a random
    phase and at a random radius; the other joints jitter in place. Every frame, taken alone,
    looks the same for both directions."""
    t = torch.arange(24, dtype=torch.float32) * (2 * math.pi / 12)
    phase = torch.rand(n, 1, generator=generator) * 2 * math.pi
    radius = 0.5 + torch.rand(n, 1, generator=generator)
    angle = phase + (-t if clockwise else t)
    x = 0.05 * torch.randn(n, 2, 24, 5, 1, generator=generator)
    x[:, 0, :, 2, 0] += radius * torch.cos(angle)
    x[:, 1, :, 2, 0] += radius * torch.sin(angle)
    return x


@pytest.mark.parametrize("name", ["sgn", "stgcnpp_lite", "tcn"])
def test_learns_the_direction_of_a_circle(name):
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)

    def batch(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.cat([circling_joint(n, False, g), circling_joint(n, True, g)])
        return x, torch.cat([torch.zeros(n), torch.ones(n)]).long()

    model = create_model(name, num_classes=2, in_channels=2, graph=STAR, **NARROW[name])
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(40):
        x, y = batch(16)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    x, y = batch(100)
    with torch.no_grad():
        accuracy = (model.eval()(x).argmax(1) == y).float().mean().item()
    assert accuracy > 0.9


@pytest.mark.parametrize(
    ("kernel", "stride", "dilation", "frames"),
    [(3, 1, 1, 16), (3, 2, 1, 17), (3, 1, 3, 16), (3, 2, 4, 17), (9, 2, 1, 16)],
)
def test_matrix_product_layers_equal_convolutions(kernel, stride, dilation, frames):
    from actscope.models.stgcnpp import Pointwise, TemporalConv

    x = torch.randn(2, 5, frames, 4)
    temporal = TemporalConv(5, 6, kernel, stride, dilation)
    conv = torch.nn.Conv2d(
        5, 6, (kernel, 1), (stride, 1), (dilation * (kernel - 1) // 2, 0), (dilation, 1)
    )
    with torch.no_grad():
        # TemporalConv's weight is (C_out, kernel * C_in), frame-major
        conv.weight.copy_(temporal.linear.weight.view(6, kernel, 5).permute(0, 2, 1)[..., None])
        conv.bias.copy_(temporal.linear.bias)
        assert torch.allclose(temporal(x), conv(x), atol=1e-5)
        pointwise = Pointwise(5, 7, stride)
        conv = torch.nn.Conv2d(5, 7, 1, (stride, 1))
        conv.weight.copy_(pointwise.linear.weight[..., None, None])
        conv.bias.copy_(pointwise.linear.bias)
        assert torch.allclose(pointwise(x), conv(x), atol=1e-5)
