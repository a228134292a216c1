"""Fall detection from a person's skeleton over time.

What the detector calls a fall: a person seen **standing** goes **down fast**, the upper
body (head, neck, shoulders) ending **near the floor** with the hips, and does **not get
back up**.

Heights are *fractions of the person's standing height*: the height above the floor (the
ankles' level while standing) divided by the neck's height above it while the person stood
just before (:attr:`FallConfig.reference_seconds`). The upper body is then 1 standing; by
body proportions (neck at about 0.82 of stature, hips at 0.53) it is about 0.7 kneeling
upright or sitting on a chair, 0.55-0.6 squatting, 0.35-0.6 bending over, 0.4-0.45 on all
fours, 0.35-0.4 sitting on the floor and 0.25 or less lying on it. A fraction has no unit,
so the same thresholds hold for 3D skeletons in metres and for 2D keypoints in pixels of a
camera that sees the person from the side; a person falling towards the camera comes out
below the floor line in the picture (below 0), which only makes the fall clearer.

The checks, and what each keeps from raising an alarm:

- **standing first** (neck, pelvis and an ankle seen surely, torso within
  ``max_start_angle`` of vertical, hips between the ankles and the neck, a straight leg,
  feet close together, at least ``min_upright_frames`` such frames within
  ``reference_seconds``): push-ups and other floor exercise, views without the feet;
- **fast**: the upper body passes from ``high`` (0.75) to ``low`` (0.45) within
  ``max_fall_time`` and drops at ``min_speed`` (1 standing height per second, about
  1.4 m/s at the neck) or faster: lying down on purpose, sitting down, kneeling;
- **down to the floor**: the upper body at most ``low``, the pelvis (where seen) at most
  ``max_hips``: bending over, squatting, sitting on a chair;
- **stays down** for ``lying_seconds`` without coming back above ``high``: picking
  something up, a stumble and recovery.

Real pose estimators make the person on the floor noisy (joints jump by a tenth of the
picture between frames, scores fall to 0.1-0.3, hips leave the picture), so the posture
after the fall is judged from *medians* of the heights of whatever joints are seen at all
(``low_score``), not from the torso's angle or stillness. Poses that move further than a
body can (``max_jump``, ``max_move_speed``) are another body the estimator followed for a while
(a ghost), not the person; poses that rise from the floor to standing faster than anybody
can (``min_rise_time``) are misread bodies (a push-up seen from the front, whose arms the
estimator takes for legs), and the standing frames that follow are not trusted.

The detector is causal (each frame is judged from the frames before it), so
:class:`FallDetector` runs the same live and on a recorded track. A recording or stream
that ends less than ``lying_seconds`` after the impact still gives the alert at its end
(:meth:`FallDetector.finish`) if the person was on the floor when last seen, marked
``complete=False`` with a lower confidence; so does another body taking the person's
place. A person who vanishes from view while the stream goes on gives no alert.

Where the thresholds come from: ``high``, ``low``, ``max_hips`` and the standing checks
from the body proportions above; ``min_speed`` from the trunk velocity used as a fall
threshold with body-worn sensors (about 1 m/s, the neck moving about 1.4 times as fast
when the body topples); ``lying_seconds`` kept from the earlier detector. They were checked
(not fitted) on the 15 real falls of UR Fall's ``urfall_dev`` half, which also gives the
reported figures, and on real sitting, bending, picking up and push-ups; see
docs/live_and_apps.md for the margins and the leave-some-out check.
"""

from __future__ import annotations

import collections
import logging
import math
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

_HEAD, _NECK, _PELVIS = BODY15.index("head"), BODY15.index("neck"), BODY15.index("pelvis")
_SHOULDERS = [BODY15.index("left_shoulder"), BODY15.index("right_shoulder")]
_UPPER = [_HEAD, _NECK, *_SHOULDERS]
_ANKLES = [BODY15.index("left_ankle"), BODY15.index("right_ankle")]
_LEGS = [
    tuple(BODY15.index(f"{side}_{part}") for part in ("hip", "knee", "ankle"))
    for side in ("left", "right")
]


