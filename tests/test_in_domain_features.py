"""The in-domain options of the skeleton features (a sensor's own layout, torso
normalisation, a fixed frame rate) and the geometric training transform, on generated
skeletons."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from actscope.datasets.geometric_augment import RandomGeometricTransform
from actscope.errors import ConfigError, PoseError
from actscope.models.registry import create_model
from actscope.pose.convert import convert
from actscope.pose.features import BodyFeatures
from actscope.pose.layouts import BODY15, KINECT_V1_20
from test_features import waving

KINECT = dict(dims=3, layout="kinect_v1_20", normalize="torso", min_score=0.0)


def kinect_waving(frames: int = 60, walk: float = 0.0) -> object:
    """The generated waving person as a Kinect v1 skeleton (hands and feet missing)."""
    return convert(waving(frames, walk=walk), "kinect_v1_20")


def test_torso_features_centre_each_frame_on_the_pelvis_in_torso_lengths():
    skeleton = waving(walk=1.0)
    x = BodyFeatures(dims=3, normalize="torso", min_score=0.0)(skeleton).numpy()
    pelvis, neck = BODY15.index("pelvis"), BODY15.index("neck")
    assert np.abs(x[:3, :, pelvis]).max() < 1e-5  # walking does not move the pelvis
    torso = np.linalg.norm(x[:3, :, neck] - x[:3, :, pelvis], axis=0)
    np.testing.assert_allclose(torso, 1.0, atol=1e-4)
    still = BodyFeatures(dims=3, normalize="torso", min_score=0.0)(waving()).numpy()
    np.testing.assert_allclose(x, still, atol=1e-4)


def test_a_sensor_layout_keeps_its_own_joints_and_refuses_others():
    features = BodyFeatures(frames=32, **KINECT)
    x = features(kinect_waving()).numpy()
    assert x.shape == (4, 32, KINECT_V1_20.num_joints, 1)
    hand = KINECT_V1_20.index("right_hand")  # not in body15: missing, so zero
    wrist = KINECT_V1_20.index("right_wrist")
    assert not x[:, :, hand].any() and x[3, :, wrist].min() == 1.0
    with pytest.raises(PoseError, match="kinect_v1_20"):
        features(waving())  # a body15 skeleton for a Kinect model
    with pytest.raises(PoseError, match="torso"):
        BodyFeatures(layout="kinect_v1_20")  # limb normalisation is body15's


def test_a_frame_rate_keeps_tempo_where_stretching_loses_it():
    slow, fast = waving(frames=80), waving(frames=40)  # the same wave, in half the time
    stretched = BodyFeatures(dims=3, frames=64, normalize="torso", min_score=0.0)
    np.testing.assert_allclose(stretched(slow).numpy(), stretched(fast).numpy(), atol=0.05)
    timed = BodyFeatures(dims=3, frames=64, normalize="torso", min_score=0.0, fps=30.0)
    a, b = timed(slow).numpy(), timed(fast).numpy()
    assert np.abs(a - b).max() > 0.1
    wrist = BODY15.index("right_wrist")  # the waving joint
    moving = np.abs(np.diff(b[0, :, wrist, 0])) > 1e-6
    assert 30 <= moving.sum() <= 42  # 40 frames of motion centred in 64; the ends held
    assert not moving[:10].any() and not moving[-10:].any()
    assert np.allclose(timed(waving(frames=200)).shape, (4, 64, 15, 1))  # squeezed in


def test_spec_round_trip_keeps_the_in_domain_options():
    features = BodyFeatures(frames=96, fps=30.0, **KINECT)
    assert BodyFeatures.from_dict(features.to_dict()) == features
    assert BodyFeatures.from_dict({"dims": 2}).layout == "body15"  # keys left out: defaults


def test_a_sensor_layout_builds_models_over_its_own_graph():
    features = BodyFeatures(frames=32, **KINECT)
    x = torch.stack([features(kinect_waving())] * 2)
    for name in ("tcn", "sgn", "stgcn"):
        model = create_model(
            name, num_classes=5, in_channels=4, score_channel=3, graph=features.layout
        ).eval()
        assert model(x).shape == (2, 5)


def test_geometric_transform_is_seeded_and_varies_the_body():
    transform = RandomGeometricTransform(BodyFeatures(frames=48, **KINECT))
    skeleton = kinect_waving()

    def draw(seed: int) -> np.ndarray:
        np.random.seed(seed)
        torch.manual_seed(seed)
        return transform(skeleton).numpy()

    np.testing.assert_array_equal(draw(1), draw(1))
    a, b = draw(1), draw(2)
    assert a.shape == b.shape == (4, 48, 20, 1) and np.abs(a - b).max() > 0.05
    hand = KINECT_V1_20.index("right_hand")
    assert not a[:, :, hand].any()  # missing joints stay missing


def test_geometric_transform_refuses_bad_options():
    with pytest.raises(ConfigError, match="crop"):
        RandomGeometricTransform(crop=(0.0, 1.0))


def test_geometric_transform_adds_noise_and_drops_whole_joints():
    features = BodyFeatures(frames=32, dims=3, normalize="torso", min_score=0.0)
    still = dict(crop=(1.0, 1.0), rotate=(0.0, 0.0, 0.0), scale=(1.0, 1.0), shear=0.0)
    plain = features(waving())
    torch.manual_seed(0)
    noisy = RandomGeometricTransform(features, noise=0.03, **still)(waving())
    assert 0.025 < float((noisy - plain)[:3].std()) < 0.035  # in torso lengths
    assert torch.equal(noisy[3], plain[3])  # scores untouched
    torch.manual_seed(0)
    dropped = RandomGeometricTransform(features, joint_dropout=0.5, **still)(waving())
    gone = dropped[3, 0, :, 0] == 0
    assert 2 <= int(gone.sum()) <= 13  # of 15 joints, each with probability 0.5
    assert not dropped[:, :, gone].any()  # missing for the whole clip: coordinates and score
    kept = ~gone
    assert torch.equal(dropped[:, :, kept], plain[:, :, kept])


def test_use_scores_false_keeps_joints_a_sensor_scored_zero():
    skeleton = waving()
    wrist = BODY15.index("right_wrist")
    scores = skeleton.scores.copy()
    scores[:, ::2, wrist] = 0.0  # flagged, yet placed (MSR Action3D's tracking flags)
    flagged = skeleton.replace(scores=scores)
    kept = BodyFeatures(dims=3, normalize="torso", min_score=0.0, use_scores=False)
    x = kept(flagged).numpy()
    assert x[3, :, wrist].min() == 1.0
    np.testing.assert_allclose(x, kept(skeleton).numpy(), atol=1e-6)
    trusted = BodyFeatures(dims=3, normalize="torso", min_score=0.0)(flagged).numpy()
    assert trusted[3, :, wrist].min() < 0.5  # by default the score is passed on
    assert BodyFeatures.from_dict(kept.to_dict()) == kept
