"""Pose estimation over video: the frame loop with a scripted estimator, and MediaPipe on real
clips (NTU sample, push-ups), rendering, and a video with nobody in it."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from actscope.errors import CorruptVideoError, PoseError
from actscope.pose import PoseEstimator, PoseFrame, PoseTrack, extract_poses, iter_poses
from actscope.pose.layouts import MEDIAPIPE33
from actscope.video import read_video
from realdata import shared_path
from videogen import level, write_video

MP = {name: i for i, name in enumerate(MEDIAPIPE33.joints)}


class ScriptedEstimator:
    """Reads the frame index off a generated frame (its grey level); finds nobody in odd
    frames, else one person whose every keypoint is at (x = index, y = image centre)."""

    name = "scripted"
    layout = "coco17"
    has_world = False

    def __init__(self) -> None:
        self.resets = 0

    def estimate(self, image: np.ndarray) -> PoseFrame:
        height, width = image.shape[:2]
        grey = image[height // 2 :, width // 2 :].mean()  # away from the white marker
        index = min(range(30), key=lambda i: abs(level(i) - grey))
        if index % 2:
            return PoseFrame(np.zeros((0, 17, 2)), np.zeros((0, 17)))
        points = np.tile([float(index), height / 2], (1, 17, 1))
        return PoseFrame(points, np.full((1, 17), 0.8))

    def reset(self) -> None:
        self.resets += 1

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """30 frames at 20 fps, 128x96, grey level encoding the frame index."""
    return write_video(
        tmp_path_factory.mktemp("pose") / "clip.mp4", 30, fps=20, width=128, height=96
    )


def test_scripted_estimator_satisfies_the_protocol():
    assert isinstance(ScriptedEstimator(), PoseEstimator)


def test_frames_without_a_person_stay_in_the_track(clip):
    estimator = ScriptedEstimator()
    track = extract_poses(clip, estimator)
    image = track.image
    assert (image.num_people, image.num_frames, image.fps) == (1, 30, 20.0)
    assert track.world is None and estimator.resets == 1
    present = image.present()[0]
    assert present.tolist() == [t % 2 == 0 for t in range(30)]
    np.testing.assert_array_equal(image.coords[0, present, 0, 0], np.arange(0, 30, 2))
    assert np.isnan(image.coords[0, 1]).all() and (image.scores[0, 1] == 0).all()
    assert track.frames_with_person == 15


def test_keypoints_are_reported_in_the_videos_pixels(clip):
    track = extract_poses(clip, ScriptedEstimator(), work_size=48)  # decoded at 64x48
    assert track.image.image_size == (128, 96)
    np.testing.assert_allclose(track.image.coords[0, 0, :, 1], 48.0)  # centre of 96 rows
    np.testing.assert_allclose(track.image.coords[0, 2, 0, 0], 2 * 128 / 64)


def test_step_keeps_every_nth_frame_and_scales_fps(clip):
    track = extract_poses(clip, ScriptedEstimator(), step=3)
    assert track.num_frames == 10 and track.image.fps == pytest.approx(20 / 3)
    np.testing.assert_array_equal(track.image.coords[0, ::2, 0, 0], [0, 6, 12, 18, 24])


def test_parallel_estimators_return_frames_in_order(clip):
    estimators = [ScriptedEstimator(), ScriptedEstimator(), ScriptedEstimator()]
    frames = list(iter_poses(clip, estimators, block=4, warmup=2))
    assert [frame.index for frame, _ in frames] == list(range(30))
    found = [int(p.keypoints[0, 0, 0]) for _, p in frames if p.num_people]
    assert found == list(range(0, 30, 2))
    with pytest.raises(PoseError, match="list of estimators"):
        extract_poses(clip, ScriptedEstimator(), workers=2)


def test_decoding_errors_reach_the_caller(tmp_path, caplog):
    video = write_video(
        tmp_path / "v.mp4", 120, width=96, height=64, container_options={"movflags": "faststart"}
    )
    data = bytearray(video.read_bytes())
    for i in range(len(data) // 2, len(data) // 2 + 3000, 7):  # damage in the middle
        data[i] ^= 0xFF
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    with pytest.raises(CorruptVideoError):  # raised in the decoding thread
        extract_poses(damaged, ScriptedEstimator())
    partial = extract_poses(damaged, ScriptedEstimator(), allow_partial=True)
    assert 0 < partial.num_frames < 120
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(video.read_bytes()[: len(data) * 2 // 3])
    with pytest.raises(CorruptVideoError, match="truncated"):
        extract_poses(cut, ScriptedEstimator())
    with caplog.at_level(logging.WARNING):
        short = extract_poses(cut, ScriptedEstimator(), allow_partial=True)
    assert short.num_frames < 120 and "of its 120 frames" in caplog.text


def test_track_save_and_load(tmp_path, clip):
    track = extract_poses(clip, ScriptedEstimator())
    track.save(tmp_path / "t.npz")
    back = PoseTrack.load(tmp_path / "t.npz")
    np.testing.assert_array_equal(back.image.coords, track.image.coords)
    assert back.world is None


# --- MediaPipe on real clips -------------------------------------------------------------


@pytest.fixture(scope="module")
def ntu_track():
    return extract_poses(shared_path("sample_clips", "S001C001P001R001A001_rgb.avi"), workers=1)


@pytest.mark.real_data
def test_mediapipe_finds_the_person_in_the_ntu_clip(ntu_track):
    image, world = ntu_track.image, ntu_track.world
    assert image.num_frames == 103 and ntu_track.frames_with_person >= 0.95 * 103
    assert image.layout == "mediapipe33" and image.image_size == (1920, 1080)
    seen = image.coords[0][image.scores[0] > 0.5]
    assert (seen >= 0).all() and (seen[:, 0] < 1920).all() and (seen[:, 1] < 1080).all()
    # world landmarks in metres: a standing adult, nose to ankles
    height = np.nanmedian(
        world.coords[0, :, MP["left_ankle"], 1] - world.coords[0, :, MP["nose"], 1]
    )
    assert 1.2 < height < 2.0


@pytest.mark.real_data
def test_mediapipe_left_and_right_on_a_person_facing_the_camera(ntu_track):
    """The NTU performer faces the camera: their left shoulder is on the image's right, in
    image keypoints and in world landmarks (whose x runs the same way)."""
    for skeleton in (ntu_track.image, ntu_track.world):
        across = (
            skeleton.coords[0, :, MP["left_shoulder"], 0]
            - skeleton.coords[0, :, MP["right_shoulder"], 0]
        )
        assert np.nanmedian(across) > 0
        up = skeleton.coords[0, :, MP["left_ankle"], 1] - skeleton.coords[0, :, MP["nose"], 1]
        assert np.nanmedian(up) > 0  # y down in both


@pytest.mark.real_data
@pytest.mark.parametrize(
    "name",
    # the first clip of each of the three most common sizes in labels.tsv
    ["correct/correct1.mp4", "correct/correct100.mp4", "correct/correct51.mp4"],
)
def test_mediapipe_finds_the_person_in_push_up_clips(name):
    track = extract_poses(shared_path("pushup_form", "videos", name), workers=1)
    assert track.frames_with_person >= 0.95 * track.num_frames


@pytest.mark.real_data
def test_two_workers_match_one(ntu_track):
    two = extract_poses(shared_path("sample_clips", "S001C001P001R001A001_rgb.avi"), workers=2)
    difference = np.linalg.norm(two.image.coords - ntu_track.image.coords, axis=-1)
    seen = ntu_track.image.scores > 0.5
    assert np.nanmedian(difference[seen]) < 2.0  # pixels of a 1920x1080 video
    assert np.nanpercentile(difference[seen], 95) < 15.0


@pytest.mark.real_data
def test_render_draws_on_the_person(tmp_path, ntu_track):
    from actscope.pose.render import render_video

    video = shared_path("sample_clips", "S001C001P001R001A001_rgb.avi")
    output = tmp_path / "render.mp4"
    render_video(video, ntu_track.image, output, short_side=360)
    rendered = read_video(output)
    assert rendered.frames.shape == (103, 360, 640, 3)
    original = read_video(video, [50], short_side=360).frames[0].astype(int)
    changed = np.abs(rendered.frames[50].astype(int) - original).sum(axis=-1) > 120
    points = ntu_track.image.coords[0, 50] * (640 / 1920)
    low, high = np.nanmin(points, axis=0) - 15, np.nanmax(points, axis=0) + 15
    rows, cols = np.nonzero(changed)
    inside = (cols >= low[0]) & (cols <= high[0]) & (rows >= low[1]) & (rows <= high[1])
    assert changed.sum() > 200 and inside.mean() > 0.95
    assert [p.name for p in tmp_path.iterdir()] == ["render.mp4"]


def test_a_video_with_nobody_gives_an_empty_track_and_a_warning(tmp_path, caplog):
    video = write_video(tmp_path / "empty_room.mp4", 12, width=96, height=64)
    with caplog.at_level(logging.WARNING):
        track = extract_poses(video, workers=1)
    assert track.image.num_people == 0 and track.num_frames == 12
    assert track.world is not None and track.world.num_people == 0
    assert "no person found in any of its 12 frames" in caplog.text
    track.save(tmp_path / "empty.npz")
    assert PoseTrack.load(tmp_path / "empty.npz").image.coords.shape == (0, 12, 33, 2)
