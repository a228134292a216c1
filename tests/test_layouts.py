"""Joint layouts, conversion through body15, and normalisation, on generated skeletons."""

from __future__ import annotations

import numpy as np
import pytest

from actscope.errors import PoseError
from actscope.pose import (
    BODY15_JOINTS,
    LAYOUTS,
    Skeleton,
    convert,
    from_body15,
    get_layout,
    normalize,
    to_body15,
)
from actscope.pose.convert import axis_signs

# A person facing the camera in canonical axes (x right, y up, z towards the camera), metres:
# their left side is at larger x.
STANDING = {
    "head": (0.0, 1.62, 0.0),
    "neck": (0.0, 1.40, 0.0),
    "pelvis": (0.0, 0.95, 0.0),
    "left_shoulder": (0.18, 1.40, 0.0),
    "left_elbow": (0.22, 1.12, 0.02),
    "left_wrist": (0.24, 0.86, 0.05),
    "right_shoulder": (-0.18, 1.40, 0.0),
    "right_elbow": (-0.22, 1.12, 0.02),
    "right_wrist": (-0.24, 0.86, 0.05),
    "left_hip": (0.10, 0.95, 0.0),
    "left_knee": (0.11, 0.52, 0.03),
    "left_ankle": (0.11, 0.08, 0.0),
    "right_hip": (-0.10, 0.95, 0.0),
    "right_knee": (-0.11, 0.52, 0.03),
    "right_ankle": (-0.11, 0.08, 0.0),
}


def standing_body15(frames: int = 4, space: str = "world") -> Skeleton:
    """(1, frames, 15, 3) body15 skeleton of the standing person, swaying along x."""
    base = np.array([STANDING[j] for j in BODY15_JOINTS], np.float32)
    sway = np.linspace(0, 0.2, frames, dtype=np.float32)[:, None, None] * [1, 0, 0]
    coords = (base[None] + sway)[None]
    return Skeleton(coords, np.ones(coords.shape[:3]), "body15", 30, space)


def random_skeleton(layout: str, space: str, channels: int, seed: int = 0) -> Skeleton:
    rng = np.random.default_rng(seed)
    joints = get_layout(layout).num_joints
    coords = rng.normal(size=(2, 5, joints, channels)).astype(np.float32)
    coords[1, 2, 3] = np.nan  # one missing joint
    scores = rng.uniform(0.2, 1.0, size=(2, 5, joints))
    return Skeleton(coords, scores, layout, 25, space)


# --- layouts -------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_layout_is_one_connected_body_of_named_joints(name):
    layout = LAYOUTS[name]
    assert len(set(layout.joints)) == layout.num_joints
    assert layout.edges and all(a != b for a, b in layout.edges)
    assert len({frozenset(e) for e in layout.edges}) == len(layout.edges)  # no duplicate bone
    reached, frontier = {layout.center[0]}, [layout.center[0]]
    while frontier:
        joint = frontier.pop()
        for a, b in layout.edges:
            for here, there in ((a, b), (b, a)):
                if here == joint and there not in reached:
                    reached.add(there)
                    frontier.append(there)
    assert reached == set(range(layout.num_joints)), "every joint hangs off the centre"


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_flip_pairs_pair_left_with_right(name):
    layout = LAYOUTS[name]
    for left, right in layout.flip_pairs:
        assert layout.joints[left].replace("left_", "right_") == layout.joints[right]
    sided = [j for j in layout.joints if j.startswith(("left_", "right_"))]
    assert 2 * len(layout.flip_pairs) == len(sided)
    flip = layout.flip_permutation
    assert sorted(flip) == list(range(layout.num_joints))
    assert [flip[i] for i in flip] == list(range(layout.num_joints))  # an involution


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_every_layout_gives_all_body15_joints(name):
    assert set(LAYOUTS[name].to_body15) == set(BODY15_JOINTS)


def test_kinect_layouts_follow_sdk_order():
    kinect = get_layout("kinect_v1_20")
    assert kinect.joints[:4] == ("hip_center", "spine", "shoulder_center", "head")
    assert kinect.joints[-1] == "right_foot" and kinect.num_joints == 20
    ntu = get_layout("ntu25")
    assert ntu.joints[0] == "spine_base" and ntu.joints[20] == "spine_shoulder"
    assert ntu.num_joints == 25


def test_the_default_model_graph_is_the_body15_layout():
    from actscope.models.graph import body15_graph

    graph, layout = body15_graph(), get_layout("body15")
    assert {frozenset(e) for e in graph.edges} == {frozenset(e) for e in layout.edges}
    assert graph.num_joints == 15 and graph.center == layout.center[0] == 2


