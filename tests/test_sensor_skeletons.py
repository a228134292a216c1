"""Sensor skeletons end to end: per-frame timestamps in Skeleton and its files (format
version 2, version 1 still read), resampling and slicing by time, and poses files holding
only world keypoints through predict and detect with a model trained on a sensor's own
layout (kinect_v1_20, torso-normalised), from the API and the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from actscope.checkpoint import make_checkpoint, save_checkpoint
from actscope.errors import ModelError, PoseError
from actscope.inference import Recognizer, detect, detect_skeleton
from actscope.inference.prediction import predict
from actscope.inference.scoring import HOLE_SECONDS, even_frames
from actscope.models import create_model
from actscope.pose import Skeleton, load_skeletons, save_skeletons
from actscope.pose.features import BodyFeatures
from actscope.pose.layouts import KINECT_V1_20

CLASSES = ["wave", "clap", "walk"]

# A person standing 2.5 m in front of a Kinect, in its camera space (metres: x towards the
# sensor's left, y up, z away), kinect_v1_20 order.
STANDING = np.array(
    [
        [0.00, 0.00, 2.50], [0.00, 0.07, 2.50], [0.00, 0.40, 2.50], [0.00, 0.58, 2.50],
        [-0.17, 0.35, 2.50], [-0.22, 0.10, 2.50], [-0.24, -0.12, 2.50], [-0.25, -0.20, 2.50],
        [0.17, 0.35, 2.50], [0.22, 0.10, 2.50], [0.24, -0.12, 2.50], [0.25, -0.20, 2.50],
        [-0.09, -0.07, 2.50], [-0.10, -0.50, 2.50], [-0.10, -0.90, 2.50], [-0.10, -0.96, 2.45],
        [0.09, -0.07, 2.50], [0.10, -0.50, 2.50], [0.10, -0.90, 2.50], [0.10, -0.96, 2.45],
    ],
    np.float32,
)  # fmt: skip
RIGHT_ELBOW, RIGHT_WRIST, RIGHT_HAND = 9, 10, 11


def waving_recording(times: np.ndarray, moving: tuple[float, float]) -> Skeleton:
    """A kinect_v1_20 world skeleton at ``times`` (s): standing still, waving the right
    forearm (1.5 waves a second, about 0.26 m) while ``moving[0] <= t < moving[1]``."""
    coords = np.repeat(STANDING[None], len(times), axis=0)
    for i, t in enumerate(times):
        if moving[0] <= t < moving[1]:
            angle = 1.2 * np.sin(2 * np.pi * 1.5 * t)
            arm = 0.23 * np.array([np.sin(angle), np.cos(angle), 0.0], np.float32)
            coords[i, RIGHT_WRIST] = coords[i, RIGHT_ELBOW] + arm
            coords[i, RIGHT_HAND] = coords[i, RIGHT_ELBOW] + 1.3 * arm
    scores = np.ones(coords.shape[:2], np.float32)
    return Skeleton(
        coords[None], scores[None], "kinect_v1_20", 7.5, "world", "kinect", timestamps=times
    )


def uneven_times(seconds: float, seed: int = 0) -> np.ndarray:
    """Frame times of a 30 Hz clock of which only every 2nd to 6th tick was recorded."""
    rng = np.random.default_rng(seed)
    ticks = np.cumsum(rng.integers(2, 7, size=int(seconds * 30 / 2)))
    return ticks[ticks < seconds * 30] / 30.0


def kinect_checkpoint(path: Path, window: float = 1.5) -> Path:
    """A ``tcn`` with random weights over kinect_v1_20 joints in 3D, torso-normalised."""
    torch.manual_seed(0)
    kwargs = {
        "in_channels": 4,
        "score_channel": 3,
        "channels": [16, 16, 16, 16],
        "graph": "kinect_v1_20",
    }
    model = create_model("tcn", num_classes=len(CLASSES), **kwargs).eval()
    spec = BodyFeatures(
        dims=3,
        frames=16,
        layout="kinect_v1_20",
        normalize="torso",
        min_score=0.0,
        fps=10.0,
        window_seconds=window,
    )
    checkpoint = make_checkpoint(
        model, model_name="tcn", model_kwargs=kwargs, class_names=CLASSES, input_spec=spec
    )
    return save_checkpoint(checkpoint, path)


@pytest.fixture(scope="module")
def kinect_model(tmp_path_factory) -> Path:
    return kinect_checkpoint(tmp_path_factory.mktemp("kinect") / "kinect.pt")


# --- timestamps in Skeleton and its files -----------------------------------------------


def test_uneven_timestamps_survive_save_and_load(tmp_path):
    times = uneven_times(6.0)
    skeleton = waving_recording(times, (1.0, 4.0))
    path = tmp_path / "sensor.npz"
    skeleton.save(path)
    back = Skeleton.load(path)
    assert not back.even and back.fps == 7.5
    np.testing.assert_array_equal(back.timestamps, times)
    np.testing.assert_array_equal(back.coords, skeleton.coords)
    assert back.duration == pytest.approx(times[-1] - times[0] + 1 / 7.5)
    exported = skeleton.to_json_dict()
    assert exported["version"] == 2
    assert [f["time"] for f in exported["frames"]] == pytest.approx(times.tolist(), abs=1e-6)
    # an evenly spaced skeleton in the same file keeps no timestamps
    image = Skeleton(np.zeros((1, 3, 20, 2)), np.ones((1, 3, 20)), "kinect_v1_20", 30.0, "image")
    save_skeletons(path, [image, skeleton])
    found = load_skeletons(path)
    assert found["image"].even and found["image"].times.tolist() == pytest.approx(
        [0, 1 / 30, 2 / 30]
    )
    np.testing.assert_array_equal(found["world"].timestamps, times)


def test_version_1_files_still_load(tmp_path):
    """A file written before timestamps existed (format version 1: no timestamps key)."""
    skeleton = waving_recording(np.arange(12) / 7.5, (0.0, 1.0)).replace(timestamps=None)
    path = tmp_path / "old.npz"
    skeleton.save(path)
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files if not key.endswith(".timestamps")}
    arrays["version"] = np.array(1)
    np.savez(path, **arrays)
    old = Skeleton.load(path)
    assert old.even and old.num_frames == 12 and old.duration == pytest.approx(12 / 7.5)
    np.testing.assert_array_equal(old.coords, skeleton.coords)


def test_bad_timestamps_are_one_line_errors():
    coords, scores = np.zeros((1, 3, 20, 3)), np.ones((1, 3, 20))
    for stamps, needle in (
        ([0.0, 0.2], r"shape \(T,\) = \(3,\)"),
        ([0.0, 0.2, 0.2], "increase strictly: frame 2"),
        ([0.0, np.nan, 0.4], "finite"),
    ):
        with pytest.raises(PoseError, match=needle) as error:
            Skeleton(coords, scores, "kinect_v1_20", 7.5, "world", timestamps=stamps)
        assert "\n" not in str(error.value)


def test_resampling_follows_the_timestamps():
    """A joint moving at 2 m/s, recorded unevenly: on an even 10 fps grid each value is
    the joint's true position at the grid time, except inside a hole longer than max_gap."""
    times = np.array([0.0, 0.1, 0.35, 0.4, 0.5, 2.0, 2.1])  # a 1.5 s hole after 0.5 s
    coords = np.zeros((1, len(times), 20, 3), np.float32)
    coords[0, :, :, 0] = 2.0 * times[:, None]
    skeleton = Skeleton(coords, np.ones(coords.shape[:3]), "kinect_v1_20", 10.0, "world",
                        timestamps=times)  # fmt: skip
    even = skeleton.resample()
    assert even.even and even.fps == 10.0 and even.num_frames == 22
    np.testing.assert_allclose(even.coords[0, :, 3, 0], 2.0 * np.arange(22) / 10, atol=1e-5)
    holed = skeleton.resample(max_gap=1.0)
    x = holed.coords[0, :, 3, 0]
    assert np.isnan(x[6:20]).all() and (holed.scores[0, 6:20] == 0).all()
    outside = np.array([0, 1, 2, 3, 4, 5, 20, 21])
    np.testing.assert_allclose(x[outside], 2.0 * outside / 10, atol=1e-5)
    # another rate, and a grid that keeps a late first frame in its place
    assert skeleton.resample(4.0).num_frames == 9  # 0, 0.25, ..., 2.0
    late = Skeleton(coords, np.ones(coords.shape[:3]), "kinect_v1_20", 10.0, "world",
                    timestamps=times + 0.3)  # fmt: skip
    kept = late.resample(start=0.0)
    assert kept.num_frames == 25 and np.isnan(kept.coords[0, :3]).all()
    np.testing.assert_allclose(kept.coords[0, 3:8, 0, 0], 2.0 * np.arange(5) / 10, atol=1e-5)
    # evenly spaced frames at their own rate come back unchanged
    assert even.resample() is even


