"""Synthetic falls and near-falls made from real standing poses, for testing fall detection.

No real fall footage ships with actscope's test data, so falls are made: a real skeleton
sequence of a standing person (a Kinect recording, any ``world`` skeleton that converts to
``body15``) plays for a while, then the pose at that moment is moved rigidly or segment by
segment over time, and the person stays in the final posture (with sensor-like jitter).

Scenarios (:data:`SCENARIOS`):

- ``fall``: the body topples about the ankles in any direction, accelerating (angle
  growing with the square of time) over 0.5-1.2 s, sometimes with the legs giving way
  first; it ends lying on the ground.
- ``lie_down``: the same end posture reached slowly (3-6 s, smooth start and stop),
  sometimes after kneeling.
- ``sit_down``: hips move back and down onto a seat at knee height while the upper body
  leans forward and comes back up; 0.5-2 s (fast ones drop into the seat).
- ``bend_over``: the upper body bends 70-110 degrees forward at the hips, holds still,
  and comes back up; bending takes 0.5-1.5 s.

:func:`project_to_image` turns the 3D result into 2D COCO-17 keypoints in pixels with
scores, as a video pose estimator would give, seen from a random camera.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from actscope.errors import PoseError
from actscope.pose.convert import from_body15, to_body15
from actscope.pose.layouts import BODY15
from actscope.pose.skeleton import Skeleton

SCENARIOS = ("fall", "lie_down", "sit_down", "bend_over")
FALLS = ("fall",)

_J = {name: i for i, name in enumerate(BODY15.joints)}
_UPPER = [_J[n] for n in BODY15.joints if not n.endswith(("hip", "knee", "ankle"))]
_UPPER.remove(_J["pelvis"])
_LEGS_BELOW_HIP = [_J[n] for n in BODY15.joints if n.endswith(("knee", "ankle"))]
_UP = np.array([0.0, 1.0, 0.0])


def _rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    """``(3, 3)`` rotation by ``angle`` radians about unit ``axis`` (right-handed)."""
    x, y, z = axis / np.linalg.norm(axis)
    c, s = math.cos(angle), math.sin(angle)
    return np.array(
        [
            [c + x * x * (1 - c), x * y * (1 - c) - z * s, x * z * (1 - c) + y * s],
            [y * x * (1 - c) + z * s, c + y * y * (1 - c), y * z * (1 - c) - x * s],
            [z * x * (1 - c) - y * s, z * y * (1 - c) + x * s, c + z * z * (1 - c)],
        ]
    )


def _tilt(towards: np.ndarray, angle: float) -> np.ndarray:
    """Rotation that tips the vertical towards horizontal unit vector ``towards``."""
    return _rotation(np.cross(_UP, towards), angle)


def _smooth(s: np.ndarray) -> np.ndarray:
    return s * s * (3 - 2 * s)


def _frames(base: np.ndarray, count: int, start: int) -> np.ndarray:
    """``count`` frames of ``base (T, 15, 3)`` played back and forth from ``start``."""
    cycle = np.concatenate([base, base[-2:0:-1]]) if len(base) > 2 else base
    return cycle[(start + np.arange(count)) % len(cycle)]


def _body_axes(pose: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal unit vectors (facing, across to the person's left) of ``pose (15, 3)``."""
    across = pose[_J["left_hip"]] - pose[_J["right_hip"]]
    if not np.isfinite(across).all():
        across = pose[_J["left_shoulder"]] - pose[_J["right_shoulder"]]
    across = across * np.array([1.0, 0.0, 1.0])
    across /= np.linalg.norm(across) + 1e-9
    facing = np.cross(across, _UP)
    return facing / (np.linalg.norm(facing) + 1e-9), across


def _topple(pose, ground, rng, squash: float) -> Callable:
    """The body rotating about the ankles to lying, optionally sinking first."""
    facing, across = _body_axes(pose)
    azimuth = rng.uniform(0, 2 * math.pi)
    direction = math.cos(azimuth) * facing + math.sin(azimuth) * across
    pivot = np.nanmean(pose[[_J["left_ankle"], _J["right_ankle"]]], axis=0)
    final = math.radians(rng.uniform(80, 95))

    def at(s: float) -> np.ndarray:
        sink = min(1.0, 2 * s) if squash else 0.0
        moved = pose.copy()
        moved[:, 1] = ground + (moved[:, 1] - ground) * (1 - squash * sink)
        rotated = (moved - pivot) @ _tilt(direction, final * s).T + pivot
        # the floor stops every joint (the body bends to lie on it)
        rotated[:, 1] = np.maximum(rotated[:, 1], ground + 0.05 * s)
        return rotated

    return at


