"""``ntu_input``: actscope skeletons as NTU RGB+D raw input for ``efficientgcn_b0``.

The MediaPipe tests build a body in Kinect camera space, film it with a pinhole camera
(optionally mirrored, with MediaPipe's left/right labels as it would give them) and check
that the adapter recovers where the body was; the last test runs the whole path on a real
NTU clip.
"""

from __future__ import annotations

import numpy as np
import pytest

from actscope.errors import PoseError
from actscope.pose import Skeleton
from actscope.pose.layouts import KINECT_V1_20, MEDIAPIPE33, NTU25
from actscope.pose.ntu_input import KINECT_V2_FOV, MEDIAPIPE_TO_NTU, ntu_input
from realdata import shared_path

WIDTH, HEIGHT = 1920, 1080
FOCAL = (WIDTH / 2) / np.tan(np.radians(KINECT_V2_FOV) / 2)
NTU = {name: i for i, name in enumerate(NTU25.joints)}
MP = {name: i for i, name in enumerate(MEDIAPIPE33.joints)}
AHEAD = np.array([0.0, 0.0, 3.0])  # 3 m in front of the sensor


def mediapipe_body(frames: int = 20) -> np.ndarray:
    """``(T, 33, 3)`` MediaPipe landmarks of a person facing the camera, in Kinect camera
    space (metres; x to the sensor's left, so the person's left side at smaller x), hips
    3.2 m away, walking 1 cm per frame towards the sensor's left, waving the left hand."""
    rng = np.random.default_rng(0)
    base = np.zeros((33, 3))
    for name, index in MP.items():
        side = -1.0 if name.startswith("left") else 1.0 if name.startswith("right") else 0.0
        height = 0.0 if "hip" in name else -0.45 if "knee" in name else -0.85
        if any(part in name for part in ("shoulder", "elbow", "wrist", "pinky", "index", "thumb")):
            height = {"shoulder": 0.5, "elbow": 0.25}.get(name.split("_")[-1], 0.02)
        if any(part in name for part in ("eye", "ear", "nose", "mouth")):
            height = 0.65 + 0.05 * rng.random()
        width = {"hip": 0.1, "shoulder": 0.18, "elbow": 0.22}.get(name.split("_")[-1], 0.24)
        base[index] = [side * width * (0.3 if height > 0.6 else 1.0), height, 0.0]
    body = np.repeat(base[None], frames, axis=0)
    t = np.arange(frames)
    body[:, :, 0] += 0.01 * t[:, None]
    body[:, MP["left_wrist"], 1] += 0.3 * np.sin(t / 3)
    return body + np.array([0.2, 0.1, 3.2])


def film(body: np.ndarray, mirrored: bool = False) -> tuple[Skeleton, Skeleton]:
    """What MediaPipe would report for ``body``: image keypoints of a pinhole camera with
    Kinect v2's field of view, and world landmarks (its axes, origin between the hips). In a
    mirrored video it sees a person of the opposite handedness: labels swap."""
    x, y, z = body[..., 0], body[..., 1], body[..., 2]
    u = WIDTH / 2 - FOCAL * x / z  # the sensor's left (+x) is image left
    v = HEIGHT / 2 - FOCAL * y / z
    hips = body[:, [MP["left_hip"], MP["right_hip"]]].mean(axis=1, keepdims=True)
    world = (body - hips) * np.array([-1.0, -1.0, 1.0])
    if mirrored:
        u = WIDTH - u
        world = world * np.array([-1.0, 1.0, 1.0])
        swap = list(MEDIAPIPE33.flip_permutation)
        u, v, world = u[:, swap], v[:, swap], world[:, swap]
    scores = np.ones((1, *body.shape[:2]))
    meta = {"fps": 30.0, "image_size": (WIDTH, HEIGHT), "source": "filmed"}
    image = Skeleton(np.stack([u, v], -1)[None], scores, "mediapipe33", space="image", **meta)
    landmarks = Skeleton(world[None], scores, "mediapipe33", space="world", **meta)
    return image, landmarks


def expected_ntu(body: np.ndarray) -> np.ndarray:
    """``(3, T, 25)``: ``body``'s NTU joints by the documented table."""
    return np.einsum("jv,tvc->ctj", MEDIAPIPE_TO_NTU, body)


# --- MediaPipe --------------------------------------------------------------------------------


