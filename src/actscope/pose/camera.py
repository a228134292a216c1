"""Where the camera saw a body: MediaPipe world landmarks placed in the camera's frame, and
mirror images undone.

MediaPipe gives, per person and frame, image keypoints (pixels) and world landmarks
(metres, x right, y down, z away from the camera, origin between the hips): the body's
shape, not where it stands. :func:`place_in_camera` puts the landmarks where a pinhole
camera would have seen them, one frame at a time:

1. scale: the ``k`` (pixels per metre) that best maps the world landmarks' x, y onto the
   image keypoints (least squares over shoulders, elbows, wrists, hips, knees and ankles,
   both centred);
2. depth: the body's distance ``Z = f / k`` for a pinhole of focal length
   ``f = (width / 2) / tan(fov / 2)`` pixels with its principal point at the image centre;
   ``fov`` defaults to Kinect v2's colour camera (84.1 degrees horizontally): the true
   field of view of an ordinary video is unknown, and NTU RGB+D's models know Kinect v2;
3. position: the landmarks are moved so that their hip centre lies on the ray through the
   hip centre seen in the image, at depth ``Z``.

The result is the ``"camera"`` space of :class:`~actscope.pose.Skeleton`: metres in the
camera's frame (origin at the optical centre), in the layout's own world axes, so
``mediapipe33``'s axes stay true (x right in the image, y down, z away from the camera).
Nothing is smoothed over time here: :func:`actscope.pose.ntu_input.ntu_input` smooths the
depth over the window it is given.

A mirrored video (a selfie view; NTU RGB+D's Kinect videos) shows a person of the other
handedness: :func:`mirror_points` and :func:`mirror_skeleton` undo it for any layout and
space (x reflected, left and right joints swapped).
"""

from __future__ import annotations

import numpy as np

from actscope.errors import PoseError
from actscope.pose.layouts import MEDIAPIPE33, get_layout
from actscope.pose.skeleton import Skeleton

KINECT_V2_FOV = 84.1
"""Horizontal field of view of Kinect v2's colour camera, degrees."""
CAMERA_SPACE = "camera"
"""The :class:`~actscope.pose.Skeleton` space of camera-placed poses."""

SCALE_JOINTS = tuple(
    MEDIAPIPE33.index(f"{side}_{part}")
    for side in ("left", "right")
    for part in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")
)
"""MediaPipe landmarks whose image and world positions give a frame's scale."""
HIPS = (MEDIAPIPE33.index("left_hip"), MEDIAPIPE33.index("right_hip"))


def focal_length(width: float, fov: float = KINECT_V2_FOV) -> float:
    """Focal length in pixels of a pinhole ``width`` pixels wide with a horizontal field of
    view of ``fov`` degrees."""
    if not 0 < fov < 180:
        raise PoseError(f"fov must be a horizontal field of view in degrees, got {fov}")
    return (width / 2) / float(np.tan(np.radians(fov) / 2))


