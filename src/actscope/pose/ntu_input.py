"""Skeletons as NTU RGB+D models read them: raw Kinect v2 camera-space coordinates.

:func:`ntu_input` turns a :class:`~actscope.pose.Skeleton` into the ``(3, T, 25, M)`` array
that models trained on NTU RGB+D's raw skeletons take (``efficientgcn_b0``): metres in
Kinect v2 camera axes (x towards the sensor's left, y up, z away from the sensor; a person
facing the camera has their left side at smaller x), 25 joints in NTU's order (layout
``ntu25``), 30 frames per second, zero where nobody is, and clips shorter than ``T``
zero-padded at the end as NTU's data is. It is a pure function of its arguments.

Sources:

- ``ntu25`` world skeletons (NTU's own files): copied.
- ``kinect_v1_20`` world skeletons (UTD-MHAD, MSR Action3D...): Kinect v1 uses the same
  camera axes; its joints map onto Kinect v2's, with derived ones below.
- ``mediapipe33`` poses estimated from video: the image keypoints (pixels, with the video's
  ``image_size``) together with the world landmarks (``world=``), the landmarks already
  placed in the camera's frame (space ``"camera"``, what ``actscope predict`` streams; see
  :mod:`actscope.pose.camera`), or the world landmarks alone.

How MediaPipe poses become camera-space coordinates (each choice measured on NTU clips, see
``docs/efficientgcn.md``):

1. ``mirrored=True`` first un-mirrors the video (x -> width - x, world x -> -x, left and
   right landmarks swapped). A mirrored video shows a right-handed action as a left-handed
   one; NTU RGB+D's own videos are mirrored (Kinect v2's colour stream: in the drink-water
   sample's skeleton file the spine base at x = +0.218 m projects to colour pixel 1036 of
   1920, right of centre, where an unmirrored camera would show it left of centre).
2. Depth and position, per frame (:func:`actscope.pose.camera.place_in_camera`): the scale
   ``k`` (pixels per metre) that best maps the world landmarks' x, y onto the image
   keypoints (least squares over shoulders, elbows, wrists, hips, knees and ankles, both
   centred), gives the body's distance ``Z = f / k`` for a pinhole camera of focal length
   ``f = (width / 2) / tan(fov / 2)``, principal point at the image centre; ``fov`` defaults
   to Kinect v2's colour camera (84.1 degrees horizontally), so a video is read as if NTU's
   camera had filmed it. The world landmarks (metres, origin between the hips) are moved so
   that their hip centre lies on the ray through the hip centre seen in the image, at
   depth ``Z``.
3. Depth smoothing: each body is moved along the ray of its hip centre so that its depth is
   the running median over ``depth_window`` frames (the scale fit jitters; a body's distance
   changes slowly). Camera-placed input (space ``"camera"``) starts here.
4. ``lift="world"`` (default) keeps the placed landmarks; ``lift="image"`` un-projects each
   image keypoint at its placed depth instead. MediaPipe axes (x right, y down, z away)
   become Kinect's (-x, -y, z). World landmarks alone (no image keypoints) are placed with
   their origin at (0, 0, :data:`WORLD_ONLY_DEPTH`), which loses movement across the room.

NTU joints from MediaPipe landmarks (``mid(a, b)`` is the midpoint):

==================  ============================================================
spine base          mid(hips)
spine mid           mid(spine base, spine shoulder)
spine shoulder      mid(shoulders)
neck                mid(spine shoulder, mid(mouth corners))
head                mid(ears)
shoulder, elbow,    the landmark of the same name
wrist, hip, knee,
ankle
hand                mean(wrist, index knuckle, pinky knuckle): the palm's centre
hand tip            mid(index, pinky knuckles) + half of (knuckles - wrist): the
                    finger tips, about 7 cm beyond the palm
thumb               MediaPipe's thumb landmark
foot                foot index (toe tip)
==================  ============================================================

NTU joints from Kinect v1 joints: spine base = hip centre, spine mid = spine, spine
shoulder = shoulder centre, neck = mid(shoulder centre, head), hand tip = hand + (hand -
wrist), thumb = hand (Kinect v1 has no thumb); the other joints share their names.

Time: skeletons at another frame rate are resampled to 30 fps (linear interpolation).
Frames before the first and after the last frame with anybody are dropped; a person's gaps
are interpolated linearly between the frames where they are seen, and they are zero outside
them. Up to ``persons`` people are kept, the most moving first (the sum of the standard
deviations of x, y and z over their frames, as EfficientGCN's NTU reader orders bodies);
clips longer than ``frames`` keep their first ``frames`` frames.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from typing import Literal

import numpy as np

from actscope.errors import PoseError
from actscope.pose.camera import (
    CAMERA_SPACE,
    HIPS,
    KINECT_V2_FOV,
    camera_skeleton,
    focal_length,
    mirror_points,
    mirror_skeleton,
    unproject,
)
from actscope.pose.layouts import KINECT_V1_20, MEDIAPIPE33, NTU25, Layout
from actscope.pose.skeleton import Skeleton

log = logging.getLogger(__name__)

NTU_FPS = 30.0
"""Frame rate of NTU RGB+D's skeletons (Kinect v2), per second."""
WORLD_ONLY_DEPTH = 3.5
"""Distance (metres) at which MediaPipe world landmarks given without image keypoints are
placed: within NTU RGB+D's 2.5-4 m."""
SUPPORTED = ("ntu25", "kinect_v1_20", "mediapipe33")

