"""Fall detection from a person's skeleton over time.

A fall is three things in a row: the body centre (midway between pelvis and neck) drops
fast, the torso turns towards horizontal, and then the person lies low and still. Each is
measured in the person's own limb units (:func:`actscope.pose.features.limb_scale`: the
mean length of upper arm, forearm, thigh and shank, about a fifth of body height), so the
same thresholds hold for 3D skeletons in metres and for 2D keypoints in pixels of any
video. The checks are causal (each frame is judged from the frames before it), so the same
:class:`FallDetector` runs on a live stream and on a recorded pose track.

Why each check is there (what it keeps from raising an alarm):

- **fast descent** (``min_speed``): lying down slowly, sitting down at a normal pace;
- **torso near horizontal afterwards** (``min_torso_angle``): sitting down fast, squatting;
- **pelvis near the ground** (``max_pelvis_height``): bending over, where the torso is
  horizontal but the hips stay up;
- **still for a moment** (``max_motion``): a stumble and immediate recovery, exercise;
- **upright before, feet in view** (``max_start_angle``): floor exercise such as push-ups,
  where the body is already horizontal, and views where the ground cannot be seen.

Defaults: a descent speed of 3 limb units/s is about 1.0 m/s for an adult (a limb unit is
about 0.33 m), the low end of the trunk velocity thresholds used for falls with body-worn
sensors (about 1.0 to 1.3 m/s); the low end because a camera sees a fall along its line of
sight foreshortened, and slower.
The thresholds were set on synthetic falls and near-falls made from real Kinect poses and
checked against real sitting, squatting and bending sequences (docs/live_and_apps.md); no
real falls were available to tune on.
"""

from __future__ import annotations

import collections
import logging
import math
import warnings
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

from actscope.errors import PoseError
from actscope.pose.convert import to_body15
from actscope.pose.layouts import BODY15
from actscope.pose.skeleton import Skeleton

if TYPE_CHECKING:
    from actscope.live.pipeline import Analysis

log = logging.getLogger(__name__)

_PELVIS, _NECK = BODY15.index("pelvis"), BODY15.index("neck")
_ANKLES = (BODY15.index("left_ankle"), BODY15.index("right_ankle"))
# upper arm, forearm, thigh, shank on both sides, then the torso (neck to pelvis)
_BONES = np.array(
    [
        (BODY15.index(f"{side}_{a}"), BODY15.index(f"{side}_{b}"))
        for side in ("left", "right")
        for a, b in (("shoulder", "elbow"), ("elbow", "wrist"), ("hip", "knee"), ("knee", "ankle"))
    ]
    + [(_NECK, _PELVIS)]
)


@dataclass(frozen=True)
class FallConfig:
    """Thresholds; lengths in limb units, times in seconds, angles in degrees."""

    min_score: float = 0.3
    """Joints scored below this count as missing."""
    descent_window: float = 1.0
    """The drop is measured from the highest centre position within this long."""
    min_drop: float = 1.2
    """Minimum drop of the body centre."""
    min_history: float = 1.0
    """Seconds the person must have been watched before the descent begins."""
    max_start_angle: float = 45.0
    """Largest torso angle from vertical before the descent: a fall starts upright."""
    min_speed: float = 3.0
    """Minimum peak descent speed of the body centre (limb units per second)."""
    speed_span: float = 0.25
    """The descent speed is the drop over this long."""
    settle_within: float = 1.5
    """The descent must end (the centre stops dropping) within this long after it began."""
    confirm_within: float = 3.0
    """The person must be found lying still within this long after the descent."""
    still_seconds: float = 1.0
    """Length of the lying-still window."""
    max_motion: float = 0.3
    """Largest median spread (standard deviation) of the joints over the still window."""
    min_torso_angle: float = 55.0
    """Smallest torso angle from vertical while lying."""
    max_pelvis_height: float = 1.5
    """Highest pelvis position above the ground (the ankles' level before the fall)."""
    scale_seconds: float = 10.0
    """History used to measure the limb scale and the upright torso length."""
    refractory: float = 5.0
    """No second alert for the same person within this long after an alert."""