@pytest.mark.parametrize("lift", ["world", "image"])
def test_mediapipe_poses_are_put_back_where_the_camera_saw_them(lift):
    body = mediapipe_body()
    image, world = film(body)
    x = ntu_input(image, world=world, lift=lift, depth_window=1)
    assert x.shape == (3, 288, 25, 2) and x.dtype == np.float32
    np.testing.assert_allclose(x[:, :20, :, 0], expected_ntu(body), atol=2e-3)
    assert not x[:, 20:].any() and not x[..., 1].any()  # zero padding, nobody second
    # Kinect axes: the person's left shoulder at smaller x, the head up, all in front.
    assert (x[0, :20, NTU["left_shoulder"], 0] < x[0, :20, NTU["right_shoulder"], 0]).all()
    assert (x[1, :20, NTU["head"], 0] > x[1, :20, NTU["spine_base"], 0]).all()
    np.testing.assert_allclose(x[2, :20, NTU["spine_base"], 0], 3.2, atol=1e-3)


def test_a_mirrored_video_gives_the_same_input_when_said_so():
    body = mediapipe_body()
    straight = ntu_input(*film(body)[:1], world=film(body)[1])
    image, world = film(body, mirrored=True)
    np.testing.assert_allclose(ntu_input(image, world=world, mirrored=True), straight, atol=1e-5)
    # Taken as an ordinary video, it is the mirror image: the waving hand changes sides.
    naive = ntu_input(image, world=world)
    wave = np.ptp(naive[1, :20, NTU["right_wrist"], 0]) > np.ptp(
        naive[1, :20, NTU["left_wrist"], 0]
    )
    assert wave


def test_world_landmarks_alone_are_placed_in_front_of_the_camera():
    body = mediapipe_body()
    _, world = film(body)
    x = ntu_input(world)
    hips = x[:, :20, NTU["spine_base"], 0]
    np.testing.assert_allclose(hips, np.array([[0.0], [0.0], [3.5]]) * np.ones((1, 20)), atol=1e-6)


def test_depth_is_smoothed_but_keeps_the_body_shape():
    body = mediapipe_body(40)
    image, world = film(body)
    noisy = image.coords.copy()
    noisy[0, ::7] = (noisy[0, ::7] - [WIDTH / 2, HEIGHT / 2]) * 1.1 + [WIDTH / 2, HEIGHT / 2]
    jittery = image.replace(coords=noisy)  # every 7th frame 10% larger: a depth glitch
    raw = ntu_input(jittery, world=world, depth_window=1)[2, :40, NTU["spine_base"], 0]
    smooth = ntu_input(jittery, world=world)[2, :40, NTU["spine_base"], 0]
    assert np.ptp(raw) > 0.25 and np.ptp(smooth) < 0.01


# --- Kinect skeletons --------------------------------------------------------------------------


def test_ntu_skeletons_pass_through_and_people_are_ordered_by_motion():
    rng = np.random.default_rng(1)
    still = np.tile(rng.normal(0, 0.3, (1, 1, 25, 3)), (1, 50, 1, 1)) + AHEAD
    moving = still + rng.normal(0, 0.05, (1, 50, 25, 3)).cumsum(axis=1)
    coords = np.concatenate([still, moving])
    skeleton = Skeleton(coords, np.ones(coords.shape[:3]), "ntu25", 30.0, "world")
    x = ntu_input(skeleton, frames=64)
    assert x.shape == (3, 64, 25, 2)
    np.testing.assert_allclose(x[:, :50, :, 0], moving[0].transpose(2, 0, 1), atol=1e-6)
    np.testing.assert_allclose(x[:, :50, :, 1], still[0].transpose(2, 0, 1), atol=1e-6)
    assert ntu_input(skeleton, persons=1).shape == (3, 288, 25, 1)


def test_gaps_are_interpolated_and_empty_ends_dropped():
    coords = np.full((1, 12, 25, 3), np.nan)
    coords[0, 2:10] = np.linspace(0, 7, 8)[:, None, None] + np.array([0, 0, 3.0])
    coords[0, 5:7] = np.nan  # lost for two frames
    coords[0, :, NTU["left_thumb"]] = np.nan  # never seen
    x = ntu_input(Skeleton(coords, np.ones((1, 12, 25)), "ntu25", 30.0, "world"), frames=10)
    np.testing.assert_allclose(x[0, :8, NTU["head"], 0], np.linspace(0, 7, 8), atol=1e-6)
    assert not x[:, :, NTU["left_thumb"]].any() and not x[:, 8:].any()


