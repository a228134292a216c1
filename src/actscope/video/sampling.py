"""Frame-index samplers: which frames of a video a model sees.

Samplers work on frame counts only (from :func:`actscope.video.probe`), so a reader can
compute every index before decoding and then decode in one sequential pass. Each sampler is
a callable ``sampler(num_frames, rng=None) -> indices`` (int64, presentation order), which
:func:`actscope.video.read_video` accepts in place of explicit indices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _check(num_frames: int, **positive: int) -> None:
    if num_frames < 1:
        raise ValueError(f"num_frames must be at least 1, got {num_frames}")
    for name, value in positive.items():
        if value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}")


@dataclass(frozen=True)
class UniformSampler:
    """TSN segment sampling: split the video into ``num_segments`` equal segments, one frame each.

    Deterministic mode takes each segment's middle frame; ``random=True`` (training) takes a
    random frame inside each segment. Returns ``(num_segments,)``, non-decreasing, strictly
    increasing when the video has at least ``num_segments`` frames, and covering every frame
    when it has fewer.
    """

    num_segments: int
    random: bool = False

    def __call__(self, num_frames: int, rng: np.random.Generator | None = None) -> np.ndarray:
        _check(num_frames, num_segments=self.num_segments)
        edges = np.arange(self.num_segments + 1) * num_frames / self.num_segments
        if not self.random:
            return np.floor((edges[:-1] + edges[1:]) / 2).astype(np.int64)
        # Integer segment edges: non-empty, disjoint segments whenever num_frames >= segments.
        bounds = np.floor(edges).astype(np.int64)
        low, high = bounds[:-1], np.maximum(bounds[1:], bounds[:-1] + 1)
        return (rng or np.random.default_rng()).integers(low, high).astype(np.int64)


@dataclass(frozen=True)
class DenseSampler:
    """A dense clip: ``clip_len`` frames, ``stride`` frames apart.

    Centred in the video by default, or at a random start with ``random=True`` (training).
    A video shorter than the clip's span repeats its last frame. Returns ``(clip_len,)``.
    """

    clip_len: int
    stride: int = 1
    random: bool = False

    @property
    def span(self) -> int:
        """Frames covered from the clip's first to its last index, inclusive."""
        return (self.clip_len - 1) * self.stride + 1

    def __call__(self, num_frames: int, rng: np.random.Generator | None = None) -> np.ndarray:
        _check(num_frames, clip_len=self.clip_len, stride=self.stride)
        slack = max(num_frames - self.span, 0)
        if self.random:
            start = int((rng or np.random.default_rng()).integers(0, slack + 1))
        else:
            start = slack // 2
        return clip_at(start, self.clip_len, self.stride, num_frames)


@dataclass(frozen=True)
class MultiViewSampler:
    """Multi-view testing: ``num_clips`` dense clips with starts spread evenly over the video.

    Returns ``(num_clips, clip_len)``; scores of the views are averaged by the caller.
    Spatial views (e.g. three crops) are made from each clip by
    :class:`actscope.video.transforms.ThreeCrop`.
    """

    num_clips: int
    clip_len: int
    stride: int = 1

    def __call__(self, num_frames: int, rng: np.random.Generator | None = None) -> np.ndarray:
        _check(num_frames, num_clips=self.num_clips, clip_len=self.clip_len, stride=self.stride)
        slack = max(num_frames - DenseSampler(self.clip_len, self.stride).span, 0)
        if self.num_clips == 1:
            starts = np.array([slack // 2])
        else:
            starts = np.round(np.linspace(0, slack, self.num_clips)).astype(np.int64)
        return np.stack([clip_at(int(s), self.clip_len, self.stride, num_frames) for s in starts])


def clip_at(start: int, clip_len: int, stride: int, num_frames: int) -> np.ndarray:
    """Indices ``start, start + stride, ...`` (``clip_len`` of them), clamped to the last frame."""
    return np.minimum(start + np.arange(clip_len, dtype=np.int64) * stride, num_frames - 1)