def test_unknown_layout_is_a_pose_error():
    with pytest.raises(PoseError, match="known layouts"):
        get_layout("kinect_v3")
    with pytest.raises(PoseError, match="has no joint"):
        get_layout("coco17").index("pelvis")


# --- conversion ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layout", "space", "channels"),
    [
        ("kinect_v1_20", "world", 3),
        ("ntu25", "world", 3),
        ("mediapipe33", "world", 3),
        ("mediapipe33", "image", 2),
        ("coco17", "image", 2),
        ("openpose18", "image", 2),
        ("ntu25", "image", 2),
    ],
)
def test_round_trip_keeps_shared_joints_exactly(layout, space, channels):
    source = random_skeleton(layout, space, channels)
    back = from_body15(to_body15(source), layout)
    info = get_layout(layout)
    shared = [info.index(alts[0][0]) for alts in info.to_body15.values() if len(alts[0]) == 1]
    assert len(shared) >= 12  # four limbs of three joints at least
    np.testing.assert_array_equal(back.coords[:, :, shared], source.coords[:, :, shared])
    np.testing.assert_array_equal(back.scores[:, :, shared], source.scores[:, :, shared])
    others = sorted(set(range(info.num_joints)) - set(shared))
    assert np.isnan(back.coords[:, :, others]).all()
    assert back.space == source.space and back.layout == layout


def test_derived_joints_are_midpoints_with_fallbacks():
    layout = get_layout("mediapipe33")
    coords = np.random.default_rng(1).normal(size=(1, 2, 33, 2)).astype(np.float32)
    scores = np.full((1, 2, 33), 0.9, np.float32)
    scores[0, :, layout.index("left_hip")] = 0.4
    coords[0, 1, layout.index("right_ear")] = np.nan  # frame 1: head falls back to the nose
    body = to_body15(Skeleton(coords, scores, "mediapipe33", 30, "image"))
    flip = np.array([1, -1], np.float32)  # image y down -> canonical y up
    joint = {name: coords[0, :, layout.index(name)] * flip for name in layout.joints}
    got = {name: body.coords[0, :, i] for i, name in enumerate(BODY15_JOINTS)}
    np.testing.assert_allclose(got["pelvis"], (joint["left_hip"] + joint["right_hip"]) / 2)
    np.testing.assert_allclose(got["neck"], (joint["left_shoulder"] + joint["right_shoulder"]) / 2)
    np.testing.assert_allclose(got["head"][0], (joint["left_ear"][0] + joint["right_ear"][0]) / 2)
    np.testing.assert_allclose(got["head"][1], joint["nose"][1])
    # a midpoint's score is its joints' mean: half as far off as the unsure one
    assert body.scores[0, 0, BODY15_JOINTS.index("pelvis")] == pytest.approx(0.65)


def test_a_joint_the_source_cannot_give_is_missing():
    layout = get_layout("coco17")
    coords = np.zeros((1, 2, 17, 2), np.float32)
    coords[0, :, layout.index("left_hip")] = np.nan  # both frames: one hip unplaced
    coords[0, 1, layout.index("right_hip")] = [3.0, 4.0]
    coords[0, 0, layout.index("right_hip")] = np.nan  # frame 0: neither hip
    scores = np.ones((1, 2, 17), np.float32)
    scores[0, 1, layout.index("right_hip")] = 0.7
    body = to_body15(Skeleton(coords, scores, "coco17", 30, "image"))
    pelvis = BODY15_JOINTS.index("pelvis")
    assert np.isnan(body.coords[0, 0, pelvis]).all() and body.scores[0, 0, pelvis] == 0
    # the other hip stands in for the midpoint, with its own score
    np.testing.assert_allclose(body.coords[0, 1, pelvis], [3.0, -4.0])
    assert body.scores[0, 1, pelvis] == pytest.approx(0.7)


def test_convert_between_image_layouts_keeps_limbs():
    coco = random_skeleton("coco17", "image", 2, seed=3)
    openpose = convert(coco, "openpose18")
    for name in ("left_wrist", "right_knee", "nose"):
        if name == "nose":  # not shared through body15: comes back missing
            assert np.isnan(openpose.coords[:, :, get_layout("openpose18").index(name)]).all()
            continue
        np.testing.assert_array_equal(
            openpose.coords[:, :, get_layout("openpose18").index(name)],
            coco.coords[:, :, get_layout("coco17").index(name)],
        )