@dataclass(frozen=True)
class FallConfig:
    """Thresholds. Heights are fractions of the standing height (see the module's
    docstring), times in seconds, angles in degrees, speeds in standing heights per
    second."""

    min_score: float = 0.3
    """Joints scored below this are not used to judge standing (the reference)."""
    low_score: float = 0.05
    """Joints scored below this are not used at all (a lying person is often seen with
    scores of 0.1-0.3: they still say where the body is)."""
    max_start_angle: float = 45.0
    """Largest torso angle from vertical of a standing frame."""
    hips_between: tuple[float, float] = (0.5, 0.85)
    """Pelvis height as a fraction of the neck's in a standing frame (anatomy: hips at
    about 0.53 of stature, neck at 0.83, so about 0.63; a sitting person falls outside)."""
    max_stance: float = 0.6
    """Largest horizontal distance between the ankles in a standing frame, as a fraction
    of the neck's height (a long stride seen from the side: about 0.55; a push-up seen
    from the front, whose hands a pose estimator takes for feet: 1 or more)."""
    min_leg_span: float = 0.75
    """In a standing frame, one hip is above its ankle by at least this fraction of the
    thigh and shank lengths (a straight leg: 1; kneeling or sitting: about 0.5)."""
    shrink_rate: float = 0.3
    """How fast (fraction per second) a standing person may shrink in the picture by
    walking away from the camera (1 m/s at 3.3 m)."""
    reference_seconds: float = 2.0
    """The standing height and floor level come from the standing frames of this long
    before."""
    min_upright_frames: int = 3
    """Fewest standing frames within ``reference_seconds`` for a reference."""
    high: float = 0.75
    """The descent starts from at least this height (still up: above kneeling)."""
    low: float = 0.45
    """At most this height is down on the floor: lying, sitting on the floor or on all
    fours, not squatting (0.55-0.6), kneeling or sitting on a chair (0.7)."""
    max_hips: float = 0.45
    """Highest median pelvis height while down (where the pelvis is seen): lying or
    sitting on the floor is about 0.1, bending over with straight legs keeps the hips at
    standing height (about 0.63)."""
    max_fall_time: float = 1.0
    """Longest time from ``high`` to ``low``."""
    min_speed: float = 1.0
    """Slowest peak descent speed of the upper body (standing heights per second, over
    ``speed_span``): about 1.4 m/s at the neck, which moves about 1.4 times as fast as the
    trunk's centre when the body topples, so about the 1 m/s trunk velocity used as a
    fall threshold with body-worn sensors."""
    speed_span: float = 0.2
    """The descent speed is the drop over this long."""
    smooth_seconds: float = 0.1
    """Heights are medians over this long (a single wild frame is ignored)."""
    lying_seconds: float = 1.0
    """The person must stay down this long after the impact for a complete alert."""
    min_rise_time: float = 0.5
    """Getting up from the floor (``low``) to ``high`` takes at least this long (about 1 s
    for a fit adult, several for the elderly); a faster rise is a misread pose, and the
    standing frames that follow are not trusted for ``reference_seconds``."""
    confirm_within: float = 3.0
    """A fall not confirmed within this long after the impact is dropped."""
    rise_seconds: float = 0.3
    """Back above ``high`` for this long (median) after the impact: got up, no fall."""
    max_jump: float = 0.5
    """A pose whose upper body is further than this from the person's last one (plus
    ``max_move_speed`` times the time between them) is another body."""
    max_move_speed: float = 1.0
    """Fastest the upper body is taken to move while it is not seen (standing heights per
    second: about walking pace)."""
    reacquire: float = 1.0
    """After this long without the person, another body is followed instead (and a
    pending fall of the person is decided on what was seen of them)."""
    refractory: float = 5.0
    """No second alert for the same person within this long after an alert."""