def test_other_frame_rates_are_resampled_to_30_fps():
    t = np.arange(10) / 15.0
    coords = np.zeros((1, 10, 25, 3)) + np.array([0, 0, 3.0])
    coords[..., 0] = t[None, :, None]
    x = ntu_input(Skeleton(coords, np.ones((1, 10, 25)), "ntu25", 15.0, "world"), frames=32)
    np.testing.assert_allclose(x[0, :19, 0, 0], np.arange(19) / 30.0, atol=1e-6)
    assert not x[:, 19:].any()


def test_kinect_v1_joints_map_onto_ntu():
    rng = np.random.default_rng(2)
    coords = rng.normal(0, 0.3, (1, 5, 20, 3)) + AHEAD
    x = ntu_input(Skeleton(coords, np.ones((1, 5, 20)), "kinect_v1_20", 30.0, "world"))[:, :5]
    k = {name: coords[0, :, i].T for i, name in enumerate(KINECT_V1_20.joints)}
    np.testing.assert_allclose(x[:, :, NTU["spine_base"], 0], k["hip_center"], atol=1e-6)
    np.testing.assert_allclose(x[:, :, NTU["spine_shoulder"], 0], k["shoulder_center"], atol=1e-6)
    neck = (k["shoulder_center"] + k["head"]) / 2
    np.testing.assert_allclose(x[:, :, NTU["neck"], 0], neck, atol=1e-6)
    tip = 2 * k["right_hand"] - k["right_wrist"]
    np.testing.assert_allclose(x[:, :, NTU["right_hand_tip"], 0], tip, atol=1e-6)
    np.testing.assert_allclose(x[:, :, NTU["left_thumb"], 0], k["left_hand"], atol=1e-6)
    np.testing.assert_allclose(x[:, :, NTU["left_foot"], 0], k["left_foot"], atol=1e-6)


# --- errors ---------------------------------------------------------------------------------------


def one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


def test_unsupported_input_is_one_clear_pose_error():
    coco = Skeleton(np.zeros((1, 4, 17, 2)), np.ones((1, 4, 17)), "coco17", 30.0, "image")
    with pytest.raises(PoseError) as error:
        ntu_input(coco)
    assert "supported layouts: ntu25, kinect_v1_20, mediapipe33" in one_line(error)
    flat = Skeleton(np.zeros((1, 4, 20, 2)), np.ones((1, 4, 20)), "kinect_v1_20", 30.0, "image")
    with pytest.raises(PoseError) as error:
        ntu_input(flat)
    assert "3D world coordinates" in one_line(error)
    image, world = film(mediapipe_body())
    with pytest.raises(PoseError) as error:
        ntu_input(image)
    assert "pass world=" in one_line(error)
    with pytest.raises(PoseError) as error:
        ntu_input(image, world=world.frames(0, 5))
    assert "same people and frames" in one_line(error)
    nobody = Skeleton.empty("ntu25", 10, 30.0, "world", channels=3)
    with pytest.raises(PoseError) as error:
        ntu_input(nobody)
    assert "nobody" in one_line(error)


# --- real video ----------------------------------------------------------------------------------


@pytest.mark.real_data
def test_mediapipe_poses_of_an_ntu_clip_are_recognised():
    import torch

    from actscope.pose import extract_poses
    from actscope.weights import load_pretrained

    clip = shared_path("sample_clips", "S001C001P001R001A001_rgb.avi")  # A001 drink water
    checkpoint = shared_path("weights", "efficientgcn_b0_ntu60")
    track = extract_poses(clip, workers=1)
    x = ntu_input(track.image, world=track.world, mirrored=True)  # NTU's videos are mirrored
    loaded = load_pretrained(
        "efficientgcn_b0", checkpoint / "2001_EfficientGCN-B0_ntu-xsub.pth.tar"
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            probabilities = loaded.model(torch.from_numpy(x)[None]).softmax(-1)[0]
    finally:
        torch.set_num_threads(threads)
    top5 = [loaded.classes[i] for i in probabilities.topk(5).indices]
    assert "drink water" in top5
