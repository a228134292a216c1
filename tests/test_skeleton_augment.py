"""Skeleton augmentations: shapes, seeding, geometry, and missing joints staying missing."""

from __future__ import annotations

import math

import pytest
import torch

from actscope.datasets.skeleton_augment import (
    Compose,
    FillMissing,
    GaussianNoise,
    JointDropout,
    RandomFlip,
    RandomRotation,
    RandomScale,
    RandomShear,
    TemporalCrop,
    default_train_augment,
    missing_mask,
    resample,
)
from actscope.errors import ConfigError, DatasetError

# A 4-joint chain 0-1-2-3 (parent of j is j - 1) and two people.
BONES = [(0, 1), (1, 2), (2, 3)]


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def sequence(channels: int = 3, frames: int = 20, joints: int = 4, people: int = 2):
    return torch.randn(channels, frames, joints, people, generator=gen(123))


def bone_lengths(x: torch.Tensor, ndim: int) -> torch.Tensor:
    return torch.stack([(x[:ndim, :, b] - x[:ndim, :, a]).norm(dim=0) for a, b in BONES])


def all_transforms(ndim: int = 3):
    return [
        RandomRotation(30.0, ndim=ndim),
        RandomScale((0.8, 1.2), per_axis=True, ndim=ndim),
        RandomShear(0.3, ndim=ndim),
        TemporalCrop(16, (0.5, 1.0), ndim=ndim),
        JointDropout(0.3, ndim=ndim),
        GaussianNoise(0.05, ndim=ndim),
        RandomFlip([3, 2, 1, 0], p=0.5, ndim=ndim),
    ]


@pytest.mark.parametrize("transform", all_transforms(), ids=lambda t: type(t).__name__)
def test_shapes_kept_and_seeded_runs_repeat(transform):
    x = sequence()
    a = transform(x, generator=gen(1))
    b = transform(x, generator=gen(1))
    expected_frames = 16 if isinstance(transform, TemporalCrop) else 20
    assert a.shape == (3, expected_frames, 4, 2)
    assert torch.equal(torch.nan_to_num(a, nan=7.0), torch.nan_to_num(b, nan=7.0))
    # the input is never modified in place
    assert torch.equal(x, sequence())


@pytest.mark.parametrize("transform", all_transforms()[:4], ids=lambda t: type(t).__name__)
def test_different_seeds_differ(transform):
    x = sequence()
    assert not torch.equal(transform(x, generator=gen(1)), transform(x, generator=gen(2)))


def test_global_generator_by_default():
    x = sequence()
    torch.manual_seed(5)
    a = RandomRotation(30.0)(x)
    torch.manual_seed(5)
    assert torch.equal(a, RandomRotation(30.0)(x))


@pytest.mark.parametrize("ndim", [2, 3])
def test_rotation_preserves_bone_lengths_but_moves_joints(ndim):
    x = sequence(channels=ndim)
    y = RandomRotation(40.0, ndim=ndim)(x, generator=gen(3))
    assert torch.allclose(bone_lengths(x, ndim), bone_lengths(y, ndim), atol=1e-5)
    assert not torch.allclose(x, y, atol=1e-3)


def test_rotation_is_about_the_origin_within_the_angle_limit():
    # a point on the x axis, rotated in-plane by at most 10 degrees, stays within 10 degrees
    x = torch.zeros(2, 1, 1, 1)
    x[0] = 1.0
    for seed in range(20):
        y = RandomRotation(10.0, ndim=2)(x, generator=gen(seed))
        angle = math.degrees(math.atan2(y[1].item(), y[0].item()))
        assert abs(angle) <= 10.0 + 1e-6
        assert math.isclose(y.norm().item(), 1.0, rel_tol=1e-6)


def test_scale_changes_lengths_within_its_range():
    x = sequence()
    y = RandomScale((0.5, 0.6))(x, generator=gen(0))
    ratio = bone_lengths(y, 3) / bone_lengths(x, 3)
    assert torch.allclose(ratio, ratio.flatten()[0].expand_as(ratio), atol=1e-5)
    assert 0.5 <= ratio.flatten()[0].item() <= 0.6


def test_shear_leaves_the_origin_and_score_alone():
    x = torch.cat([sequence(), torch.full((1, 20, 4, 2), 0.9)])
    x[:3, :, 0] = 0.0
    y = RandomShear(0.5)(x, generator=gen(0))
    assert torch.equal(y[:3, :, 0], torch.zeros(3, 20, 2))
    assert torch.equal(y[3], x[3])
    assert not torch.allclose(y[:3], x[:3])


def with_missing(score: bool) -> torch.Tensor:
    """A sequence where joint 2 of person 0 is missing in frames 5-9, as NaN coordinates or as
    zeros with score 0."""
    x = sequence()
    if score:
        x = torch.cat([x, torch.ones(1, 20, 4, 2)])
        x[:3, 5:10, 2, 0] = 0.0
        x[3, 5:10, 2, 0] = 0.0
    else:
        x[:, 5:10, 2, 0] = float("nan")
    return x


@pytest.mark.parametrize("score", [False, True], ids=["nan", "score0"])
@pytest.mark.parametrize(
    "transform", [*all_transforms()[:3], all_transforms()[5]], ids=lambda t: type(t).__name__
)
def test_geometric_transforms_keep_missing_joints_exactly(transform, score):
    x = with_missing(score)
    y = transform(x, generator=gen(4))
    missing = missing_mask(x)
    assert torch.equal(missing_mask(y), missing)
    assert torch.equal(torch.nan_to_num(y[:, missing], 9.0), torch.nan_to_num(x[:, missing], 9.0))