def image_scale(pixels: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """``(...)`` pixels per metre from image keypoints ``(..., 33, 2)`` and world landmarks
    ``(..., 33, 3)``: least-squares ``k`` with ``image ~ k * world_xy`` over
    :data:`SCALE_JOINTS`, both centred; NaN where a joint is missing or the fit is not
    positive."""
    image = pixels[..., SCALE_JOINTS, :].astype(np.float64)
    body = landmarks[..., SCALE_JOINTS, :2].astype(np.float64)
    image = image - image.mean(axis=-2, keepdims=True)
    body = body - body.mean(axis=-2, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = (image * body).sum(axis=(-2, -1)) / (body * body).sum(axis=(-2, -1))
    return np.where(scale > 0, scale, np.nan)


def unproject(
    pixels: np.ndarray, depth: np.ndarray, focal: float, size: tuple[int, int]
) -> np.ndarray:
    """Pixels ``(..., 2)`` at ``depth`` ``(...)`` metres -> camera coordinates ``(..., 3)``
    in metres (x right, y down, z away), for an image of ``size`` (width, height) pixels
    with the principal point at its centre."""
    centre = np.array([size[0] / 2, size[1] / 2])
    xy = (pixels - centre) * (depth / focal)[..., None]
    return np.concatenate([xy, depth[..., None]], axis=-1)


def body_depth(
    pixels: np.ndarray,
    landmarks: np.ndarray,
    size: tuple[int, int],
    fov: float = KINECT_V2_FOV,
) -> np.ndarray:
    """``(...)`` distance in metres from the camera to a body seen as image keypoints
    ``(..., 33, 2)`` with world landmarks ``(..., 33, 3)`` in an image of ``size`` pixels:
    ``f / k`` (module docstring); NaN where it cannot be fitted."""
    return focal_length(size[0], fov) / image_scale(pixels, landmarks)


def place_in_camera(
    pixels: np.ndarray,
    landmarks: np.ndarray,
    size: tuple[int, int],
    fov: float = KINECT_V2_FOV,
) -> np.ndarray:
    """MediaPipe world landmarks ``(..., 33, 3)`` placed where a camera of horizontal field
    of view ``fov`` degrees saw them, from the image keypoints ``(..., 33, 2)`` (pixels of an
    image of ``size`` = (width, height)): ``(..., 33, 3)`` float64 metres in the camera's
    frame, MediaPipe's axes; a person and frame whose depth cannot be fitted is all NaN.
    One frame at a time (``(P, 33, ...)``) or many (``(M, T, 33, ...)``)."""
    pixels = np.asarray(pixels, np.float64)
    landmarks = np.asarray(landmarks, np.float64)
    if pixels.shape[-2:] != (MEDIAPIPE33.num_joints, 2) or landmarks.shape != (
        *pixels.shape[:-1],
        3,
    ):
        raise PoseError(
            "camera placement takes mediapipe33 image keypoints (..., 33, 2) and the matching "
            f"world landmarks (..., 33, 3), got {pixels.shape} and {landmarks.shape}"
        )
    depth = body_depth(pixels, landmarks, size, fov)
    origin = unproject(pixels[..., HIPS, :].mean(axis=-2), depth, focal_length(size[0], fov), size)
    hips = landmarks[..., HIPS, :].mean(axis=-2)
    return landmarks - hips[..., None, :] + origin[..., None, :]


def camera_skeleton(
    image: Skeleton, world: Skeleton, *, fov: float = KINECT_V2_FOV, mirrored: bool = False
) -> Skeleton:
    """MediaPipe poses of a video as a ``"camera"`` skeleton (:func:`place_in_camera` on
    every frame): ``image`` keypoints with the video's ``image_size``, ``world`` the
    matching landmarks; ``mirrored`` undoes a mirror image first. Scores are the world
    landmarks'. Raises :class:`PoseError` for other layouts or mismatched skeletons."""
    if image.layout != MEDIAPIPE33.name or image.space != "image" or image.image_size is None:
        raise PoseError(
            "camera placement needs mediapipe33 image keypoints with the video's image_size, "
            f"got a {image.layout} {image.space!r} skeleton"
            + (" without image_size" if image.image_size is None else "")
        )
    if (
        world.layout != MEDIAPIPE33.name
        or world.space != "world"
        or world.coords.shape[:3] != image.coords.shape[:3]
    ):
        raise PoseError(
            "camera placement needs the mediapipe33 world landmarks of the same people and "
            f"frames as the image keypoints (shape {image.coords.shape[:3]}), got a "
            f"{world.layout} {world.space!r} skeleton of shape {world.coords.shape[:3]}"
        )
    if mirrored:
        image, world = mirror_skeleton(image), mirror_skeleton(world)
    placed = place_in_camera(image.coords, world.coords, image.image_size, fov)
    return world.replace(coords=placed, space=CAMERA_SPACE, image_size=image.image_size)


# --- mirror images ------------------------------------------------------------------------------


def mirror_points(coords: np.ndarray, layout: str, width: float | None = None) -> np.ndarray:
    """Joints ``(..., V, C)`` of ``layout`` as the mirror image shows them undone (or made):
    left and right joints swapped, x reflected (``width - x`` for pixels of an image
    ``width`` wide, ``-x`` for metric spaces, whose x = 0 is the optical axis or the body)."""
    order = list(get_layout(layout).flip_permutation)
    out = np.array(coords, dtype=np.result_type(coords, np.float32))[..., order, :]
    out[..., 0] = (width - out[..., 0]) if width is not None else -out[..., 0]
    return out


def mirror_scores(scores: np.ndarray, layout: str) -> np.ndarray:
    """Scores ``(..., V)`` with left and right joints swapped, as :func:`mirror_points`."""
    return np.asarray(scores)[..., list(get_layout(layout).flip_permutation)]


def mirror_skeleton(skeleton: Skeleton) -> Skeleton:
    """``skeleton`` mirrored (:func:`mirror_points`); image keypoints need ``image_size``."""
    width = None
    if skeleton.space == "image":
        if skeleton.image_size is None:
            raise PoseError(
                "mirroring image keypoints needs the video's image_size; this skeleton has none"
            )
        width = skeleton.image_size[0]
    return skeleton.replace(
        coords=mirror_points(skeleton.coords, skeleton.layout, width),
        scores=mirror_scores(skeleton.scores, skeleton.layout),
    )