@dataclass
class FallAlert:
    """A detected fall. Times in seconds of the track or stream: ``time`` when the descent
    ended (the impact), ``onset`` when it began, ``confirmed`` when the person had been
    lying still long enough for the alert. ``confidence`` in (0, 1): about 0.5 when the
    checks are only just met, towards 1 when all are met by a wide margin. The measurements
    (limb units, degrees) are what the checks saw."""

    time: float
    onset: float
    confirmed: float
    confidence: float
    person: int
    descent_speed: float
    drop: float
    torso_angle: float
    pelvis_height: float
    motion: float

    def to_event(self) -> dict:
        """The alert as a JSON-ready ``fall`` event."""
        values = {k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(self).items()}
        return {"event": "fall", **values}


@dataclass
class _Record:
    time: float
    joints: np.ndarray  # (15, C), NaN where missing
    centre: float  # height of the body centre, NaN if pelvis or neck is missing
    speed: float  # descent speed of the centre over the last speed_span (units/s)
    bones: np.ndarray  # (9,) lengths of the limb bones and the torso, NaN if missing


class FallDetector:
    """Streaming fall detector for one person.

    Feed it frames in time order with :meth:`update`; it returns a :class:`FallAlert` on
    the frame where a fall is confirmed, else ``None``. Coordinates are canonical
    ``body15`` (y up), in any unit.
    """

    def __init__(self, config: FallConfig | None = None, person: int = 0) -> None:
        self.config = config or FallConfig()
        self.person = person
        self._records: collections.deque[_Record] = collections.deque()
        self._scale: tuple[float, float] | None = None  # (limb unit, upright torso length)
        self._scale_time = -math.inf
        self._descent: dict | None = None
        self._last_alert = -math.inf
        self._first = math.inf  # time of the first frame

    def update(self, time: float, joints: np.ndarray, scores: np.ndarray) -> FallAlert | None:
        """Add the frame at ``time`` (seconds): ``joints`` ``(15, C)`` canonical body15
        coordinates (NaN where missing), ``scores`` ``(15,)``."""
        config = self.config
        self._first = min(self._first, time)
        joints = np.where((scores >= config.min_score)[:, None], joints, np.nan)
        centre = float((joints[_PELVIS, 1] + joints[_NECK, 1]) / 2)
        bones = np.linalg.norm(joints[_BONES[:, 0]] - joints[_BONES[:, 1]], axis=-1)
        record = _Record(time, joints, centre, self._speed(time, centre), bones)
        self._records.append(record)
        while self._records[0].time < time - config.scale_seconds:
            self._records.popleft()
        if time - self._scale_time >= 0.5 or self._scale is None:
            self._scale = self._measure_scale() or self._scale
            self._scale_time = time
        if self._scale is None:
            return None
        if self._descent is None:
            if time - self._last_alert >= config.refractory:
                self._descent = self._find_descent(record)
            return None
        return self._confirm(record)

    # --- the three stages -------------------------------------------------------------

    def _speed(self, time: float, centre: float) -> float:
        """Descent speed of the centre over the last ``speed_span`` seconds (units/s)."""
        span = self.config.speed_span
        if math.isnan(centre):
            return math.nan
        for old in reversed(self._records):
            if time - old.time >= span - 1e-6:
                if math.isnan(old.centre):
                    return math.nan
                return (old.centre - centre) / (time - old.time)
        return math.nan

    def _find_descent(self, now: _Record) -> dict | None:
        """A fast drop of the centre ending at ``now``: where it began and how fast."""
        config = self.config
        unit = self._scale[0]
        valid = [
            r for r in self._since(now.time - config.descent_window) if not math.isnan(r.centre)
        ]
        if math.isnan(now.centre) or len(valid) < 3:
            return None
        top = max(valid, key=lambda r: r.centre)
        drop = (top.centre - now.centre) / unit
        speeds = [r.speed for r in valid if r.time > top.time and not math.isnan(r.speed)]
        speed = max(speeds, default=0.0) / unit
        if drop < config.min_drop or speed < config.min_speed:
            return None
        # the descent begins where the centre last stood near its top (not at a sway peak)
        onset = max(r.time for r in valid if r.centre >= top.centre - 0.15 * unit)
        if top.time - self._first < config.min_history:
            return None  # the person was not watched long enough before it
        # judged only from an upright start with the feet in view (they give the ground)
        before = np.stack([r.joints for r in self._since(top.time - 1.0) if r.time <= top.time])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # frames without ankles: NaN
            ankles = np.nanmin(before[:, list(_ANKLES), 1], axis=1)
        if np.isnan(ankles).mean() > 0.5:
            return None
        torso = before[:, _NECK] - before[:, _PELVIS]
        upright = torso[:, 1] / np.maximum(np.linalg.norm(torso, axis=1), self._scale[1])
        if not np.nanmedian(upright) >= math.cos(math.radians(config.max_start_angle)):
            return None
        ground = float(np.nanmedian(ankles))
        return {
            "onset": onset,
            "top": top.centre,
            "speed": speed,
            "ground": ground,
            "settled": None,
        }

    def _confirm(self, now: _Record) -> FallAlert | None:
        """After a descent: wait for it to end, then for the person to lie low and still."""
        config, descent = self.config, self._descent
        unit, torso_length = self._scale
        if descent["settled"] is None:
            speed = now.speed / unit
            if not math.isnan(speed):
                descent["speed"] = max(descent["speed"], speed)
            if now.time - descent["onset"] > config.settle_within:
                self._descent = None  # a long, slow descent: not a fall
                return None
            if speed > 1.0:
                return None  # still going down (a NaN speed compares False: settled)
            descent["settled"] = now.time
        settled = descent["settled"]
        if now.time - settled > config.confirm_within:
            self._descent = None
            return None
        window = self._since(now.time - config.still_seconds)
        if window[0].time < settled - 1e-6 or now.time - window[0].time < 0.8 * (
            config.still_seconds
        ):
            return None
        joints = np.stack([r.joints for r in window])  # (T, 15, C)
        have_torso = ~np.isnan(joints[:, [_PELVIS, _NECK], 1]).any(axis=1)
        if have_torso.mean() < 0.6:
            return None
        torso = joints[have_torso][:, _NECK] - joints[have_torso][:, _PELVIS]
        upright = np.clip(
            torso[:, 1] / np.maximum(np.linalg.norm(torso, axis=1), torso_length), -1, 1
        )
        angle = float(np.degrees(np.arccos(np.median(upright))))
        pelvis = float(np.median(joints[have_torso][:, _PELVIS, 1]))
        ground = descent["ground"]
        height = (pelvis - ground) / unit
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # joints never seen: NaN
            spread = np.nanstd(joints, axis=0)  # (15, C)
        motion = float(np.nanmedian(np.linalg.norm(np.nan_to_num(spread), axis=-1))) / unit
        lowest = min(r.centre for r in window if not math.isnan(r.centre))
        drop = (descent["top"] - lowest) / unit
        if (
            angle < config.min_torso_angle
            or height > config.max_pelvis_height
            or motion > config.max_motion
        ):
            return None
        self._descent = None
        self._last_alert = now.time
        confidence = _geometric_mean(
            [
                _above(descent["speed"], config.min_speed),
                _above(drop, config.min_drop),
                _above(angle, config.min_torso_angle),
                _below(height, config.max_pelvis_height, floor=0.5),
                _below(motion, config.max_motion),
            ]
        )
        return FallAlert(
            time=settled,
            onset=descent["onset"],
            confirmed=now.time,
            confidence=confidence,
            person=self.person,
            descent_speed=descent["speed"],
            drop=drop,
            torso_angle=angle,
            pelvis_height=height,
            motion=motion,
        )

    def _since(self, start: float) -> list[_Record]:
        """The records at or after ``start`` (seconds), oldest first."""
        found = []
        for record in reversed(self._records):
            if record.time < start - 1e-9:
                break
            found.append(record)
        return found[::-1]

    def _measure_scale(self) -> tuple[float, float] | None:
        """(limb unit, upright torso length): 90th percentiles over the history."""
        if len(self._records) < 5:
            return None
        bones = np.stack([r.bones for r in self._records])  # (T, 9)
        seen = np.isfinite(bones).sum(axis=0)
        if seen[-1] < 3 or (seen[:-1] >= 3).sum() < 2:
            return None
        ordered = np.sort(bones, axis=0)  # NaN sorts last
        rank = np.floor(0.9 * np.maximum(seen - 1, 0)).astype(int)
        lengths = ordered[rank, np.arange(bones.shape[1])]  # 90th percentile (lower)
        unit = float(lengths[:-1][seen[:-1] >= 3].mean())
        return (unit, float(lengths[-1])) if unit > 0 else None