Weights = Mapping[str, Mapping[str, float]]


def _sides(parts: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """``{"hand": {"wrist": 1}}`` -> ``{"left_hand": {"left_wrist": 1}, "right_...": ...}``."""
    return {
        f"{side}_{ntu}": {f"{side}_{source}": w for source, w in sources.items()}
        for side in ("left", "right")
        for ntu, sources in parts.items()
    }


# Each NTU joint as a weighted sum of source joints (weights add up to 1).
_FROM_MEDIAPIPE: Weights = {
    "spine_base": {"left_hip": 0.5, "right_hip": 0.5},
    "spine_mid": {
        "left_hip": 0.25,
        "right_hip": 0.25,
        "left_shoulder": 0.25,
        "right_shoulder": 0.25,
    },
    "spine_shoulder": {"left_shoulder": 0.5, "right_shoulder": 0.5},
    "neck": {
        "left_shoulder": 0.25,
        "right_shoulder": 0.25,
        "mouth_left": 0.25,
        "mouth_right": 0.25,
    },
    "head": {"left_ear": 0.5, "right_ear": 0.5},
    **_sides(
        {
            "shoulder": {"shoulder": 1.0},
            "elbow": {"elbow": 1.0},
            "wrist": {"wrist": 1.0},
            "hand": {"wrist": 1 / 3, "index": 1 / 3, "pinky": 1 / 3},
            "hand_tip": {"index": 0.75, "pinky": 0.75, "wrist": -0.5},
            "thumb": {"thumb": 1.0},
            "hip": {"hip": 1.0},
            "knee": {"knee": 1.0},
            "ankle": {"ankle": 1.0},
            "foot": {"foot_index": 1.0},
        }
    ),
}
_FROM_KINECT_V1: Weights = {
    "spine_base": {"hip_center": 1.0},
    "spine_mid": {"spine": 1.0},
    "spine_shoulder": {"shoulder_center": 1.0},
    "neck": {"shoulder_center": 0.5, "head": 0.5},
    "head": {"head": 1.0},
    **_sides(
        {
            **{part: {part: 1.0} for part in ("shoulder", "elbow", "wrist", "hand")},
            **{part: {part: 1.0} for part in ("hip", "knee", "ankle", "foot")},
            "hand_tip": {"hand": 2.0, "wrist": -1.0},
            "thumb": {"hand": 1.0},
        }
    ),
}


def _matrix(weights: Weights, source: Layout) -> np.ndarray:
    """``(25, V_source)`` matrix taking ``source`` joints to NTU joints."""
    matrix = np.zeros((NTU25.num_joints, source.num_joints))
    for ntu, sources in weights.items():
        for joint, weight in sources.items():
            matrix[NTU25.index(ntu), source.index(joint)] = weight
    assert np.allclose(matrix.sum(axis=1), 1.0), "every NTU joint needs weights adding up to 1"
    return matrix


MEDIAPIPE_TO_NTU = _matrix(_FROM_MEDIAPIPE, MEDIAPIPE33)
"""``(25, 33)``: NTU joints as weighted sums of MediaPipe landmarks (module docstring)."""
KINECT_V1_TO_NTU = _matrix(_FROM_KINECT_V1, KINECT_V1_20)
"""``(25, 20)``: NTU joints as weighted sums of Kinect v1 joints (module docstring)."""


def _combine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``(M, T, V, 3)`` source joints -> ``(M, T, 25, 3)`` NTU joints through ``matrix``; an
    NTU joint is missing (NaN) when a source joint it is made of is."""
    missing = ~np.isfinite(points).all(axis=-1)  # (M, T, V)
    out = matrix @ np.where(missing[..., None], 0.0, points)
    lost = missing.astype(np.float64) @ (matrix != 0).T > 0  # (M, T, 25)
    out[lost] = np.nan
    return out


def ntu_input(
    skeleton: Skeleton,
    frames: int = 288,
    persons: int = 2,
    *,
    world: Skeleton | None = None,
    mirrored: bool = False,
    fov: float = KINECT_V2_FOV,
    lift: Literal["world", "image"] = "world",
    depth_window: int = 15,
    pad: Literal["zero", "loop"] = "zero",
) -> np.ndarray:
    """``skeleton`` as NTU RGB+D raw input: ``(3, frames, 25, persons)`` float32, metres in
    Kinect v2 camera axes at 30 fps, zeros where nobody is (see the module docstring).

    ``skeleton``: ``ntu25`` or ``kinect_v1_20`` in ``world`` space, or ``mediapipe33`` image
    keypoints (with ``image_size``; then ``world`` must be the matching world landmarks),
    camera-placed landmarks (space ``"camera"``, :mod:`actscope.pose.camera`; read as they
    are, but for the depth smoothing) or world landmarks. ``mirrored``: the video is a
    mirror image (a selfie view, NTU RGB+D's Kinect videos). ``fov``: the camera's
    horizontal field of view in degrees (image keypoints only). ``lift``: how MediaPipe
    poses get their 3D shape (image keypoints only). ``depth_window``: frames of the
    running median on the body's distance. ``pad="loop"`` repeats a short clip instead of
    zero-padding it (worse on NTU clips; kept for comparison). Raises :class:`PoseError`
    for an unsupported layout or space, mismatched image and world skeletons, or a skeleton
    without anybody.
    """
    if frames < 1 or persons < 1:
        raise PoseError(f"frames and persons must be positive, got {frames} and {persons}")
    if pad not in ("zero", "loop"):
        raise PoseError(f"pad must be 'zero' or 'loop', got {pad!r}")
    layout = skeleton.layout
    if layout not in SUPPORTED:
        raise PoseError(
            f"cannot make NTU input from a {layout!r} skeleton; supported layouts: "
            f"{', '.join(SUPPORTED)} (3D or MediaPipe poses)"
        )
    if layout == "mediapipe33":
        camera = _mediapipe_camera(skeleton, world, mirrored, fov, lift, depth_window)
        points = _combine(MEDIAPIPE_TO_NTU, camera)
    else:
        if skeleton.space not in ("world", CAMERA_SPACE) or skeleton.channels != 3:
            raise PoseError(
                f"a {layout} skeleton must hold 3D world coordinates in metres (its camera "
                f"space), got {skeleton.space!r} with {skeleton.channels} channels"
            )
        points = skeleton.coords.astype(np.float64)
        if layout == "kinect_v1_20":
            points = _combine(KINECT_V1_TO_NTU, points)
    points = _resample(points, skeleton.fps)  # (M, T, 25, 3)
    points = _trim(points)
    if points is None:
        raise PoseError(f"{skeleton.source or 'the skeleton'}: nobody in any frame; no NTU input")
    people = _by_energy(points)[:persons]
    if len(points[0]) > frames:
        log.info(
            "%s: %d frames at 30 fps, keeping the first %d", skeleton.source, len(points[0]), frames
        )
    out = np.zeros((3, frames, NTU25.num_joints, persons), np.float32)
    for slot, m in enumerate(people):
        track = _fill(points[m])[:frames]
        if pad == "loop":
            track = np.concatenate([track] * -(-frames // len(track)))[:frames]
        out[:, : len(track), :, slot] = track.transpose(2, 0, 1)
    return out


# --- MediaPipe ----------------------------------------------------------------------------------


def _mediapipe_camera(
    skeleton: Skeleton,
    world: Skeleton | None,
    mirrored: bool,
    fov: float,
    lift: str,
    depth_window: int,
) -> np.ndarray:
    """MediaPipe poses in Kinect v2 camera space: ``(M, T, 33, 3)`` metres, NaN if missing."""
    if lift not in ("world", "image"):
        raise PoseError(f"lift must be 'world' or 'image', got {lift!r}")
    focal_length(1, fov)  # fails clearly on a field of view out of range
    if skeleton.space in ("world", CAMERA_SPACE) and world is not None:
        raise PoseError("give the image keypoints as the skeleton and world= the landmarks")
    if skeleton.space == "world":
        landmarks = _mirror(skeleton.coords, mirrored)
        return _kinect_axes(landmarks) + np.array([0.0, 0.0, WORLD_ONLY_DEPTH])
    if skeleton.space == CAMERA_SPACE:
        return _kinect_axes(_smooth_depth(_mirror(skeleton.coords, mirrored), depth_window))
    if skeleton.space != "image" or skeleton.image_size is None:
        raise PoseError(
            "MediaPipe poses need image keypoints with the video's image_size (and world "
            f"landmarks), camera-placed or world landmarks; got a {skeleton.space!r} skeleton"
            + (" without image_size" if skeleton.space == "image" else "")
        )
    if world is None:
        raise PoseError(
            "MediaPipe image keypoints alone have no metric scale; pass world= the matching "
            "world landmarks (PoseTrack.world)"
        )
    camera = camera_skeleton(skeleton, world, fov=fov, mirrored=mirrored)
    placed = _smooth_depth(camera.coords.astype(np.float64), depth_window)
    if lift == "image":  # each keypoint un-projected at its placed depth
        pixels = (mirror_skeleton(skeleton) if mirrored else skeleton).coords.astype(np.float64)
        size = skeleton.image_size
        placed = unproject(pixels, placed[..., 2], focal_length(size[0], fov), size)
    return _kinect_axes(placed)


def _mirror(landmarks: np.ndarray, mirrored: bool) -> np.ndarray:
    """Metric MediaPipe landmarks ``(M, T, 33, 3)`` as float64, un-mirrored when
    ``mirrored``."""
    landmarks = landmarks.astype(np.float64)
    return mirror_points(landmarks, MEDIAPIPE33.name) if mirrored else landmarks


def _kinect_axes(landmarks: np.ndarray) -> np.ndarray:
    """MediaPipe world axes (x right, y down, z away) -> Kinect's (x left, y up, z away)."""
    return landmarks * np.array([-1.0, -1.0, 1.0])


def _smooth_depth(points: np.ndarray, window: int) -> np.ndarray:
    """Camera-placed bodies ``(M, T, 33, 3)`` moved along the ray of their hip centre so that
    its depth is the running median of its depth over ``window`` frames (the per-frame
    scale fit jitters; a body's distance changes slowly). NaN where the depth is unknown."""
    if window <= 1:
        return points
    hips = points[:, :, list(HIPS)].mean(axis=2)  # (M, T, 3)
    depth = np.where(hips[..., 2] > 0, hips[..., 2], np.nan)
    ratio = _running_median(depth, window) / depth
    return points + (hips * (ratio - 1)[..., None])[:, :, None]


def _running_median(values: np.ndarray, window: int) -> np.ndarray:
    """Median of ``values`` ``(M, T)`` over ``window`` frames centred on each frame (fewer at
    the ends), ignoring NaN; NaN stays NaN."""
    if window <= 1:
        return values
    half = window // 2
    padded = np.pad(values, ((0, 0), (half, half)), constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1, axis=1)
    with warnings.catch_warnings():  # windows of missing frames: "All-NaN slice"
        warnings.simplefilter("ignore", RuntimeWarning)
        smooth = np.nanmedian(windows, axis=-1)
    return np.where(np.isnan(values), np.nan, smooth)


# --- time and people -------------------------------------------------------------------------


def _resample(points: np.ndarray, fps: float) -> np.ndarray:
    """``(M, T, V, 3)`` at ``fps`` -> the same at 30 fps (linear; NaN where a neighbour is)."""
    frames = points.shape[1]
    if abs(fps - NTU_FPS) < 0.01 * NTU_FPS or frames < 2:
        return points
    times = np.arange(frames) / fps
    wanted = np.arange(0.0, times[-1] + 1e-9, 1 / NTU_FPS)
    index = wanted * fps
    low = np.minimum(np.floor(index).astype(int), frames - 1)
    high = np.minimum(low + 1, frames - 1)
    weight = (index - low)[None, :, None, None]
    return points[:, low] * (1 - weight) + points[:, high] * weight


def _trim(points: np.ndarray) -> np.ndarray | None:
    """Drop the frames before the first and after the last with anybody; None if none."""
    present = np.isfinite(points).all(axis=-1).any(axis=(0, 2))
    found = np.flatnonzero(present)
    if not found.size:
        return None
    return points[:, found[0] : found[-1] + 1]


def _by_energy(points: np.ndarray) -> list[int]:
    """People who appear, most moving first: the sum over x, y, z of the standard deviation
    of their joints over the frames where they are seen."""
    energies = []
    for m, person in enumerate(points):
        seen = person[np.isfinite(person).all(axis=-1).any(axis=-1)]
        if len(seen):
            energies.append((float(np.nansum(np.nanstd(seen, axis=(0, 1)))), m))
    return [m for _, m in sorted(energies, key=lambda item: -item[0])]


def _fill(track: np.ndarray) -> np.ndarray:
    """``(T, V, 3)`` with each joint's gaps interpolated between the frames where it is
    seen, zeros outside the person's first and last frame and for joints never seen."""
    out = np.zeros_like(track)
    seen = np.isfinite(track).all(axis=-1)  # (T, V)
    frames = np.flatnonzero(seen.any(axis=1))
    first, last = frames[0], frames[-1] + 1
    span = np.arange(first, last)
    for v in range(track.shape[1]):
        valid = np.flatnonzero(seen[:, v])
        if valid.size:
            for c in range(3):
                out[first:last, v, c] = np.interp(span, valid, track[valid, v, c])
    return out