def test_slicing_by_time_keeps_the_timestamps():
    times = uneven_times(6.0, seed=1)
    skeleton = waving_recording(times, (1.0, 4.0))
    part = skeleton.slice_time(2.0, 3.0)
    inside = (times >= 2.0) & (times < 3.0)
    np.testing.assert_array_equal(part.timestamps, times[inside])
    assert part.num_frames == inside.sum() > 0
    assert skeleton.frames(3, 7).timestamps.tolist() == times[3:7].tolist()


def test_features_of_uneven_frames_match_even_ones():
    """The model input of a movement recorded unevenly is that of the same movement
    recorded evenly: features resample by time, not by frame count."""
    features = BodyFeatures(dims=3, frames=16, layout="kinect_v1_20", normalize="torso", fps=10.0)

    def raising(times: np.ndarray, **changes) -> Skeleton:
        """The right arm rising at a steady 0.4 m/s: linear in time."""
        skeleton = waving_recording(times, (0.0, 0.0))
        for joint in (RIGHT_WRIST, RIGHT_HAND):
            skeleton.coords[0, :, joint, 1] += 0.4 * times
        return skeleton.replace(**changes)

    uneven_times_ = np.array([0.0, 0.1, 0.3, 0.4, 0.7, 0.8, 1.1, 1.2])  # gaps of 0.1-0.3 s
    even_times = np.arange(13) / 10
    uneven = raising(uneven_times_)
    even = raising(even_times, timestamps=None, fps=10.0)
    a, b = features(uneven), features(even)
    assert a.shape == b.shape == (4, 16, 20, 1)
    np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-4)
    # placed over the window by frame count instead, they differ
    naive = features(uneven.replace(timestamps=None))
    assert float((naive - b).abs().max()) > 0.05