@dataclass
class FallAlert:
    """A detected fall. Times in seconds of the track or stream: ``time`` when the upper
    body reached the floor (``low``: the impact), ``onset`` when the descent began,
    ``confirmed`` when the alert was given. ``complete`` is False when the alert came
    before the person had been down for ``lying_seconds`` (the stream ended, or another
    body took their place); ``lying`` is how long they were seen down (s). ``confidence``
    in (0, 1): about 0.5 when the checks are only just met, towards 1 when they are met
    widely, lower when not complete. The measurements: the fastest descent (standing
    heights per second), the time through the ``high``-``low`` band (s), and the median
    height of the upper body while down (fraction of standing, below 0 when the person
    fell towards the camera)."""

    time: float
    onset: float
    confirmed: float
    confidence: float
    person: int
    complete: bool
    descent_speed: float
    fall_time: float
    height: float
    lying: float

    def to_event(self) -> dict:
        """The alert as a JSON-ready ``fall`` event."""
        values = {k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(self).items()}
        return {"event": "fall", **values}


@dataclass
class _Record:
    time: float
    point: np.ndarray  # (C,) the upper body's position (median of its seen joints)
    height: float  # height fraction of the upper body, NaN without a reference
    smooth: float  # median height over smooth_seconds
    hips: float  # height fraction of the pelvis, NaN if not seen


@dataclass
class _Standing:
    time: float
    ground: float  # floor level (the lower ankle's height)
    neck: float  # neck height above the floor


@dataclass
class _Pending:
    onset: float
    impact: float
    fall_time: float  # seconds from high to low
    speed: float  # peak descent speed, standing heights per second