def _above(value: float, threshold: float) -> float:
    """0.5 at ``threshold``, rising towards 1 as ``value`` exceeds it by 50% or more."""
    return 1.0 / (1.0 + math.exp(-(value - threshold) / (0.15 * threshold)))


def _below(value: float, threshold: float, floor: float = 0.0) -> float:
    """0.5 at ``threshold``, rising towards 1 as ``value`` falls towards ``floor``."""
    width = 0.15 * max(threshold - floor, 1e-6)
    return 1.0 / (1.0 + math.exp((value - threshold) / width))


def _geometric_mean(values: list[float]) -> float:
    return float(math.exp(sum(math.log(max(v, 1e-9)) for v in values) / len(values)))


def body_track(skeleton: Skeleton) -> tuple[np.ndarray, np.ndarray]:
    """``skeleton`` as canonical body15 coordinates ``(M, T, 15, C)`` (y up) and scores."""
    if skeleton.num_people == 0:
        shape = (0, skeleton.num_frames, len(BODY15.joints))
        return np.zeros((*shape, skeleton.channels), np.float32), np.zeros(shape, np.float32)
    body = to_body15(skeleton)
    return body.coords, body.scores


def detect_falls(skeleton: Skeleton, config: FallConfig | None = None) -> list[FallAlert]:
    """Falls of every person in a pose track (any layout that converts to body15, 2D or 3D,
    image or world space), in time order."""
    if skeleton.num_frames == 0:
        raise PoseError(f"{skeleton.source}: the pose track has no frames")
    coords, scores = body_track(skeleton)
    alerts = []
    for person in range(coords.shape[0]):
        detector = FallDetector(config, person)
        for t, time in enumerate(skeleton.times):
            alert = detector.update(float(time), coords[person, t], scores[person, t])
            if alert is not None:
                alerts.append(alert)
    return sorted(alerts, key=lambda a: a.time)