# --- world-only poses files through predict and detect -------------------------------------


def test_a_world_only_poses_file_goes_through_detect_with_a_kinect_layout_model(
    tmp_path, kinect_model
):
    times = uneven_times(12.0)
    recording = waving_recording(times, (4.0, 8.0))
    path = tmp_path / "sensor.npz"
    recording.save(path)  # world keypoints only: no image ones
    assert set(load_skeletons(path)) == {"world"}
    found = detect(path, kinect_model, threshold=0.0)
    assert found.frames_with_person == found.frames and not found.warnings
    # the motion gate finds the waving and nothing else; times are the file's own
    assert len(found.segments) == 1, found.segments
    segment = found.segments[0]
    assert segment.start == pytest.approx(4.0, abs=0.5) and segment.end == pytest.approx(
        8.0, abs=0.5
    )
    assert segment.label in CLASSES
    # rescoring used the history in the model's own layout; a late start keeps its times
    late = recording.replace(timestamps=times + 100.0)
    shifted = detect_skeleton(late, kinect_model, threshold=0.0)
    assert [(s.start - 100.0, s.end - 100.0, s.label) for s in shifted.segments] == [
        pytest.approx((segment.start, segment.end, segment.label))
    ]


def test_predict_reads_a_world_only_poses_file(tmp_path, kinect_model):
    path = tmp_path / "sensor.npz"
    waving_recording(uneven_times(6.0), (1.0, 5.0)).save(path)
    [result] = predict(path, kinect_model, top_k=3)
    assert result.ok and result.windows > 0 and len(result.top) == 3
    assert sum(p for _, p in result.top) == pytest.approx(1.0, abs=1e-5)  # all 3 classes