class FallDetector:
    """Streaming fall detector for one person.

    Feed it frames in time order with :meth:`update`; it returns a :class:`FallAlert` on
    the frame where a fall is confirmed, else ``None``; call :meth:`finish` at the end of
    the stream. Coordinates are canonical ``body15`` (y up), in any unit.
    """

    def __init__(self, config: FallConfig | None = None, person: int = 0) -> None:
        self.config = config or FallConfig()
        self.person = person
        self._last_alert = -math.inf
        self._new_track()

    def _new_track(self) -> None:
        """Forget the body followed so far (a different body is now in view)."""
        self._records: collections.deque[_Record] = collections.deque()
        self._standing: collections.deque[_Standing] = collections.deque()
        self._reference: tuple[float, float] | None = None  # (floor level, standing height)
        self._pending: _Pending | None = None
        self._stood = -math.inf  # time of the last standing frame
        self._distrust = -math.inf  # standing frames are not references before this time

    def update(self, time: float, joints: np.ndarray, scores: np.ndarray) -> FallAlert | None:
        """Add the frame at ``time`` (seconds): ``joints`` ``(15, C)`` canonical body15
        coordinates (NaN where missing), ``scores`` ``(15,)``."""
        config = self.config
        seen = np.isfinite(joints).all(axis=1) & (scores >= config.low_score)
        upper = [j for j in _UPPER if seen[j]]
        if not upper:
            return self._unseen(time)
        point = np.median(joints[upper], axis=0)
        body = self._which_body(time, point)
        if body == "other":
            return self._unseen(time)
        alert = None
        if body == "new":  # the person was lost: decide on what was seen of them
            alert = self._lost(time)
            self._new_track()
        record = self._record(time, point, joints, seen)
        if self._rose_too_fast(record):
            # nobody gets up from the floor that fast: the estimator is misreading the body
            # (a push-up seen from the front, whose arms it takes for legs), so what looks
            # like standing now is not a reference
            self._standing.clear()
            self._stood = -math.inf
            self._distrust = time + config.reference_seconds
        if time >= self._distrust:
            self._note_standing(time, joints, seen & (scores >= config.min_score))
        self._records.append(record)
        while self._records[0].time < time - config.reference_seconds - config.confirm_within:
            self._records.popleft()
        if self._pending is None:
            if time - self._last_alert >= config.refractory:
                self._pending = self._find_descent(record)
            return alert
        return self._confirm(record)

    def finish(self, time: float) -> FallAlert | None:
        """The end of the stream at ``time`` (seconds): a fall whose impact was seen is
        reported if the person was on the floor when last seen, even if for less than
        ``lying_seconds``."""
        return self._lost(time)

    # --- stages ---------------------------------------------------------------------------

    def _which_body(self, time: float, point: np.ndarray) -> str:
        """``"same"``: the pose at ``point`` can be the person last seen; ``"other"``: it is
        further than a body moves (``max_jump``, ``max_move_speed``); ``"new"``: further, but
        the person has not been seen for ``reacquire`` seconds, so this is followed now."""
        config = self.config
        if not self._records or self._reference is None:
            return "same"
        last = self._records[-1]
        reach = self._reference[1] * (config.max_jump + config.max_move_speed * (time - last.time))
        if np.linalg.norm(point - last.point) <= reach:
            return "same"
        return "new" if time - last.time >= config.reacquire else "other"

    def _record(
        self, time: float, point: np.ndarray, joints: np.ndarray, seen: np.ndarray
    ) -> _Record:
        """The frame's heights as fractions of the standing reference."""
        height = hips = math.nan
        if self._reference is not None:
            ground, stature = self._reference
            height = (float(point[1]) - ground) / stature
            if seen[_PELVIS]:
                hips = (float(joints[_PELVIS, 1]) - ground) / stature
        window = [r.height for r in self._since(time - self.config.smooth_seconds)] + [height]
        known = [h for h in window if not math.isnan(h)]
        smooth = float(np.median(known)) if known else math.nan
        return _Record(time, point, height, smooth, hips)

    def _note_standing(self, time: float, joints: np.ndarray, sure: np.ndarray) -> None:
        """Record the frame if the person stands in it, and update the reference: the
        tallest recent standing frame, its height discounted by ``shrink_rate`` per second
        of age (so the first, still upright frames of a collapse cannot lower it, while a
        person walking away from the camera is followed)."""
        config = self.config
        measured = _standing_height(joints, sure, config)
        if measured is not None:
            self._standing.append(_Standing(time, *measured))
            self._stood = time
        while self._standing and self._standing[0].time < time - config.reference_seconds:
            self._standing.popleft()
        if len(self._standing) < config.min_upright_frames:
            return
        best = max(
            self._standing, key=lambda s: s.neck * (1 - config.shrink_rate * (time - s.time))
        )
        near = [s for s in self._standing if abs(s.time - best.time) <= 2 * config.smooth_seconds]
        self._reference = (
            float(np.median([s.ground for s in near])),
            float(np.median([s.neck for s in near])),
        )

    def _rose_too_fast(self, now: _Record) -> bool:
        """Whether the upper body came up from the floor (``low``) to ``high`` within
        ``min_rise_time``."""
        config = self.config
        if not now.smooth >= config.high:
            return False
        return any(r.smooth <= config.low for r in self._since(now.time - config.min_rise_time))

    def _find_descent(self, now: _Record) -> _Pending | None:
        """A fast descent from standing to the floor ending at ``now``."""
        config = self.config
        if self._reference is None or math.isnan(now.smooth) or now.smooth > config.low:
            return None
        if self._stood < now.time - config.max_fall_time - config.reference_seconds:
            return None  # not seen standing shortly before
        records = [r for r in self._records if not math.isnan(r.smooth)]
        above = [r for r in records if r.smooth >= config.high]
        if not above or now.time - above[-1].time > config.max_fall_time:
            return None
        start = above[-1]
        speed = _peak_speed(
            [r for r in records if r.time >= start.time - config.speed_span], config.speed_span
        )
        if speed < config.min_speed:
            return None
        # the descent began where, going back in time from ``high``, the upper body
        # stops rising: its last top
        onset = start
        for r in reversed([r for r in records if r.time < start.time]):
            if r.smooth >= onset.smooth:
                onset = r
            elif r.smooth < onset.smooth - 0.02 or onset.time - r.time > config.speed_span:
                break
        return _Pending(onset.time, now.time, now.time - start.time, speed)

    def _confirm(self, now: _Record) -> FallAlert | None:
        """After the impact, at a frame where the person is seen: alert once they have
        been down for ``lying_seconds``; give up if they got back up."""
        config, pending = self.config, self._pending
        assert pending is not None
        watched = now.time - pending.impact
        if (
            self._down_now(now.time, pending.impact) >= config.high
            or watched > config.confirm_within
        ):
            self._pending = None  # got back up, or not down in time
            return None
        if watched < config.lying_seconds:
            return None
        return self._alert(now.time)

    def _unseen(self, time: float) -> FallAlert | None:
        """A frame without the person: a pending fall not confirmed within
        ``confirm_within`` is dropped (not seen is not down: they may have walked out of
        view)."""
        pending = self._pending
        if pending is not None and time - pending.impact > self.config.confirm_within:
            self._pending = None
        return None

    def _lost(self, time: float) -> FallAlert | None:
        """The person is no longer followed (the stream ended, or another body took their
        place in the estimator's output): a pending fall is reported if they were on the
        floor when last seen."""
        if self._pending is None:
            return None
        seen = [r for r in self._since(self._pending.impact) if not math.isnan(r.height)]
        if not seen:
            self._pending = None
            return None
        return self._alert(time, last_seen=seen[-1].time)

    def _down_now(self, time: float, impact: float) -> float:
        """Median smoothed height over the ``rise_seconds`` up to ``time``, after the
        ``impact`` (NaN if unseen)."""
        start = max(impact, time - self.config.rise_seconds)
        recent = [r.smooth for r in self._since(start) if r.time <= time]
        return float(np.median(recent)) if recent else math.nan

    def _alert(self, time: float, last_seen: float | None = None) -> FallAlert | None:
        """The alert at ``time`` if the person was down when last seen (``last_seen``,
        default ``time``) and mostly down since the impact, with the hips down too where
        they are seen; else nothing (and the pending fall is dropped when it cannot be
        confirmed any more)."""
        config, pending = self.config, self._pending
        assert pending is not None
        final = last_seen is not None
        seen_at = time if last_seen is None else last_seen
        down = [r for r in self._since(pending.impact) if not math.isnan(r.height)]
        height = float(np.median([r.height for r in down])) if down else math.nan
        # the hips as they are now (they come down after the upper body in a fall)
        start = max(pending.impact, seen_at - config.rise_seconds)
        hips = [r.hips for r in down if r.time >= start and not math.isnan(r.hips)]
        hips_up = bool(hips) and float(np.median(hips)) > config.max_hips
        # down in the last frame seen (not on the way back up), over the last moments and
        # over most of the time since the impact
        last = down[-1].smooth if down else math.nan
        now = max(last, self._down_now(seen_at, pending.impact))
        if not (now <= config.low and height <= config.low) or hips_up:
            if final:
                self._pending = None
            return None
        self._pending = None
        self._last_alert = time
        lying = seen_at - pending.impact
        complete = lying >= config.lying_seconds
        confidence = _geometric_mean(
            [
                _below(pending.fall_time, config.max_fall_time, floor=0.2),
                _below(height, config.low, floor=0.0),
                1.0 if complete else 0.5 + 0.5 * lying / config.lying_seconds,
            ]
        )
        return FallAlert(
            time=pending.impact,
            onset=pending.onset,
            confirmed=time,
            confidence=confidence,
            person=self.person,
            complete=complete,
            descent_speed=pending.speed,
            fall_time=pending.fall_time,
            height=height,
            lying=lying,
        )

    def _since(self, start: float) -> list[_Record]:
        """The accepted records at or after ``start`` (seconds), oldest first."""
        found = []
        for record in reversed(self._records):
            if record.time < start - 1e-9:
                break
            found.append(record)
        return found[::-1]


