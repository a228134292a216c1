"""Temporal action detection metrics: average precision per class at temporal IoU thresholds.

The protocol is the one of the ActivityNet evaluation code, also used for THUMOS'14 by most
detection papers:

- per class, predictions from all videos are ranked by score (ties keep their input order);
- each prediction is matched, in rank order, to the ground-truth segment of its video and
  class with the highest temporal IoU among those not matched yet; it is a true positive if
  that IoU is at least the threshold, else a false positive (a second detection of an
  already matched action is a false positive);
- AP is the area under the interpolated precision-recall curve (precision made
  monotonically non-increasing, summed over the recall steps);
- mAP is the mean AP over the classes that occur in the ground truth. A class absent from
  the ground truth has no AP and its predictions count against nothing; a class present in
  the ground truth with no predictions has AP 0. A video with predictions but no ground
  truth entry counts as a video with no actions (all its predictions are false positives).

THUMOS'14 reports mAP at tIoU 0.3, 0.4, 0.5, 0.6, 0.7; ActivityNet the average of mAP over
0.5, 0.55, ..., 0.95.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from actscope.inference.segments import Segment, read_segments, temporal_iou

Segments = Mapping[str, Sequence[Segment]]
"""Segments per video name."""

THUMOS_TIOUS = (0.3, 0.4, 0.5, 0.6, 0.7)
ACTIVITYNET_TIOUS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))


def average_precision(true_positive: np.ndarray, num_positives: int) -> float:
    """Interpolated AP of a ranked list: ``true_positive (N,)`` bool in rank order, out of
    ``num_positives`` ground-truth segments."""
    if num_positives <= 0:
        raise ValueError("AP is undefined without ground-truth segments")
    hits = np.asarray(true_positive, dtype=np.float64)
    if not len(hits):
        return 0.0
    tp = np.cumsum(hits)
    precision = tp / np.arange(1, len(hits) + 1)
    recall = tp / num_positives
    precision = np.concatenate([[0.0], precision, [0.0]])
    recall = np.concatenate([[0.0], recall, [1.0]])
    precision = np.maximum.accumulate(precision[::-1])[::-1]  # the interpolated envelope
    steps = np.flatnonzero(recall[1:] != recall[:-1]) + 1
    return float(np.sum((recall[steps] - recall[steps - 1]) * precision[steps]))


def match(
    predictions: Sequence[tuple[str, Segment]],
    truths: Mapping[str, Sequence[Segment]],
    threshold: float,
) -> np.ndarray:
    """True-positive flags ``(N,)`` of one class's ``(video, segment)`` predictions, in rank
    order (by decreasing score, stable), against that class's ``truths`` per video."""
    order = sorted(range(len(predictions)), key=lambda i: -predictions[i][1].score)
    spans = {
        v: np.array([(s.start, s.end) for s in segs]).reshape(-1, 2) for v, segs in truths.items()
    }
    used = {v: np.zeros(len(segs), bool) for v, segs in truths.items()}
    hits = np.zeros(len(order), bool)
    for rank, i in enumerate(order):
        video, segment = predictions[i]
        if video not in spans or not len(spans[video]):
            continue
        overlaps = temporal_iou((segment.start, segment.end), spans[video])
        for j in np.argsort(-overlaps, kind="stable"):
            if overlaps[j] < threshold:
                break
            if not used[video][j]:
                used[video][j] = hits[rank] = True
                break
    return hits


