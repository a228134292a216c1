"""Property tests for the frame-index samplers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from actscope.video import DenseSampler, MultiViewSampler, UniformSampler

frames = st.integers(min_value=1, max_value=5000)
small = st.integers(min_value=1, max_value=64)
seeds = st.integers(min_value=0, max_value=2**32 - 1)


@given(num_frames=frames, segments=small, random=st.booleans(), seed=seeds)
def test_uniform_sampler_one_index_per_segment(num_frames, segments, random, seed):
    indices = UniformSampler(segments, random=random)(num_frames, np.random.default_rng(seed))
    assert indices.shape == (segments,)
    assert indices.dtype == np.int64
    assert indices.min() >= 0 and indices.max() < num_frames
    assert np.all(np.diff(indices) >= 0)
    # Segment i spans [i * n / k, (i + 1) * n / k): its sample must lie inside it.
    starts = np.arange(segments) * num_frames / segments
    ends = (np.arange(segments) + 1) * num_frames / segments
    assert np.all(indices >= np.floor(starts)) and np.all(indices < np.maximum(np.ceil(ends), 1))
    if num_frames >= segments:
        assert np.all(np.diff(indices) > 0)
    else:
        assert set(indices.tolist()) == set(range(num_frames))  # every frame used


@given(num_frames=frames, segments=small)
def test_uniform_sampler_test_mode_is_deterministic_and_central(num_frames, segments):
    sampler = UniformSampler(segments)
    first, second = sampler(num_frames), sampler(num_frames)
    np.testing.assert_array_equal(first, second)
    middles = (np.arange(segments) + 0.5) * num_frames / segments
    assert np.all(np.abs(first - middles) <= 1.0)


def test_uniform_sampler_random_mode_varies():
    sampler = UniformSampler(8, random=True)
    draws = {tuple(sampler(800, np.random.default_rng(seed))) for seed in range(5)}
    assert len(draws) > 1


@given(
    num_frames=frames, clip_len=small, stride=st.integers(1, 8), random=st.booleans(), seed=seeds
)
def test_dense_sampler(num_frames, clip_len, stride, random, seed):
    sampler = DenseSampler(clip_len, stride, random=random)
    indices = sampler(num_frames, np.random.default_rng(seed))
    assert indices.shape == (clip_len,)
    assert indices.min() >= 0 and indices.max() < num_frames
    steps = np.diff(indices)
    assert np.all(steps >= 0)
    if sampler.span <= num_frames:
        assert np.all(steps == stride)
    else:  # too short: starts at 0 and repeats the last frame
        assert indices[0] == 0 and indices[-1] == num_frames - 1
        assert np.all((steps == stride) | (steps == 0) | (indices[1:] == num_frames - 1))


def test_dense_sampler_centres_the_clip():
    indices = DenseSampler(4, 2)(101)  # span 7, slack 94 -> start 47
    np.testing.assert_array_equal(indices, [47, 49, 51, 53])


@given(num_frames=frames, clips=st.integers(1, 10), clip_len=small, stride=st.integers(1, 4))
def test_multi_view_sampler(num_frames, clips, clip_len, stride):
    views = MultiViewSampler(clips, clip_len, stride)(num_frames)
    assert views.shape == (clips, clip_len)
    assert views.min() >= 0 and views.max() < num_frames
    assert np.all(np.diff(views, axis=1) >= 0)
    assert np.all(np.diff(views[:, 0]) >= 0)  # clip starts ordered through the video
    span = (clip_len - 1) * stride + 1
    if clips > 1 and num_frames >= span:
        # the first view starts at the first frame, the last one ends at the last frame
        assert views[0, 0] == 0 and views[-1, -1] == num_frames - 1


@pytest.mark.parametrize(
    "bad",
    [
        lambda: UniformSampler(0)(10),
        lambda: UniformSampler(4)(0),
        lambda: DenseSampler(8, 0)(10),
        lambda: MultiViewSampler(0, 8)(10),
    ],
)
def test_samplers_reject_nonsense(bad):
    with pytest.raises(ValueError):
        bad()