def _standing_height(
    joints: np.ndarray, sure: np.ndarray, config: FallConfig
) -> tuple[float, float] | None:
    """(floor level, neck height above it) if the person stands in this frame: neck,
    pelvis and an ankle seen surely, the ankles close together (``max_stance``), torso within
    ``max_start_angle`` of vertical, pelvis between the ankles and the neck
    (``hips_between``), and a leg straight below the hip (hip above ankle by at least
    ``min_leg_span`` of the thigh and shank lengths)."""
    ankles = [j for j in _ANKLES if sure[j]]
    if not (sure[_NECK] and sure[_PELVIS] and ankles):
        return None
    ground = float(np.min(joints[ankles, 1]))
    neck = float(joints[_NECK, 1]) - ground
    if neck <= 0:
        return None
    if len(ankles) == 2:
        apart = joints[ankles[0]] - joints[ankles[1]]
        apart[1] = 0.0  # horizontal distance: x in 2D, x and z in 3D
        if float(np.linalg.norm(apart)) > config.max_stance * neck:
            return None
    hips = (float(joints[_PELVIS, 1]) - ground) / neck
    if not config.hips_between[0] <= hips <= config.hips_between[1]:
        return None
    torso = joints[_NECK] - joints[_PELVIS]
    length = float(np.linalg.norm(torso))
    if not (length > 0 and torso[1] / length >= math.cos(math.radians(config.max_start_angle))):
        return None
    spans = []
    for hip, knee, ankle in _LEGS:
        if sure[hip] and sure[knee] and sure[ankle]:
            bones = np.linalg.norm(joints[hip] - joints[knee]) + np.linalg.norm(
                joints[knee] - joints[ankle]
            )
            if bones > 0:
                spans.append(float(joints[hip, 1] - joints[ankle, 1]) / float(bones))
    if not spans or max(spans) < config.min_leg_span:
        return None
    return ground, neck


