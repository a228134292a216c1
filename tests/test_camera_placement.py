"""``actscope.pose.camera``: MediaPipe world landmarks placed where the camera saw them.

A body of known size stands at a known place in front of a pinhole camera; the test films
it as MediaPipe would report it (image keypoints in pixels, world landmarks in metres
around the hips, camera-aligned axes) and checks that the placement gives the body back
where it stood. Everything about the camera here is written out independently of the code.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from actscope.errors import PoseError
from actscope.pose import Skeleton
from actscope.pose.camera import camera_skeleton, mirror_skeleton, place_in_camera
from actscope.pose.layouts import MEDIAPIPE33
from actscope.pose.ntu_input import ntu_input

WIDTH, HEIGHT = 1280, 720
KINECT_FOV = 84.1  # degrees, horizontal: the placement's default camera
MP = {name: i for i, name in enumerate(MEDIAPIPE33.joints)}

# A person facing the camera, metres from the midpoint of the hips, in camera axes (x to
# the image's right, y down, z away): their left side appears on the image's right.
_LEFT_SIDE = {
    "eye_inner": (0.015, -0.66, -0.09),
    "eye": (0.03, -0.66, -0.09),
    "eye_outer": (0.045, -0.66, -0.08),
    "ear": (0.075, -0.64, 0.0),
    "shoulder": (0.19, -0.50, 0.0),
    "elbow": (0.23, -0.24, 0.02),
    "wrist": (0.25, 0.0, -0.03),
    "pinky": (0.26, 0.07, -0.04),
    "index": (0.25, 0.08, -0.05),
    "thumb": (0.22, 0.06, -0.06),
    "hip": (0.10, 0.0, 0.0),
    "knee": (0.11, 0.44, -0.02),
    "ankle": (0.11, 0.86, 0.02),
    "heel": (0.11, 0.90, 0.06),
    "foot_index": (0.12, 0.92, -0.10),
}
_MIDDLE = {"nose": (0.0, -0.62, -0.11), "mouth": (0.025, -0.57, -0.09)}


def standing_body(height: float = 1.0) -> np.ndarray:
    """``(33, 3)`` the person above, ``height`` times as tall (1: about 1.7 m), hips at 0."""
    body = np.zeros((33, 3))
    for part, (x, y, z) in _LEFT_SIDE.items():
        body[MP[f"left_{part}"]] = (x, y, z)
        body[MP[f"right_{part}"]] = (-x, y, z)
    body[MP["nose"]] = _MIDDLE["nose"]
    x, y, z = _MIDDLE["mouth"]
    body[MP["mouth_left"]], body[MP["mouth_right"]] = (x, y, z), (-x, y, z)
    return body * height


def film(
    body: np.ndarray, size: tuple[int, int] = (WIDTH, HEIGHT), fov: float = KINECT_FOV
) -> tuple[np.ndarray, np.ndarray]:
    """What MediaPipe reports for ``body`` ``(..., 33, 3)`` (camera coordinates, metres):
    pixels ``(..., 33, 2)`` of a pinhole with horizontal field of view ``fov`` and its
    principal point at the image centre, and world landmarks ``(..., 33, 3)`` around the
    hips' midpoint."""
    focal = (size[0] / 2) / math.tan(math.radians(fov) / 2)
    pixels = focal * body[..., :2] / body[..., 2:] + np.array(size) / 2
    hips = body[..., [MP["left_hip"], MP["right_hip"]], :].mean(axis=-2, keepdims=True)
    return pixels, body - hips


def hip_centre(points: np.ndarray) -> np.ndarray:
    return points[..., [MP["left_hip"], MP["right_hip"]], :].mean(axis=-2)


@pytest.mark.parametrize("distance", [2.0, 3.5, 6.0])
@pytest.mark.parametrize("height", [0.9, 1.1])  # a smaller and a taller person
def test_a_body_is_placed_at_the_distance_it_stood(distance, height):
    where = np.array([0.4, -0.2, distance])  # to the image's right, a little higher
    body = standing_body(height) + where
    pixels, landmarks = film(body[None])  # one frame, one person: (1, 33, ...)
    placed = place_in_camera(pixels, landmarks, (WIDTH, HEIGHT))
    assert placed.shape == (1, 33, 3)
    # perspective (the face and hands 5-11 cm nearer) makes the scale fit approximate
    assert hip_centre(placed)[0, 2] == pytest.approx(distance, rel=0.01)
    np.testing.assert_allclose(hip_centre(placed)[0], where, atol=0.01 * distance)
    np.testing.assert_allclose(placed[0], body, atol=0.015 * distance)


def test_a_wider_camera_puts_the_same_picture_nearer():
    body = standing_body() + np.array([0.0, 0.0, 3.0])
    pixels, landmarks = film(body, fov=60.0)  # filmed by a 60-degree camera
    as_filmed = place_in_camera(pixels, landmarks, (WIDTH, HEIGHT), fov=60.0)
    assert hip_centre(as_filmed)[2] == pytest.approx(3.0, rel=0.01)
    # read as Kinect v2's 84.1 degrees: the focal length is tan(30) / tan(42.05) as long
    wide = place_in_camera(pixels, landmarks, (WIDTH, HEIGHT))
    ratio = math.tan(math.radians(30)) / math.tan(math.radians(42.05))
    assert hip_centre(wide)[2] == pytest.approx(3.0 * ratio, rel=0.01)


