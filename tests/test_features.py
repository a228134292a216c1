"""Model-input features of skeletons (BodyFeatures) and the random-view training transform,
on generated body15 skeletons: what stays the same across sources must stay the same, and
what the transform varies must vary."""

from __future__ import annotations

import numpy as np
import pytest

from actscope.datasets.view_augment import RandomViewTransform
from actscope.pose.features import NECK, BodyFeatures
from actscope.pose.layouts import BODY15
from actscope.pose.skeleton import Skeleton

J = {name: i for i, name in enumerate(BODY15.joints)}

# A standing person in canonical axes (metres; x to the viewer's right, y up, z towards the
# camera), facing the camera: their left side at larger x.
STANDING = {
    "head": (0.0, 1.65, 0.0),
    "neck": (0.0, 1.45, 0.0),
    "pelvis": (0.0, 0.95, 0.0),
    "left_shoulder": (0.2, 1.42, 0.0),
    "left_elbow": (0.25, 1.15, 0.0),
    "left_wrist": (0.27, 0.9, 0.05),
    "right_shoulder": (-0.2, 1.42, 0.0),
    "right_elbow": (-0.25, 1.15, 0.0),
    "right_wrist": (-0.27, 0.9, 0.05),
    "left_hip": (0.1, 0.95, 0.0),
    "left_knee": (0.11, 0.5, 0.02),
    "left_ankle": (0.12, 0.08, 0.0),
    "right_hip": (-0.1, 0.95, 0.0),
    "right_knee": (-0.11, 0.5, 0.02),
    "right_ankle": (-0.12, 0.08, 0.0),
}


def waving(frames: int = 60, distance: float = 3.0, walk: float = 0.0) -> Skeleton:
    """A person ``distance`` m from the camera raising and waving the right hand, walking
    ``walk`` m to the right meanwhile: world ``(1, T, 15, 3)``."""
    pose = np.array([STANDING[name] for name in BODY15.joints], np.float32)
    coords = np.repeat(pose[None], frames, axis=0)
    t = np.linspace(0, 1, frames)
    coords[:, J["right_elbow"]] = np.stack([-0.35 + 0 * t, 1.45 + 0 * t, 0 * t], 1)
    coords[:, J["right_wrist"]] = np.stack(
        [-0.45 + 0.15 * np.sin(8 * np.pi * t), 1.75 + 0 * t, 0 * t], 1
    )
    coords[..., 0] += walk * t[:, None]
    coords[..., 2] -= distance
    scores = np.ones(coords.shape[:2], np.float32)
    return Skeleton(coords[None], scores[None], "body15", 30.0, "world", "generated")


def test_shape_and_score_channel():
    x = BodyFeatures(dims=2, frames=32, persons=2)(waving()).numpy()
    assert x.shape == (3, 32, 15, 2) and x.dtype == np.float32
    assert np.all(x[2, :, :, 0] == 1.0)  # every joint present
    assert np.all(x[:, :, :, 1] == 0.0)  # the second person slot is padding


def test_distance_to_the_camera_does_not_change_the_pose():
    near, far = (BodyFeatures()(waving(distance=d)).numpy() for d in (3.0, 6.0))
    pose = [j for j in range(15) if j != NECK]
    np.testing.assert_allclose(near[:2, :, pose], far[:2, :, pose], atol=0.03)  # perspective


def test_joints_are_neck_relative_and_the_neck_carries_the_path():
    still, walking = (BodyFeatures(dims=3)(waving(walk=w)).numpy() for w in (0.0, 1.0))
    pose = [j for j in range(15) if j != NECK]
    np.testing.assert_allclose(still[:3, :, pose], walking[:3, :, pose], atol=1e-5)
    assert np.ptp(still[0, :, NECK]) < 1e-6
    # one metre to the right is about 1 / 0.45 limb lengths (mean arm and leg bone ~0.3 m)
    assert 1.5 < np.ptp(walking[0, :, NECK]) < 5.0


def test_image_scale_does_not_matter():
    skeleton = waving()
    image = skeleton.replace(
        coords=(skeleton.coords[..., :2] / -skeleton.coords[..., 2:]) * 500 + 300,
        space="image",
        layout="body15",
    )
    bigger = image.replace(coords=image.coords * 3)
    a, b = BodyFeatures()(image).numpy(), BodyFeatures()(bigger).numpy()
    np.testing.assert_allclose(a, b, atol=1e-4)