def test_poses_the_model_cannot_read_are_refused_clearly(tmp_path, kinect_model):
    model = Recognizer.load(kinect_model)
    image_only = tmp_path / "image.npz"
    Skeleton(np.zeros((1, 4, 20, 2)), np.ones((1, 4, 20)), "kinect_v1_20", 30, "image").save(
        image_only
    )
    with pytest.raises(ModelError, match="holds no 3D world keypoints") as error:
        detect(image_only, model)
    assert "\n" not in str(error.value)
    mediapipe = tmp_path / "mediapipe.npz"
    Skeleton(np.zeros((1, 4, 33, 3)), np.ones((1, 4, 33)), "mediapipe33", 30, "world").save(
        mediapipe
    )
    with pytest.raises(ModelError, match=r"takes kinect_v1_20 skeletons.*mediapipe33") as error:
        detect(mediapipe, model)
    assert "\n" not in str(error.value)


def test_even_frames_fill_holes_with_nobody():
    times = np.concatenate([np.arange(0, 2, 0.125), 2 + HOLE_SECONDS + np.arange(0, 2, 0.125)])
    even, start = even_frames(waving_recording(times, (0.0, 0.0)))
    assert start == 0.0 and even.even
    present = even.present()[0]
    hole = (even.times > 1.9) & (even.times < 2 + HOLE_SECONDS - 0.01)
    assert not present[hole].any() and present[~hole].all()


# --- the command line ------------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "actscope", *args], capture_output=True, text=True, timeout=180
    )


def test_detect_command_on_a_world_only_poses_file(tmp_path, kinect_model):
    path = tmp_path / "sensor.npz"
    waving_recording(uneven_times(12.0), (4.0, 8.0)).save(path)
    result = run_cli("detect", str(path), "-m", str(kinect_model), "--json", "--threshold", "0")
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert len(found["segments"]) == 1 and found["segments"][0]["start"] == pytest.approx(
        4, abs=0.5
    )


@pytest.mark.parametrize("command", ["detect", "predict", "fall"])
def test_a_bad_poses_file_is_one_error_line_and_exit_2(tmp_path, kinect_model, command):
    bad = tmp_path / "broken.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip archive")
    args = [command, str(bad)] + ([] if command == "fall" else ["-m", str(kinect_model)])
    result = run_cli(*args)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "broken.npz" in lines[0]
    assert "Traceback" not in result.stderr


def test_kinect_joint_order_is_the_layout_s():
    """The generated person is in kinect_v1_20's order (head above the neck above the
    pelvis, right hand on the sensor's right)."""
    joints = KINECT_V1_20.joints
    y = dict(zip(joints, STANDING[:, 1], strict=True))
    assert y["head"] > y["shoulder_center"] > y["hip_center"] > y["left_knee"]
    assert STANDING[joints.index("right_hand"), 0] > 0 > STANDING[joints.index("left_hand"), 0]


def test_live_refuses_a_sensor_layout_model_before_opening_the_source(tmp_path, kinect_model):
    """Live poses come from MediaPipe: a kinect_v1_20 model is refused in one line, at once."""
    result = run_cli("live", str(tmp_path / "absent.mp4"), "-m", str(kinect_model))
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "takes kinect_v1_20 skeletons" in lines[0], result.stderr