def test_frames_and_people_are_placed_each_on_their_own():
    t = np.arange(10)[:, None, None]
    walking = standing_body() + np.array([-1.0, 0.1, 4.0]) + t * np.array([0.15, 0.0, -0.2])
    still = np.broadcast_to(standing_body(0.95) + np.array([0.8, 0.0, 2.5]), walking.shape)
    body = np.stack([walking, still])  # (M=2, T=10, 33, 3)
    pixels, landmarks = film(body)
    pixels[1, 4] = np.nan  # the second person lost in frame 4
    placed = place_in_camera(pixels, landmarks, (WIDTH, HEIGHT))
    assert placed.shape == (2, 10, 33, 3)
    np.testing.assert_allclose(hip_centre(placed[0]), hip_centre(walking), atol=0.05)
    assert np.isnan(placed[1, 4]).all() and np.isfinite(np.delete(placed[1], 4, 0)).all()
    empty = place_in_camera(np.zeros((0, 33, 2)), np.zeros((0, 33, 3)), (WIDTH, HEIGHT))
    assert empty.shape == (0, 33, 3)


def test_wrong_shapes_are_one_clear_error():
    with pytest.raises(PoseError, match=r"\(\.\.\., 33, 2\)"):
        place_in_camera(np.zeros((1, 17, 2)), np.zeros((1, 17, 3)), (WIDTH, HEIGHT))


# --- skeletons --------------------------------------------------------------------------------


def filmed_track(body: np.ndarray, mirrored: bool = False) -> tuple[Skeleton, Skeleton]:
    """``body (T, 33, 3)`` as MediaPipe's image and world skeletons of a 30 fps video; a
    mirrored video shows x reflected and the person's sides swapped."""
    pixels, landmarks = film(body)
    if mirrored:
        swap = list(MEDIAPIPE33.flip_permutation)
        pixels = pixels[:, swap] * [-1, 1] + [WIDTH, 0]
        landmarks = landmarks[:, swap] * [-1, 1, 1]
    scores = np.ones((1, *body.shape[:2]))
    meta = {"fps": 30.0, "image_size": (WIDTH, HEIGHT), "layout": "mediapipe33"}
    return (
        Skeleton(pixels[None], scores, space="image", **meta),
        Skeleton(landmarks[None], scores, space="world", **meta),
    )


def waving(frames: int = 30) -> np.ndarray:
    """``(T, 33, 3)``: a person 3 m away waving the left hand, stepping to the image's
    right."""
    t = np.arange(frames)
    body = np.repeat(standing_body()[None], frames, axis=0) + np.array([0.0, 0.0, 3.0])
    body[:, :, 0] += 0.02 * t[:, None]
    body[:, MP["left_wrist"], 1] -= 0.5 + 0.2 * np.sin(t / 2)
    return body


def test_camera_skeleton_is_in_camera_space_and_files_keep_it(tmp_path):
    image, world = filmed_track(waving())
    camera = camera_skeleton(image, world)
    assert camera.space == "camera" and camera.layout == "mediapipe33"
    assert camera.image_size == (WIDTH, HEIGHT) and camera.channels == 3
    np.testing.assert_allclose(camera.coords[0], waving(), atol=0.05)
    camera.save(tmp_path / "camera.npz")
    again = Skeleton.load(tmp_path / "camera.npz")
    assert again.space == "camera"
    np.testing.assert_array_equal(again.coords, camera.coords)


def test_a_mirrored_video_is_placed_the_same_when_said_so():
    body = waving()
    straight = camera_skeleton(*filmed_track(body))
    image, world = filmed_track(body, mirrored=True)
    undone = camera_skeleton(image, world, mirrored=True)
    np.testing.assert_allclose(undone.coords, straight.coords, atol=1e-4)
    # taken as it is, the waving hand is the right one, on the other side of the image
    naive = camera_skeleton(image, world)
    assert np.ptp(naive.coords[0, :, MP["right_wrist"], 1]) > 0.3
    assert naive.coords[0, 0, MP["right_wrist"], 0] < 0 < straight.coords[0, 0, MP["left_wrist"], 0]
    # mirroring a skeleton twice gives it back
    np.testing.assert_allclose(mirror_skeleton(mirror_skeleton(image)).coords, image.coords)


def test_camera_skeletons_need_mediapipe_image_and_world_of_the_same_frames():
    image, world = filmed_track(waving())
    with pytest.raises(PoseError, match="same people and frames"):
        camera_skeleton(image, world.frames(0, 10))
    with pytest.raises(PoseError, match="without image_size"):
        camera_skeleton(image.replace(image_size=None), world)
    with pytest.raises(PoseError, match="mediapipe33 image keypoints"):
        camera_skeleton(world, world)


def test_ntu_input_reads_camera_placed_poses_as_the_image_and_world_pair():
    """What a stream gives (placed frame by frame, unsmoothed) makes the same NTU input as
    the whole track: the depth is smoothed over the window either way."""
    body = waving(40)
    image, world = filmed_track(body)
    noisy = image.coords.copy()
    centre = np.array([WIDTH / 2, HEIGHT / 2])
    noisy[0, ::5] = (noisy[0, ::5] - centre) * 1.1 + centre  # every 5th frame: a depth glitch
    image = image.replace(coords=noisy)
    pair = ntu_input(image, world=world)
    placed = ntu_input(camera_skeleton(image, world))
    np.testing.assert_allclose(placed, pair, atol=1e-5)
    # the glitches are smoothed away: the spine base stays within 1 cm of 3 m
    assert np.ptp(placed[2, :40, 0, 0]) < 0.01
    raw = ntu_input(camera_skeleton(image, world), depth_window=1)
    assert np.ptp(raw[2, :40, 0, 0]) > 0.2
    mirrored = ntu_input(camera_skeleton(*filmed_track(body, mirrored=True)), mirrored=True)
    np.testing.assert_allclose(mirrored, ntu_input(camera_skeleton(*filmed_track(body))), atol=1e-4)
