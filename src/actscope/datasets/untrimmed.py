"""Untrimmed skeleton streams with known action segments, built from trimmed datasets.

Temporal action detection needs long recordings in which actions start and stop between
pauses, with the true start and end of each action. :func:`make_untrimmed` builds one from
trimmed sequences (one action each, e.g. the test subjects of UTD-MHAD): it puts them one
after another, in an order drawn from a seeded generator, with a pause before, between and
after them. A pause is a still pose held with small noise: the previous sequence's last
pose, turning into the next sequence's first pose over a slow cosine blend in the middle of
the pause (so the person does not jump between sequences), with Gaussian noise added to
every joint of every pause frame (sensor jitter). So that consecutive recordings meet where
the person stands, each sequence is moved (translated, not otherwise changed) to start at
the same place: the median over the sequences of the centroid of their first frame. The
action frames are otherwise the recorded ones; the ground truth of an action is the time
span of its frames.

The same ``seed`` and inputs always give the same stream.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from actscope.datasets.skeleton_base import SkeletonDataset, SkeletonItem
from actscope.errors import DatasetError
from actscope.pose.skeleton import Skeleton

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrueSegment:
    """One action of a stream: ``[start, end)`` in seconds, its class and source file."""

    start: float
    end: float
    label: str
    label_index: int
    source: str

    def to_dict(self) -> dict:
        return {"start": self.start, "end": self.end, "label": self.label}


@dataclass
class UntrimmedStream:
    """A ``skeleton`` ``(1, T, V, C)`` holding ``segments`` (in time order) and pauses."""

    name: str
    skeleton: Skeleton
    segments: list[TrueSegment]
    class_names: list[str]

    @property
    def duration(self) -> float:
        """Seconds."""
        return self.skeleton.duration

    def ground_truth(self) -> dict:
        """The segments in the form ``actscope eval-detection`` reads:
        ``{"video": name, "segments": [{"start", "end", "label"}, ...]}``."""
        return {"video": self.name, "segments": [s.to_dict() for s in self.segments]}


def make_untrimmed(
    items: Sequence[SkeletonItem],
    class_names: Sequence[str],
    *,
    seed: int = 0,
    pause: tuple[float, float] = (1.0, 3.0),
    blend: float = 0.5,
    noise: float = 0.005,
    name: str = "stream",
) -> UntrimmedStream:
    """Concatenate ``items`` in a seeded random order with still pauses around them.

    ``pause`` is the range (seconds) each pause's length is drawn from, uniformly; ``blend``
    the seconds of the turn from one still pose to the next in the middle of a pause
    (at least; the blend takes the middle half of longer pauses),
    ``noise`` the standard deviation of the jitter added to pause frames, in the skeleton's
    units (metres for Kinect world skeletons). Sequences with no frames are skipped.
    """
    if not items:
        raise DatasetError("no sequences to build an untrimmed stream from")
    if not 0 <= pause[0] <= pause[1]:
        raise DatasetError(f"pause must be (low, high) seconds with 0 <= low <= high: {pause}")
    first = items[0].skeleton.resample()
    home = _home(items)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(items))
    parts: list[np.ndarray] = []
    scores: list[np.ndarray] = []
    segments: list[TrueSegment] = []
    frames = 0
    previous: np.ndarray | None = None
    for index in order:
        item = items[index]
        sequence = _one_person(item, first)
        if sequence is None:
            continue
        coords = sequence.coords[0]  # (T, V, C); missing joints stay NaN
        coords = coords + (home - np.nanmean(coords[0], axis=0))
        still = _pause(previous, coords[0], rng, pause, blend, noise, first.fps)
        parts += [still, coords]
        scores += [np.ones(still.shape[:2], np.float32), sequence.scores[0]]
        frames += len(still)
        start, end = frames / first.fps, (frames + len(coords)) / first.fps
        segments.append(
            TrueSegment(start, end, class_names[item.label], item.label, str(item.path))
        )
        frames += len(coords)
        previous = coords[-1]
    if previous is None:
        raise DatasetError("every sequence given is empty; nothing to build a stream from")
    tail = _pause(previous, previous, rng, pause, blend, noise, first.fps)
    parts.append(tail)
    scores.append(np.ones(tail.shape[:2], np.float32))
    skeleton = first.replace(
        coords=np.concatenate(parts)[None],
        scores=np.concatenate(scores)[None],
        source=f"untrimmed:{name}:seed={seed}",
    )
    return UntrimmedStream(name, skeleton, segments, list(class_names))


def subject_streams(
    dataset: SkeletonDataset, subjects: Sequence[int], *, seed: int = 0, **options: object
) -> list[UntrimmedStream]:
    """One stream per subject of ``subjects``, each holding all of that subject's sequences;
    stream ``i`` is drawn with seed ``seed + i`` (``options``: see :func:`make_untrimmed`)."""
    streams = []
    for offset, subject in enumerate(subjects):
        mine = dataset.where(lambda r, s=subject: r.subject == s)
        if not len(mine):
            raise DatasetError(f"{dataset.name} has no sequences of subject {subject}")
        streams.append(
            make_untrimmed(
                list(mine),
                dataset.class_names,
                seed=seed + offset,
                name=f"{dataset.name}_s{subject}",
                **options,  # type: ignore[arg-type]
            )
        )
    return streams


def _home(items: Sequence[SkeletonItem]) -> np.ndarray:
    """``(C,)`` median over sequences of the centroid of their first frame."""
    starts = [
        np.nanmean(item.skeleton.coords[0, 0], axis=0)
        for item in items
        if item.skeleton.num_frames and item.skeleton.num_people
    ]
    return np.nanmedian(np.array(starts), axis=0) if starts else np.zeros(1)


def _one_person(item: SkeletonItem, reference: Skeleton) -> Skeleton | None:
    skeleton = item.skeleton.resample()  # evenly spaced frames (a no-op for most data)
    if (skeleton.layout, skeleton.channels, skeleton.fps) != (
        reference.layout,
        reference.channels,
        reference.fps,
    ):
        raise DatasetError(
            f"{item.path}: layout, channels or fps differ from the other sequences; build "
            "a stream from sequences of one dataset"
        )
    if skeleton.num_frames == 0 or skeleton.num_people == 0:
        log.info("%s: no frames; left out of the stream", item.path)
        return None
    return skeleton.people([0])


def _pause(
    before: np.ndarray | None,
    after: np.ndarray,
    rng: np.random.Generator,
    pause: tuple[float, float],
    blend: float,
    noise: float,
    fps: float,
) -> np.ndarray:
    """``(P, V, C)`` pause frames: ``before`` held, blended into ``after``, held, plus noise."""
    count = round(rng.uniform(*pause) * fps)
    before = after if before is None else before
    turn = min(max(blend * fps, count / 2, 1.0), max(count, 1))  # frames of the blend
    ramp = np.clip((np.arange(count) - (count - turn) / 2) / turn, 0, 1)
    weight = (1 - np.cos(np.pi * ramp))[:, None, None] / 2  # cosine ease from 0 to 1
    still = before[None] * (1 - weight) + after[None] * weight
    return (still + rng.normal(0.0, noise, still.shape)).astype(np.float32)