ALERT_SHOWN = 5.0
"""Seconds a fall alert stays on the live picture."""


class FallAnalyzer:
    """Fall detection as a live analyser (see :class:`actscope.live.Analyzer`): one
    :class:`FallDetector` on the image keypoints of the person in view."""

    def __init__(self, config: FallConfig | None = None) -> None:
        self.detector = FallDetector(config)
        self.alerts: list[FallAlert] = []

    def update(self, samples: list) -> Analysis:
        from actscope.live.pipeline import Analysis

        events = []
        for sample in samples:
            joints, scores = _sample_body(sample)
            alert = self.detector.update(sample.time, joints, scores)
            if alert is not None:
                self.alerts.append(alert)
                events.append(alert.to_event())
        now = samples[-1].time
        recent = [a for a in self.alerts if now - a.confirmed <= ALERT_SHOWN]
        if recent:
            lines = [f"FALL at {recent[-1].time:.1f} s ({recent[-1].confidence:.2f})"]
        else:
            lines = ["no fall" if samples[-1].has_person else "nobody in view"]
        return Analysis(lines, events)

    def finish(self, time: float) -> list[dict]:
        return []


def _sample_body(sample) -> tuple[np.ndarray, np.ndarray]:
    """A live pose sample's person as canonical body15 ``(15, 2)`` and scores ``(15,)``;
    all missing when nobody is in view."""
    if not sample.has_person:
        return np.full((15, 2), np.nan, np.float32), np.zeros(15, np.float32)
    skeleton = Skeleton(
        sample.keypoints[None, None], sample.scores[None, None], sample.layout, 30.0, "image"
    )
    body = to_body15(skeleton)
    return body.coords[0, 0], body.scores[0, 0]
