"""Action recognition on a live pose stream: a sliding window of poses, a skeleton model,
and hysteresis that turns per-window scores into steady start/end events.

The window is rebuilt on a regular time grid at each evaluation, so frames the pipeline
skipped are simply missing joints (filled over time by the model's features) instead of
squeezing time. Windows in which a person is present in fewer than half of the frames
are not scored: nobody in view means no action, never a guess.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from actscope.live.pipeline import Analysis, PoseSample
from actscope.pose.camera import CAMERA_SPACE, place_in_camera
from actscope.pose.skeleton import Skeleton

log = logging.getLogger(__name__)

GRID_FPS = 30.0
"""Time grid (frames per second) on which a window's poses are laid out for the model."""
MIN_PRESENT = 0.5
"""Share of a window's frames that must show a person for the window to be scored."""


class SkeletonClassifier(Protocol):
    """What the analyser needs from a model (an
    :class:`actscope.inference.SkeletonRecognizer`)."""

    class_names: list[str]

    @property
    def window_seconds(self) -> float: ...

    @property
    def skeleton_space(self) -> str: ...

    def skeleton_scores(self, skeletons: list[Skeleton]) -> np.ndarray: ...


@dataclass
class _Segment:
    action: str
    start: float
    scores: list[float] = field(default_factory=list)


class ActionTracker:
    """Hysteresis over class probabilities: no flicker between labels.

    An action starts when its probability has stayed at or above ``on`` for ``min_start``
    seconds (the start time is when it first crossed); it ends when its probability has
    stayed below ``off`` for ``min_end`` seconds, when another class has held ``on`` for
    ``min_start`` seconds, or at once when nobody is in view (``update(t, None)``).
    Classes in ``ignore`` (e.g. a background class) are never reported. Times in seconds.
    """

    def __init__(
        self,
        class_names: Sequence[str],
        *,
        on: float = 0.6,
        off: float = 0.4,
        min_start: float = 0.5,
        min_end: float = 0.5,
        ignore: Sequence[str] = (),
    ) -> None:
        if not 0 <= off <= on <= 1:
            raise ValueError(f"need 0 <= off <= on <= 1, got on={on}, off={off}")
        self.class_names = list(class_names)
        self.on, self.off = on, off
        self.min_start, self.min_end = min_start, min_end
        self.ignore = set(ignore)
        self.active: _Segment | None = None
        self._candidate: tuple[str, float] | None = None
        self._below_since: float | None = None

    def update(self, time: float, probabilities: np.ndarray | None) -> list[dict]:
        """Events caused by the scores ``(K,)`` at stream time ``time`` (None: nobody)."""
        if probabilities is None:
            self._candidate = None
            return self._end(time, "nobody") if self.active else []
        events: list[dict] = []
        top = int(np.argmax(probabilities))
        name, score = self.class_names[top], float(probabilities[top])
        if self.active is not None:
            mine = float(probabilities[self.class_names.index(self.active.action)])
            self.active.scores.append(mine)
            if mine < self.off:
                self._below_since = time if self._below_since is None else self._below_since
                if time - self._below_since >= self.min_end:
                    events += self._end(self._below_since, "score_drop")
            else:
                self._below_since = None
        current = self.active.action if self.active else None
        if score < self.on or name == current or name in self.ignore:
            self._candidate = None
            return events
        if self._candidate is None or self._candidate[0] != name:
            self._candidate = (name, time)
        since = self._candidate[1]
        if time - since >= self.min_start:
            if self.active is not None:
                events += self._end(since, "switch")
            self.active = _Segment(name, since, [score])
            self._candidate = None
            events.append(
                {
                    "event": "action_start",
                    "action": name,
                    "time": round(since, 3),
                    "score": round(score, 4),
                    "announced": round(time, 3),
                }
            )
        return events

    def finish(self, time: float) -> list[dict]:
        """Close the open action at the end of the stream."""
        return self._end(time, "end_of_stream") if self.active else []

    def _end(self, time: float, reason: str) -> list[dict]:
        segment = self.active
        assert segment is not None
        self.active, self._below_since = None, None
        scores = np.asarray(segment.scores or [0.0])
        end = max(time, segment.start)
        return [
            {
                "event": "action_end",
                "action": segment.action,
                "start": round(segment.start, 3),
                "time": round(end, 3),
                "duration": round(end - segment.start, 3),
                "mean_score": round(float(scores.mean()), 4),
                "max_score": round(float(scores.max()), 4),
                "reason": reason,
            }
        ]