def test_missing_joints_are_zero_with_score_zero_and_nobody_is_all_zero():
    skeleton = waving()
    coords, scores = skeleton.coords.copy(), skeleton.scores.copy()
    coords[:, :, J["left_ankle"]] = np.nan
    scores[:, :, J["left_ankle"]] = 0
    x = BodyFeatures()(skeleton.replace(coords=coords, scores=scores)).numpy()
    assert np.all(x[:, :, J["left_ankle"]] == 0) and np.isfinite(x).all()
    assert x[2, :, J["left_knee"]].min() == 1.0
    empty = skeleton.replace(coords=coords[:0], scores=scores[:0])
    assert not BodyFeatures()(empty).numpy().any()


def test_view_transform_is_seeded_by_numpy_and_varies_the_view():
    transform = RandomViewTransform(BodyFeatures(frames=32))
    skeleton = waving()
    np.random.seed(3)
    a = transform(skeleton).numpy()
    np.random.seed(3)
    b = transform(skeleton).numpy()
    c = transform(skeleton).numpy()
    np.testing.assert_array_equal(a, b)
    assert a.shape == (3, 32, 15, 1) and np.isfinite(a).all()
    assert np.abs(a - c).max() > 0.05


def test_view_transform_mirrors_left_and_right():
    transform = RandomViewTransform(
        BodyFeatures(), yaw=0, pitch=0, roll=0, distance=(0, 0), hip_shift=(0, 0),
        head_shift=0, mirror=1.0, drop=0, crop=0, noise=0, quantize=0, frame_scale=0,
        hide_trajectory=0, occlude=0,
    )  # fmt: skip
    plain = BodyFeatures()(waving()).numpy()
    mirrored = transform(waving()).numpy()
    # the waving right hand is now a left hand, on the other side of the body
    np.testing.assert_allclose(
        mirrored[0, :, J["left_wrist"]], -plain[0, :, J["right_wrist"]], atol=1e-5
    )
    np.testing.assert_allclose(
        mirrored[1, :, J["left_wrist"]], plain[1, :, J["right_wrist"]], atol=1e-5
    )


@pytest.mark.parametrize("seed", range(5))
def test_occlusion_hides_joints_with_score_zero(seed):
    transform = RandomViewTransform(BodyFeatures(), occlude=1.0, drop=0, crop=0)
    np.random.seed(seed)
    x = transform(waving()).numpy()
    hidden = x[2] == 0
    assert hidden.any() and not hidden[:, NECK].any()
    assert np.all(x[:2][:, hidden] == 0)


def test_a_one_frame_skeleton_is_still_a_valid_input():
    one = waving(frames=1)
    x = RandomViewTransform(BodyFeatures(frames=16))(one).numpy()
    assert x.shape == (3, 16, 15, 1) and np.isfinite(x).all()


def test_joints_scored_below_min_score_count_as_missing():
    skeleton = waving()
    scores = skeleton.scores.copy()
    scores[:, :, J["left_knee"]] = 0.1  # placed, but the estimator could not see it
    scores[:, :, J["right_knee"]] = 0.6
    x = BodyFeatures(min_score=0.3)(skeleton.replace(scores=scores)).numpy()
    assert np.all(x[:, :, J["left_knee"]] == 0)
    assert (
        np.allclose(x[2, :, J["right_knee"]], 0.6) and np.abs(x[:2, :, J["right_knee"]]).min() > 0
    )
    kept = BodyFeatures(min_score=0.0)(skeleton.replace(scores=scores)).numpy()
    assert np.allclose(kept[2, :, J["left_knee"]], 0.1)


def test_old_input_specs_keep_every_placed_joint():
    spec = {"kind": "skeleton", "layout": "body15", "dims": 3, "frames": 20, "persons": 2}
    assert BodyFeatures.from_dict(spec) == BodyFeatures(dims=3, frames=20, persons=2)
    assert BodyFeatures.from_dict({**spec, "min_score": 0.1}).min_score == 0.1


def test_view_transform_spreads_scores_like_an_estimator():
    transform = RandomViewTransform(BodyFeatures(), score_jitter=1.0, occlude=0)
    np.random.seed(0)
    scores = transform(waving()).numpy()[2]
    assert scores.min() >= 0.3 and scores.max() <= 1.0 and scores.std() > 0.1
