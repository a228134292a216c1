"""Input streams (joint, bone, motion) and multi-stream score fusion."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from actscope.errors import ModelError
from actscope.models.graph import SkeletonGraph
from actscope.models.streams import (
    MultiStream,
    StreamInput,
    bone,
    fold_persons,
    make_stream,
    motion,
    pool_persons,
)

pytestmark = pytest.mark.usefixtures("one_thread")


# A chain 0 - 1 - 2 rooted at joint 0: parents are (0, 0, 1).
CHAIN = SkeletonGraph(3, [(0, 1), (1, 2)], center=0)


def chain_sequence() -> torch.Tensor:
    """(1, 2, 3, 3, 1): 2 coordinates, 3 frames, 3 joints, 1 person, hand-picked values."""
    # frames[t][v] = (x, y)
    frames = [
        [(0.0, 0.0), (1.0, 0.0), (1.0, 2.0)],
        [(0.5, 0.0), (1.5, 1.0), (3.0, 1.0)],
        [(1.0, 1.0), (1.0, 1.0), (0.0, 0.0)],
    ]
    return torch.tensor(frames).permute(2, 0, 1).reshape(1, 2, 3, 3, 1)


def test_chain_parents():
    assert CHAIN.parents == (0, 0, 1)


def test_bone_of_a_chain_is_joint_minus_parent():
    x = chain_sequence()
    b = bone(x, CHAIN.parents)
    # frame 1: joint 1 - joint 0 = (1.0, 1.0); joint 2 - joint 1 = (1.5, 0.0)
    assert b[0, :, 1, 1, 0].tolist() == [1.0, 1.0]
    assert b[0, :, 1, 2, 0].tolist() == [1.5, 0.0]
    # the centre joint has no bone
    assert b[0, :, :, 0, 0].abs().sum() == 0
    # frame 0: joint 2 - joint 1 = (0.0, 2.0)
    assert b[0, :, 0, 2, 0].tolist() == [0.0, 2.0]


def test_motion_is_next_frame_minus_this_frame_and_zero_at_the_end():
    x = chain_sequence()
    m = motion(x)
    # joint 2: (1, 2) -> (3, 1) -> (0, 0)
    assert m[0, :, 0, 2, 0].tolist() == [2.0, -1.0]
    assert m[0, :, 1, 2, 0].tolist() == [-3.0, -1.0]
    assert m[0, :, 2].abs().sum() == 0


def test_bone_motion_is_motion_of_bones():
    x = chain_sequence()
    bm = make_stream(x, "bone_motion", CHAIN.parents)
    # bone of joint 2: frame 0 (0, 2), frame 1 (1.5, 0) -> motion (1.5, -2)
    assert bm[0, :, 0, 2, 0].tolist() == [1.5, -2.0]
    assert make_stream(x, "joint", CHAIN.parents) is x


def test_score_channel_is_not_differenced_and_missing_joints_stay_zero():
    x = chain_sequence()
    score = torch.ones(1, 1, 3, 3, 1)
    score[0, 0, 1, 1, 0] = 0.0  # joint 1 missing in frame 1
    score[0, 0, 0, 2, 0] = 0.5
    xs = torch.cat([x, score], dim=1)
    xs[0, :2, 1, 1, 0] = 0.0  # a missing joint arrives as zeros
    b = bone(xs, CHAIN.parents, score_channel=2)
    # joint 1 and its child joint 2 lose their bones in frame 1
    assert b[0, :, 1, 1, 0].tolist() == [0.0, 0.0, 0.0]
    assert b[0, :, 1, 2, 0].tolist() == [0.0, 0.0, 0.0]
    # bone score is the lower of the two joints' scores
    assert b[0, 2, 0, 2, 0].item() == 0.5
    m = motion(xs, score_channel=2)
    # joint 1's motion into and out of frame 1 is unknown
    assert m[0, :, 0, 1, 0].tolist() == [0.0, 0.0, 0.0]
    assert m[0, :, 1, 1, 0].tolist() == [0.0, 0.0, 0.0]
    # joint 0 is present throughout: its motion keeps its values and a score of 1
    assert m[0, :, 0, 0, 0].tolist() == [0.5, 0.0, 1.0]


def test_nan_joints_stay_nan_without_a_score_channel():
    x = chain_sequence()
    x[0, 0, 1, 1, 0] = float("nan")
    b = bone(x, CHAIN.parents)
    assert torch.isnan(b[0, 0, 1, 1, 0]) and torch.isnan(b[0, 0, 1, 2, 0])
    assert not torch.isnan(b[0, :, 0]).any()


def test_unknown_stream_and_wrong_parent_count_are_refused():
    with pytest.raises(ModelError, match="unknown stream"):
        StreamInput("velocity", CHAIN.parents)
    with pytest.raises(ModelError, match="parents"):
        bone(torch.zeros(1, 2, 3, 4, 1), CHAIN.parents)


def test_fold_and_pool_persons():
    x = torch.randn(2, 3, 4, 5, 2)
    x[1, ..., 1] = 0.0  # sample 1 has one person only
    folded = fold_persons(x)
    assert folded.shape == (4, 3, 4, 5)
    assert torch.equal(folded[1], x[0, ..., 1])
    features = torch.tensor([[1.0], [3.0], [5.0], [100.0]])
    pooled = pool_persons(features, x)
    # sample 0 averages both people; sample 1 ignores its empty slot
    assert pooled.flatten().tolist() == [2.0, 5.0]


class _Linear(nn.Module):
    """A deterministic sub-model: logits from the flattened input."""

    def __init__(self, features: int, classes: int, seed: int) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.fc = nn.Linear(features, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.flatten(1))


def test_fusion_is_the_weighted_mean_of_softmax_scores():
    x = torch.randn(4, 2, 3, 3, 1)
    a, b = _Linear(18, 5, 0), _Linear(18, 5, 1)
    fused = MultiStream({"joint": a, "bone": b}, weights={"joint": 3.0, "bone": 1.0})
    with torch.no_grad():
        pa, pb = a(x).softmax(-1), b(x).softmax(-1)
        expected = 0.75 * pa + 0.25 * pb
        out = fused(x)
    assert torch.allclose(out.softmax(-1), expected, atol=1e-6)
    assert torch.allclose(out.exp().sum(-1), torch.ones(4), atol=1e-6)
    assert torch.equal(out.argmax(-1), expected.argmax(-1))
    # equal weights by default
    even = MultiStream({"joint": a, "bone": b})
    with torch.no_grad():
        assert torch.allclose(even(x).exp(), (pa + pb) / 2, atol=1e-6)


def test_fusion_of_streams_built_into_models():
    from actscope.models import create_model

    kwargs = dict(num_classes=3, graph=CHAIN, in_channels=2, channels=(8, 8))
    branches = {s: create_model("stgcnpp_lite", stream=s, **kwargs) for s in ("joint", "bone")}
    fused = MultiStream(branches).eval()
    x = torch.randn(2, 2, 12, 3, 1)
    with torch.no_grad():
        expected = sum(m.eval()(x).softmax(-1) for m in branches.values()) / 2
        assert torch.allclose(fused(x).exp(), expected, atol=1e-6)


def test_a_model_built_for_a_stream_feeds_its_network_that_stream():
    from actscope.models import create_model

    kwargs = dict(num_classes=3, graph=CHAIN, in_channels=2, channels=(8, 8))
    on_joints = create_model("stgcnpp_lite", **kwargs).eval()
    on_bones = create_model("stgcnpp_lite", stream="bone", **kwargs).eval()
    on_bones.load_state_dict(on_joints.state_dict())
    x = torch.randn(2, 2, 12, 3, 1)
    with torch.no_grad():
        assert torch.allclose(on_bones(x), on_joints(bone(x, CHAIN.parents)), atol=1e-5)


def test_fusion_weights_must_match_branches():
    a = _Linear(4, 2, 0)
    with pytest.raises(ModelError, match="one weight per branch"):
        MultiStream({"joint": a}, weights={"bone": 1.0})
    with pytest.raises(ModelError, match="non-negative"):
        MultiStream({"joint": a}, weights={"joint": 0.0})
    with pytest.raises(ModelError, match="at least one"):
        MultiStream({})


def test_product_fusion_is_the_renormalised_weighted_mean_of_log_scores():
    x = torch.randn(4, 2, 3, 3, 1)
    a, b = _Linear(18, 5, 0), _Linear(18, 5, 1)
    fused = MultiStream({"joint": a, "bone": b}, {"joint": 1.0, "bone": 3.0}, fusion="product")
    with torch.no_grad():
        # geometric mean of the probabilities, weights 1/4 and 3/4, renormalised
        geometric = a(x).softmax(-1) ** 0.25 * b(x).softmax(-1) ** 0.75
        expected = geometric / geometric.sum(-1, keepdim=True)
        assert torch.allclose(fused(x).exp(), expected, atol=1e-6)
    with pytest.raises(ModelError, match="unknown fusion"):
        MultiStream({"joint": a}, fusion="max")


def test_multi_stream_builder_trains_every_branch_on_its_own_stream():
    from actscope.models import create_model

    model = create_model(
        "tcn_ms",
        num_classes=3,
        graph=CHAIN,
        in_channels=2,
        channels=(8, 8),
        streams=("joint", "bone"),
    )
    assert [m.stream.stream for m in model.branches.values()] == ["joint", "bone"]
    loss = torch.nn.functional.cross_entropy(
        model(torch.randn(4, 2, 12, 3, 1)), torch.arange(4) % 3
    )
    loss.backward()
    for branch in model.branches.values():
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in branch.head.parameters())


def test_multi_stream_builder_refuses_bad_streams_and_weights():
    from actscope.models import create_model

    with pytest.raises(ModelError, match="distinct"):
        create_model("tcn_ms", num_classes=3, streams=("joint", "joint"))
    with pytest.raises(ModelError, match="one each"):
        create_model("tcn_ms", num_classes=3, fusion_weights=(1.0,))
    with pytest.raises(ModelError, match="unknown stream"):
        create_model("sgn_ms", num_classes=3, streams=("joint", "velocity"))


def test_random_axis_scale_scales_each_axis_in_training_only():
    from actscope.models.streams import RandomAxisScale

    x = torch.rand(64, 4, 6, 3, 1) + 0.5
    augment = RandomAxisScale((0.8, 1.25), coords=3, score_channel=3)
    assert torch.equal(augment.eval()(x), x)
    out = augment.train()(x)
    ratio = out / x  # (N, C, T, V, M): one factor per sample and channel
    per_axis = ratio[:, :, 0, 0, 0]
    assert torch.allclose(ratio, per_axis[:, :, None, None, None].expand_as(ratio))
    assert torch.equal(out[:, 3], x[:, 3])  # the score channel is not scaled
    assert per_axis[:, :3].min() >= 0.8 and per_axis[:, :3].max() <= 1.25
    # axes are drawn independently, and differ between samples
    assert not torch.allclose(per_axis[:, 0], per_axis[:, 1])
    assert per_axis[:, 0].std() > 0.05
    with pytest.raises(ModelError, match="train_scale"):
        RandomAxisScale((1.2, 0.8), coords=3)


def test_ensemble_fusion_trains_each_branch_on_its_own_loss():
    from actscope.engine.trainer import training_loss

    x, y = torch.randn(6, 2, 3, 3, 1), torch.arange(6) % 5
    a, b = _Linear(18, 5, 0), _Linear(18, 5, 1)
    ensemble = MultiStream({"joint": a, "bone": b}, fusion="ensemble")
    outputs = ensemble.train()(x)
    assert set(outputs) == {"joint", "bone"}  # branch logits, for the engine
    loss, scores = training_loss(nn.CrossEntropyLoss(), outputs, y)
    loss.backward()
    expected = torch.autograd.grad(nn.functional.cross_entropy(a(x), y) / 2, a.fc.weight)[0]
    assert torch.allclose(a.fc.weight.grad, expected, atol=1e-6)  # b does not enter it
    with torch.no_grad():
        mean = (a(x).softmax(-1) + b(x).softmax(-1)) / 2
        assert torch.allclose(scores, mean, atol=1e-6)
        fused = ensemble.eval()(x)  # evaluation: fused like "mean"
    assert torch.allclose(fused.exp(), mean, atol=1e-6)