def _sit(pose, rng) -> Callable:
    """Hips back and down onto a seat at knee height, upper body leaning forward."""
    facing, _ = _body_axes(pose)
    lean_peak = math.radians(rng.uniform(15, 35))
    lean_end = math.radians(rng.uniform(0, 12))
    hips = [_J["left_hip"], _J["right_hip"]]
    knees = [_J["left_knee"], _J["right_knee"]]

    def at(s: float) -> np.ndarray:
        bend = math.radians(90) * s
        moved = pose.copy()
        for hip, knee in zip(hips, knees, strict=True):
            # the thigh turns about the knee until it points backwards
            moved[hip] = pose[knee] + (pose[hip] - pose[knee]) @ _tilt(-facing, bend).T
        pelvis = moved[hips].mean(axis=0)
        lean = lean_peak * math.sin(math.pi * s) + lean_end * s
        shift = pelvis - pose[_J["pelvis"]]
        moved[_J["pelvis"]] = pelvis
        upper = pose[_UPPER] + shift
        moved[_UPPER] = (upper - pelvis) @ _tilt(facing, lean).T + pelvis
        return moved

    return at


def _bend(pose, rng) -> Callable:
    """Upper body bending forward at the hips, hips moving back a little."""
    facing, _ = _body_axes(pose)
    angle = math.radians(rng.uniform(70, 110))
    back = rng.uniform(0.05, 0.15)
    down = rng.uniform(0.0, 0.1)

    def at(s: float) -> np.ndarray:
        moved = pose.copy()
        shift = -facing * back * s - _UP * down * s
        hips = [_J["left_hip"], _J["right_hip"], _J["pelvis"]]
        moved[hips] += shift
        pelvis = moved[_J["pelvis"]]
        moved[_UPPER] = (pose[_UPPER] + shift - pelvis) @ _tilt(facing, angle * s).T + pelvis
        return moved

    return at


@dataclass
class Synthetic:
    """A synthetic sequence: a one-person ``body15`` world skeleton ``(1, T, 15, 3)`` in
    metres, its ``scenario``, and when the movement ``begins`` and ``ends`` (seconds)."""

    skeleton: Skeleton
    scenario: str
    begins: float
    ends: float


def synthesize(
    base: Skeleton,
    scenario: str,
    rng: np.random.Generator,
    *,
    fps: float = 30.0,
    jitter: float = 0.008,
) -> Synthetic:
    """One synthetic sequence: ``base`` (a real 3D ``world`` skeleton of a standing person,
    any layout that converts to body15) plays for 1.5-3 s, then ``scenario`` happens, then
    the person holds still for 3-5 s (after bending over: straightens up and goes on).
    ``jitter`` (metres) is the standard deviation of the noise added to every joint, like
    a depth sensor's."""
    if scenario not in SCENARIOS:
        raise PoseError(f"unknown scenario {scenario!r}; use one of {SCENARIOS}")
    body = to_body15(base.people([0]))
    if body.channels != 3 or body.space != "world":
        raise PoseError("synthesize needs a 3D world skeleton of a standing person")
    motion = _resample(body.coords[0], body.fps, fps)
    pre = round(rng.uniform(1.5, 3.0) * fps)
    start = int(rng.integers(0, len(motion)))
    before = _frames(motion, pre, start)
    pose = before[-1].copy()
    ankles = pose[[_J["left_ankle"], _J["right_ankle"]], 1]
    ground = float(np.nanmin(ankles))
    hold = 0.0
    if scenario == "fall":
        seconds = rng.uniform(0.5, 1.2)
        squash = rng.uniform(0.2, 0.4) if rng.random() < 0.4 else 0.0
        move = _topple(pose, ground, rng, squash)
    elif scenario == "lie_down":
        seconds = rng.uniform(3.0, 6.0)
        squash = rng.uniform(0.3, 0.5) if rng.random() < 0.5 else 0.0
        move = _topple(pose, ground, rng, squash)
    elif scenario == "sit_down":
        seconds = rng.uniform(0.5, 2.0)
        move = _sit(pose, rng)
    else:
        seconds = rng.uniform(0.5, 1.5)
        hold = rng.uniform(1.0, 3.0)
        move = _bend(pose, rng)
    steps = max(2, round(seconds * fps))
    # falls and fast sits accelerate (gravity); the other movements ease in and out
    accelerating = scenario == "fall" or (scenario == "sit_down" and seconds < 0.9)
    shape = (lambda s: s * s) if accelerating else _smooth
    during = [move(float(shape(s))) for s in np.linspace(0, 1, steps + 1)[1:]]
    final = during[-1]
    after_count = round(rng.uniform(3.0, 5.0) * fps)
    if scenario == "bend_over":
        held = [final] * round(hold * fps)
        rise = [move(float(_smooth(s))) for s in np.linspace(1, 0, steps + 1)[1:]]
        after = held + rise + list(_frames(motion, after_count, start + pre))
    else:
        after = [final] * after_count
    coords = np.concatenate([before, np.stack(during), np.stack(after)])[None]
    coords = coords + rng.normal(0, jitter, coords.shape)
    scores = np.where(np.isnan(coords[..., 0]), 0.0, 1.0)
    skeleton = Skeleton(
        coords.astype(np.float32),
        scores.astype(np.float32),
        BODY15.name,
        fps,
        "world",
        f"synthetic {scenario} from {base.source}",
    )
    return Synthetic(skeleton, scenario, (pre - 1) / fps, (pre + steps - 1) / fps)