def test_axis_conventions_per_source():
    # Kinect camera space: x towards the subject's right when they face the sensor, z depth.
    kinect = from_body15(standing_body15(), "kinect_v1_20")
    layout = get_layout("kinect_v1_20")
    left, right = (kinect.coords[0, 0, layout.index(j)] for j in ("left_hip", "right_hip"))
    assert left[0] < right[0] and left[1] == pytest.approx(right[1])
    # MediaPipe world: y down, so the head has smaller y than the ankles.
    mediapipe = from_body15(standing_body15(), "mediapipe33")
    mp = get_layout("mediapipe33")
    assert (
        mediapipe.coords[0, 0, mp.index("left_shoulder"), 1]
        < (mediapipe.coords[0, 0, mp.index("left_ankle"), 1])
    )
    with pytest.raises(PoseError, match="no 3D world"):
        axis_signs("coco17", "world", 3)


# --- normalisation -----------------------------------------------------------------------


def _torso(skeleton: Skeleton) -> np.ndarray:
    body = to_body15(skeleton).coords[0]
    return np.linalg.norm(body[:, 1] - body[:, 2], axis=-1)


def test_normalize_centres_and_scales_by_the_torso():
    body = standing_body15(frames=6)
    out = normalize(body)
    assert out.space == "normalized" and out.layout == "body15"
    np.testing.assert_allclose(np.median(out.coords[0, :, 2], axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(_torso(out), 1.0, rtol=1e-5)
    per_frame = normalize(body, center="frame")
    np.testing.assert_allclose(per_frame.coords[0, :, 2], 0, atol=1e-6)
    # the sway along x survives sequence centring, not frame centring
    assert np.ptp(out.coords[0, :, 2, 0]) > 0.3


def test_normalize_is_invariant_to_scale_and_translation():
    body = standing_body15()
    moved = body.replace(coords=body.coords * 3.5 + np.array([1.0, -2.0, 4.0], np.float32))
    np.testing.assert_allclose(normalize(moved).coords, normalize(body).coords, atol=1e-5)


def test_normalize_rotate_turns_the_body_to_face_the_camera():
    body = standing_body15()
    angle = np.deg2rad(40)
    c, s = np.cos(angle), np.sin(angle)
    turn = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]], np.float32)
    turned = body.replace(coords=body.coords @ turn.T)
    plain = normalize(turned)
    hips = plain.coords[0, 0, 9] - plain.coords[0, 0, 12]
    assert abs(hips[2]) > 0.2  # turned away: the hip line has depth
    facing = normalize(turned, rotate=True)
    np.testing.assert_allclose(facing.coords, normalize(body).coords, atol=1e-5)
    with pytest.raises(PoseError, match="3D"):
        normalize(body, dims=2, rotate=True)


def test_normalize_2d_image_keypoints_puts_the_head_up():
    body = standing_body15(space="image")
    body = body.replace(coords=body.coords[..., :2] * 200 + np.array([320, -400], np.float32))
    image = from_body15(body, "coco17")  # pixels, y down
    coco = get_layout("coco17")
    pixel_y = image.coords[0, 0, :, 1]
    assert pixel_y[coco.index("left_shoulder")] < pixel_y[coco.index("left_ankle")]  # y down
    image = image.replace(coords=np.nan_to_num(image.coords, nan=300.0))  # face: somewhere
    out = normalize(image)
    assert out.channels == 2
    shoulder, ankle = (out.coords[0, 0, coco.index(j), 1] for j in ("left_shoulder", "left_ankle"))
    assert shoulder > 0 > ankle
    assert (
        out.coords[0, 0, coco.index("left_hip"), 0] > out.coords[0, 0, coco.index("right_hip"), 0]
    )
    np.testing.assert_allclose(_torso(out), 1.0, rtol=1e-5)


def test_normalize_3d_to_2d_measures_the_torso_in_the_image_plane():
    body = standing_body15()
    leaning = body.coords.copy()
    leaning[..., 2] += (leaning[..., 1] - 0.95) * 0.8  # lean towards the camera
    out = normalize(body.replace(coords=leaning), dims=2)
    assert out.channels == 2
    np.testing.assert_allclose(_torso(out), 1.0, rtol=1e-5)


def test_normalize_without_pelvis_or_neck_warns_and_keeps_coordinates(caplog):
    coords = np.full((1, 3, 15, 3), np.nan, np.float32)
    coords[0, :, 0] = 1.0  # only a head
    out = normalize(Skeleton(coords, np.ones((1, 3, 15)), "body15", 30, "world", "x"))
    assert out.space == "normalized" and "no frame has both" in caplog.text