@dataclass
class DetectionReport:
    """AP per class and threshold, and the means.

    ``ap[label]`` lists one AP per threshold in ``thresholds``; ``mean_ap`` has one mAP per
    threshold; ``average_map`` is their mean. ``absent`` lists predicted classes that are
    not in the ground truth (left out of the mean); ``unmatched_videos`` the predicted videos
    with no ground-truth entry.
    """

    thresholds: tuple[float, ...]
    ap: dict[str, list[float]]
    counts: dict[str, int]
    absent: list[str] = field(default_factory=list)
    unmatched_videos: list[str] = field(default_factory=list)

    @property
    def mean_ap(self) -> list[float]:
        if not self.ap:
            return [0.0] * len(self.thresholds)
        return [float(v) for v in np.mean(np.array(list(self.ap.values())), axis=0)]

    @property
    def average_map(self) -> float:
        return float(np.mean(self.mean_ap))

    def at(self, threshold: float) -> float:
        """mAP at one of the evaluated thresholds."""
        for t, value in zip(self.thresholds, self.mean_ap, strict=True):
            if abs(t - threshold) < 1e-9:
                return value
        raise KeyError(f"tIoU {threshold} was not evaluated; thresholds: {self.thresholds}")

    def to_dict(self) -> dict:
        return {
            "thresholds": list(self.thresholds),
            "mAP": [round(v, 4) for v in self.mean_ap],
            "average_mAP": round(self.average_map, 4),
            "classes": len(self.ap),
            "ground_truth_segments": int(sum(self.counts.values())),
            "per_class_ap": {k: [round(v, 4) for v in vs] for k, vs in sorted(self.ap.items())},
            "absent_classes": self.absent,
            "videos_without_ground_truth": self.unmatched_videos,
        }


def detection_map(
    predictions: Mapping[str, Sequence[Segment]],
    ground_truth: Mapping[str, Sequence[Segment]],
    thresholds: Sequence[float] = THUMOS_TIOUS,
) -> DetectionReport:
    """AP of every ground-truth class at every threshold; both arguments map a video name to
    its segments (ground-truth scores are ignored)."""
    truths: dict[str, dict[str, list[Segment]]] = {}
    for video, segments in ground_truth.items():
        for s in segments:
            truths.setdefault(s.label, {}).setdefault(video, []).append(s)
    ranked: dict[str, list[tuple[str, Segment]]] = {}
    for video, segments in predictions.items():
        for s in segments:
            ranked.setdefault(s.label, []).append((video, s))
    ap = {}
    for label, by_video in truths.items():
        count = sum(len(v) for v in by_video.values())
        ap[label] = [
            average_precision(match(ranked.get(label, []), by_video, t), count) for t in thresholds
        ]
    return DetectionReport(
        tuple(float(t) for t in thresholds),
        ap,
        {label: sum(len(v) for v in by_video.values()) for label, by_video in truths.items()},
        absent=sorted(set(ranked) - set(truths)),
        unmatched_videos=sorted(v for v in predictions if v not in ground_truth),
    )


def evaluate_detection(
    predictions: Segments | str | os.PathLike, ground_truth: Segments | str | os.PathLike
) -> dict[str, DetectionReport]:
    """Both protocols: ``{"thumos": mAP at 0.3:0.7, "activitynet": mAP at 0.5:0.95}``.

    Each argument maps video names to segments, or is a file :func:`read_segments` reads
    (JSON as ``actscope detect --json`` writes it, or CSV); predictions read from a file are
    matched to the ground truth's videos by :func:`align_videos`.
    """
    if isinstance(ground_truth, (str, os.PathLike)):
        ground_truth = read_segments(ground_truth)
    if isinstance(predictions, (str, os.PathLike)):
        predictions = align_videos(read_segments(predictions), ground_truth)
    return {
        "thumos": detection_map(predictions, ground_truth, THUMOS_TIOUS),
        "activitynet": detection_map(predictions, ground_truth, ACTIVITYNET_TIOUS),
    }


def align_videos(
    predictions: Mapping[str, Sequence[Segment]], ground_truth: Mapping[str, Sequence[Segment]]
) -> dict[str, list[Segment]]:
    """``predictions`` keyed by the ground truth's video names where they differ only in
    folder (``runs/clip.mp4`` vs ``clip.mp4``), or when each side holds exactly one video."""
    if len(predictions) == 1 and len(ground_truth) == 1:
        return {next(iter(ground_truth)): list(next(iter(predictions.values())))}
    by_name: dict[str, list[str]] = {}
    for video in ground_truth:
        by_name.setdefault(_base(video), []).append(video)
    aligned: dict[str, list[Segment]] = {}
    for video, segments in predictions.items():
        matches = by_name.get(_base(video), [])
        key = video if video in ground_truth or len(matches) != 1 else matches[0]
        aligned.setdefault(key, []).extend(segments)
    return aligned


def _base(video: str) -> str:
    return video.replace("\\", "/").rsplit("/", 1)[-1]
