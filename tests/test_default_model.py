"""The default model shipped inside the package: it loads offline and safely, knows the
everyday vocabulary, and its weights score what its model card (docs/default_model.md) says
on each real source's test items (floors a few points under the card's figures)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

import actscope
from actscope.checkpoint import default_checkpoint
from actscope.datasets.everyday import load_taxonomy
from actscope.pose.convert import to_body15
from actscope.pose.layouts import BODY15
from realdata import shared_path


@pytest.fixture(scope="module")
def default():
    return actscope.load_model("default")


@pytest.fixture(scope="module")
def tests():
    from actscope.datasets.catalog import per_source_tests

    shared_path()  # skips without the real data
    return per_source_tests("everyday", "split1")


def top1(recognizer, items) -> float:
    scores = recognizer.skeleton_scores([item.skeleton for item in items])
    return float((scores.argmax(1) == np.array([item.label for item in items])).mean())


def test_ships_small_and_loads_with_weights_only(default):
    path = default_checkpoint()
    assert path.stat().st_size < 8e6  # "a few MB"
    checkpoint = torch.load(path, weights_only=True)
    assert "train_state" not in checkpoint  # weights for inference, no optimizer state
    assert checkpoint["class_names"] == default.class_names
    spec = default.input
    assert (spec.layout, spec.dims) == ("body15", 2)
    assert checkpoint["input"]["kind"] == "skeleton"
    assert not default.model.training


def test_knows_the_everyday_vocabulary_and_when_it_does_not_know(default):
    shared = {name for labels in load_taxonomy().values() for name in labels.values() if name}
    assert set(default.class_names) == shared
    assert {"sitting down", "standing up", "walking", "picking up"} <= shared
    assert default.unknown is not None and 0 < default.unknown.threshold < 1


@pytest.mark.parametrize(
    "source, floor",
    [
        ("jhmdb", 0.82),  # joints annotated on movie and web video
        ("penn-action", 0.95),  # the same, sports and exercise
        ("nw-ucla", 0.88),  # a camera it never trained on
        ("utd-mhad", 0.93),  # Kinect skeletons of unseen subjects, seen as 2D
        ("utd-mhad-openpose", 0.70),  # OpenPose keypoints from RGB video (transfer)
    ],
)
def test_names_real_test_clips_of_each_source(default, tests, source, floor):
    assert top1(default, tests[source]) >= floor


def test_still_names_actions_with_the_legs_out_of_view(default, tests):
    """A person at a desk or close to a webcam shows no legs: the model was trained for it."""
    legs = [
        BODY15.index(f"{side}_{joint}") for side in ("left", "right") for joint in ("knee", "ankle")
    ]
    upper_bodies = []
    for item in tests["utd-mhad"]:
        body = to_body15(item.skeleton)
        coords, scores = body.coords.copy(), body.scores.copy()
        coords[:, :, legs], scores[:, :, legs] = np.nan, 0.0
        upper_bodies.append(replace(item, skeleton=body.replace(coords=coords, scores=scores)))
    assert top1(default, upper_bodies) >= 0.90


def test_names_push_ups_in_real_videos_through_mediapipe(default):
    """Real RGB videos of an action it knows (push-ups, filmed by people at home and in gyms),
    poses by actscope's own MediaPipe path: the first two of each folder, by name."""
    videos = shared_path("pushup_form", "videos")
    clips = [
        sorted((videos / kind).glob("*.mp4"))[i] for kind in ("correct", "wrong") for i in (0, 1)
    ]
    results = actscope.predict(clips, model=default)
    assert sum(r.label == "push-up" for r in results) >= 3