def _peak_speed(records: list[_Record], span: float) -> float:
    """Fastest drop of the smoothed height over ``span`` seconds in ``records`` (time
    order), in standing heights per second."""
    best, first = 0.0, 0
    for later in records:
        while first + 1 < len(records) and later.time - records[first + 1].time >= span - 1e-6:
            first += 1
        earlier = records[first]
        if later.time - earlier.time >= span - 1e-6:
            best = max(best, (earlier.smooth - later.smooth) / (later.time - earlier.time))
    return best


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
    body = to_body15(skeleton, derived_score="min")
    return body.coords, body.scores


def detect_falls(skeleton: Skeleton, config: FallConfig | None = None) -> list[FallAlert]:
    """Falls of every person in a pose track (any layout that converts to body15, 2D or 3D,
    image or world space), in time order. The track's end is the end of the stream: a fall
    just before it is reported (see :meth:`FallDetector.finish`)."""
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
        alert = detector.finish(float(skeleton.times[-1]))
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
        """The end of the stream: a fall seen just before it is still reported."""
        alert = self.detector.finish(time)
        if alert is None:
            return []
        self.alerts.append(alert)
        return [alert.to_event()]


def _sample_body(sample) -> tuple[np.ndarray, np.ndarray]:
    """A live pose sample's person as canonical body15 ``(15, 2)`` and scores ``(15,)``;
    all missing when nobody is in view."""
    if not sample.has_person:
        return np.full((15, 2), np.nan, np.float32), np.zeros(15, np.float32)
    skeleton = Skeleton(
        sample.keypoints[None, None], sample.scores[None, None], sample.layout, 30.0, "image"
    )
    body = to_body15(skeleton, derived_score="min")
    return body.coords[0, 0], body.scores[0, 0]