class TimedPoseHistory:
    """The poses of the last ``seconds`` of stream time, by the time each frame was
    captured, laid out on a regular time grid as windows for a model.

    A live pipeline skips frames when it falls behind, so frames are placed by their time,
    not counted: a skipped frame is a missing joint, not squeezed time. (Offline scoring
    keeps every frame by index instead: :class:`actscope.inference.scoring.FramePoseHistory`.)
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._samples: collections.deque[PoseSample] = collections.deque()

    def extend(self, samples: Sequence[PoseSample]) -> None:
        self._samples.extend(samples)
        newest = self._samples[-1].time
        while self._samples and self._samples[0].time < newest - self.seconds:
            self._samples.popleft()

    def window(self, seconds: float, world: bool = False, camera: bool = False) -> Skeleton | None:
        """The last ``seconds`` (ending at the newest frame) as a one-person skeleton on a
        :data:`GRID_FPS` grid
        ``(1, T, V, C)``, or ``None`` when a person is in fewer than half of its frames.

        Grid slots no frame fell on, and frames without a person, are missing joints.
        ``world`` takes the 3D world keypoints instead of the image ones; ``camera`` the
        world keypoints placed in the camera's frame (:mod:`actscope.pose.camera`).
        """
        if not self._samples:
            return None
        end = self._samples[-1].time
        metric = world or camera
        recent = [s for s in self._samples if s.time > end - seconds + 0.5 / GRID_FPS]
        present = [s for s in recent if s.has_person and (not metric or s.world is not None)]
        if len(present) < MIN_PRESENT * len(recent):
            return None
        slots = max(1, round(seconds * GRID_FPS))
        first = present[0]
        height, width = first.image.shape[:2]
        points = [s.world if metric else s.keypoints for s in present]
        if camera:
            keypoints = np.stack([s.keypoints for s in present])
            points = list(place_in_camera(keypoints, np.stack(points), (width, height)))
        joints = len(first.scores)
        coords = np.full((1, slots, joints, 3 if metric else 2), np.nan, np.float32)
        scores = np.zeros((1, slots, joints), np.float32)
        for sample, point in zip(present, points, strict=True):
            slot = slots - 1 - round((end - sample.time) * GRID_FPS)
            if 0 <= slot < slots:
                coords[0, slot] = point
                scores[0, slot] = sample.scores
        return Skeleton(
            coords,
            scores,
            first.layout,
            GRID_FPS,
            CAMERA_SPACE if camera else "world" if world else "image",
            "live",
            None if world else (width, height),
        )


class ActionAnalyzer:
    """Scores the last ``window`` seconds of poses every ``hop`` seconds of stream time
    with ``classifier`` and reports steady actions through an :class:`ActionTracker`."""

    def __init__(
        self,
        classifier: SkeletonClassifier,
        *,
        window: float | None = None,
        hop: float = 0.25,
        tracker: ActionTracker | None = None,
    ) -> None:
        self.classifier = classifier
        self.window = window or classifier.window_seconds
        self.hop = hop
        self.tracker = tracker or ActionTracker(classifier.class_names)
        self.history = TimedPoseHistory(self.window + 1.0)
        self.world = classifier.skeleton_space == "world"
        self.camera = classifier.skeleton_space == CAMERA_SPACE
        self._last_eval: float | None = None
        self._probabilities: np.ndarray | None = None

    def update(self, samples: list[PoseSample]) -> Analysis:
        self.history.extend(samples)
        now = samples[-1].time
        events: list[dict] = []
        if self._last_eval is None or now - self._last_eval >= self.hop - 1e-9:
            self._last_eval = now
            window = self.history.window(self.window, world=self.world, camera=self.camera)
            self._probabilities = (
                None if window is None else self.classifier.skeleton_scores([window])[0]
            )
            events = self.tracker.update(now, self._probabilities)
        return Analysis(self._lines(samples[-1]), events)

    def finish(self, time: float) -> list[dict]:
        return self.tracker.finish(time)

    def _lines(self, sample: PoseSample) -> list[str]:
        if self._probabilities is None:
            return ["nobody in view" if not sample.has_person else "..."]
        active = self.tracker.active
        if active is None:
            return ["no action"]
        score = self._probabilities[self.tracker.class_names.index(active.action)]
        return [f"{active.action} {score:.2f}"]