@pytest.mark.parametrize("score", [False, True], ids=["nan", "score0"])
def test_joint_dropout_adds_missing_joints_and_never_restores_any(score):
    x = with_missing(score)
    y = JointDropout(0.5)(x, generator=gen(0))
    before, after = missing_mask(x), missing_mask(y)
    assert (after | ~before).all()  # missing stays missing
    assert after.sum() > before.sum()
    # a whole joint goes: each (joint, person) is missing in all frames or as before
    dropped = after & ~before
    for v in range(4):
        for m in range(2):
            if dropped[:, v, m].any():
                assert after[:, v, m].all()
    # present joints are untouched
    keep = ~after
    assert torch.equal(y[:, keep], x[:, keep])
    if score:
        assert (y[:3, after] == 0).all() and (y[3, after] == 0).all()


def test_joint_dropout_rate():
    x = torch.randn(3, 50, 20, 1)
    dropped = missing_mask(JointDropout(0.25, per_frame=True)(x, generator=gen(0)))
    assert 0.2 < dropped.float().mean().item() < 0.3


@pytest.mark.parametrize("score", [False, True], ids=["nan", "score0"])
def test_noise_spares_missing_joints(score):
    x = with_missing(score)
    y = GaussianNoise(0.1)(x, generator=gen(0))
    missing = missing_mask(x)
    assert torch.equal(missing_mask(y), missing)
    noise = (y[:3] - x[:3])[:, ~missing]
    assert 0.08 < noise.std().item() < 0.12


def test_resample_interpolates_linearly_and_keeps_the_ends():
    # coordinates that grow linearly with the frame index: 0, 1, ..., 9
    x = torch.arange(10.0).view(1, 10, 1, 1).expand(3, 10, 2, 1).clone()
    y = resample(x, 19)
    assert torch.allclose(y[0, :, 0, 0], torch.arange(19) * 0.5)
    z = resample(x, 4)
    assert torch.allclose(z[0, :, 0, 0], torch.tensor([0.0, 3.0, 6.0, 9.0]))


@pytest.mark.parametrize("score", [False, True], ids=["nan", "score0"])
def test_resampled_frames_from_missing_frames_are_missing(score):
    x = with_missing(score)  # joint 2 of person 0 missing in frames 5..9 of 0..19
    y = resample(x, 39)  # output frame k sits at input frame k / 2
    gone = missing_mask(y)[:, 2, 0]
    # frames 4.5 (between present 4 and missing 5) through 9.5 are missing, the rest present
    expected = torch.tensor([4.5 <= k / 2 <= 9.5 for k in range(39)])
    assert torch.equal(gone, expected)
    assert not missing_mask(y)[:, [0, 1, 3]].any()


def test_temporal_crop_of_the_whole_sequence_is_resampling():
    x = sequence()
    assert torch.equal(TemporalCrop(12, (1.0, 1.0))(x, generator=gen(0)), resample(x, 12))


def test_temporal_crop_takes_a_contiguous_window():
    x = torch.arange(40.0).view(1, 40, 1, 1).expand(3, 40, 1, 1).clone()
    y = TemporalCrop(10, (0.5, 0.5))(x, generator=gen(7))[0, :, 0, 0]
    assert math.isclose(y[-1].item() - y[0].item(), 19.0, abs_tol=1e-5)  # 20 frames
    assert torch.all(y[1:] > y[:-1])


def test_flip_mirrors_x_and_swaps_joints():
    x = sequence()
    y = RandomFlip([3, 2, 1, 0], p=1.0)(x, generator=gen(0))
    assert torch.equal(y[0, :, 0], -x[0, :, 3])
    assert torch.equal(y[1:, :, 1], x[1:, :, 2])
    assert torch.equal(RandomFlip([3, 2, 1, 0], p=0.0)(x), x)


def test_fill_missing_and_compose():
    x = with_missing(False)
    pipeline = default_train_augment(32)
    y = pipeline(x, generator=gen(0))
    assert y.shape == (3, 32, 4, 2)
    assert not torch.isnan(y).any()
    assert torch.equal(pipeline(x, generator=gen(0)), y)
    assert torch.equal(FillMissing()(x)[:, 5:10, 2, 0], torch.zeros(3, 5))
    assert "TemporalCrop" in repr(pipeline)
    both = Compose([RandomScale((2.0, 2.0)), RandomScale((0.5, 0.5))])
    assert torch.allclose(both(sequence()), sequence(), atol=1e-6)


def test_2d_with_score_channel():
    x = torch.cat([torch.randn(2, 20, 4, 1), torch.rand(1, 20, 4, 1) + 0.1])
    y = default_train_augment(16, ndim=2)(x, generator=gen(0))
    assert y.shape == (3, 16, 4, 1)
    assert (y[2] >= 0).all() and (y[2] <= 1.1).all()


def test_wrong_shapes_and_settings_are_refused():
    with pytest.raises(DatasetError, match="C = 3"):
        RandomRotation(10.0)(torch.zeros(5, 4, 3, 1))
    with pytest.raises(DatasetError, match=r"\(C, T, V, M\)"):
        GaussianNoise()(torch.zeros(3, 4, 3))
    with pytest.raises(ConfigError):
        RandomRotation((10.0, 5.0))
    with pytest.raises(ConfigError):
        RandomScale((1.2, 0.8))
    with pytest.raises(ConfigError):
        TemporalCrop(0)
    with pytest.raises(ConfigError):
        JointDropout(1.5)
    with pytest.raises(ConfigError):
        RandomFlip([0, 0, 1])
    with pytest.raises(ConfigError):
        GaussianNoise(0.1, ndim=4)