def _resample(coords: np.ndarray, source_fps: float, fps: float) -> np.ndarray:
    """``coords (T, V, C)`` from ``source_fps`` to ``fps`` by linear interpolation."""
    times = np.arange(len(coords)) / source_fps
    new = np.arange(0, times[-1] + 1e-9, 1 / fps)
    flat = coords.reshape(len(coords), -1)
    out = np.stack([np.interp(new, times, flat[:, i]) for i in range(flat.shape[1])], axis=1)
    return out.reshape(len(new), *coords.shape[1:])


def project_to_image(
    skeleton: Skeleton,
    rng: np.random.Generator,
    *,
    size: tuple[int, int] = (640, 480),
    pixel_noise: float = 1.5,
    dropout: float = 0.03,
) -> Skeleton:
    """``skeleton`` (body15 world, metres) seen by a pinhole camera 2.5-5 m away, 0.5-2 m
    above the floor looking slightly down, from a random direction, as ``coco17`` image
    keypoints ``(1, T, 17, 2)`` in pixels with scores in [0.5, 1]; ``dropout`` of the
    joints get a score of 0.1 (as an estimator's unsure joints)."""
    coords = skeleton.coords[0].astype(np.float64)  # (T, 15, 3)
    pelvis = np.nanmean(coords[: max(1, round(skeleton.fps)), _J["pelvis"]], axis=0)
    ground = float(np.nanmin(coords[:, [_J["left_ankle"], _J["right_ankle"]], 1]))
    yaw = rng.uniform(0, 2 * math.pi)
    distance = rng.uniform(2.5, 5.0)
    height = rng.uniform(0.5, 2.0)
    centred = coords - np.array([pelvis[0], ground, pelvis[2]])
    centred = centred @ _rotation(_UP, yaw).T
    camera = centred - np.array([0.0, height, distance])  # camera at (0, height, distance)
    # look down at the person's middle: pitch about x so the hips are near the image centre
    pitch = math.atan2(height - 0.9, distance)
    camera = camera @ _rotation(np.array([1.0, 0.0, 0.0]), pitch).T
    depth = -camera[..., 2]
    focal = 0.9 * size[0]
    x = focal * camera[..., 0] / depth + size[0] / 2
    y = focal * camera[..., 1] / depth  # up, in pixels; image y is -y + size[1] / 2
    x = x + rng.normal(0, pixel_noise, x.shape)
    y = y + rng.normal(0, pixel_noise, y.shape) - size[1] / 2
    image = np.stack([x, y], axis=-1)[None].astype(np.float32)
    scores = rng.uniform(0.5, 1.0, image.shape[:3])
    scores[rng.random(scores.shape) < dropout] = 0.1
    body = Skeleton(image, scores, BODY15.name, skeleton.fps, "image", skeleton.source, size)
    return from_body15(body, "coco17")
