"""``predict`` and ``detect`` through ``efficientgcn_b0``: MediaPipe-like poses placed in
the camera's frame frame by frame, windows of 9.6 s, mirror images undone on request, and
the real drink-water clip.

The estimator here "films" a generated person (image keypoints and world landmarks, as
MediaPipe reports them) whatever the pixels; the checkpoint is written by the test in the
authors' format with random weights. Nothing is downloaded.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from actscope.inference import Recognizer, detect, predict
from actscope.live import ActionAnalyzer, PoseSample
from actscope.models import create_model
from actscope.models.efficientgcn import NTU60_CLASSES
from actscope.pose import PoseFrame, extract_poses
from actscope.pose.layouts import MEDIAPIPE33
from actscope.pose.ntu_input import ntu_input
from realdata import shared_path
from test_camera_placement import MP, film, standing_body
from test_detect import ScriptedPerson, run_main
from test_efficientgcn import CHECKPOINT, FILE_NAME, save_upstream, skeletons, upstream_state
from videogen import write_video


def drinking(t: int, fps: float) -> np.ndarray:
    """``(33, 3)`` camera coordinates at frame ``t``: a person 3 m away, stepping towards
    the image's right, raising the left hand to the mouth once a second."""
    body = standing_body() + np.array([-0.3 + 0.1 * t / fps, 0.1, 3.0])
    lift = 0.5 * (1 - np.cos(2 * np.pi * t / fps))  # 0 down, 1 at the mouth
    for part in ("wrist", "pinky", "index", "thumb"):
        body[MP[f"left_{part}"], 1] -= 0.55 * lift
        body[MP[f"left_{part}"], 0] -= 0.2 * lift
    return body


class FilmedPerson:
    """A MediaPipe-like estimator that ignores the pixels: frame t (since reset) shows
    :func:`drinking` as a pinhole of Kinect v2's field of view sees it in the image it is
    given, with world landmarks; a mirrored camera swaps x and the person's sides."""

    name = "filmed-person"
    layout = "mediapipe33"
    has_world = True

    def __init__(self, fps: float, mirrored: bool = False) -> None:
        self.fps, self.mirrored, self.t = fps, mirrored, 0

    def estimate(self, image: np.ndarray) -> PoseFrame:
        t, self.t = self.t, self.t + 1
        height, width = image.shape[:2]
        pixels, world = film(drinking(t, self.fps), (width, height))
        if self.mirrored:
            swap = list(MEDIAPIPE33.flip_permutation)
            pixels = pixels[swap] * [-1, 1] + [width, 0]
            world = world[swap] * [-1, 1, 1]
        ones = np.ones((1, 33), np.float32)
        pixels, world = pixels[None].astype(np.float32), world[None].astype(np.float32)
        return PoseFrame(pixels, ones, world, ones)

    def reset(self) -> None:
        self.t = 0

    def close(self) -> None:
        pass


pytestmark = pytest.mark.usefixtures("one_thread")


def random_model() -> torch.nn.Module:
    """EfficientGCN-B0 with the authors' random initialisation but a classifier drawn with
    standard deviation 10 (theirs is 0.001): probabilities that tell inputs apart."""
    torch.manual_seed(1)
    model = create_model("efficientgcn_b0")
    torch.nn.init.normal_(model.fc.weight, std=10.0)
    return model.eval()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ntu")
    # named as the published file: its weights description gives NTU's class names
    weights = save_upstream(folder / FILE_NAME, upstream_state(random_model()))
    return {
        "weights": weights,
        "short": write_video(folder / "short.mp4", 60, fps=30, width=160, height=120),
        "long": write_video(folder / "long.mp4", 120, fps=10, width=160, height=120),
        "folder": folder,
    }


@pytest.fixture(scope="module")
def model(files) -> Recognizer:
    return Recognizer.from_pretrained("efficientgcn_b0", files["weights"])


def test_the_model_reads_camera_placed_poses(model):
    assert model.skeleton_space == "camera" and model.window_seconds == pytest.approx(9.6)
    x = skeletons(2, 60)
    with torch.no_grad():  # the file holds the weights drawn here
        torch.testing.assert_close(model.model(x), random_model()(x))


def test_predict_gives_60_ntu_classes_from_one_zero_padded_window(files, model):
    [result] = predict(files["short"], model, top_k=60, estimator=FilmedPerson(30.0))
    assert result.ok, result.error
    assert result.frames == result.frames_with_person == 60 and result.windows == 1
    assert sorted(label for label, _ in result.top) == sorted(NTU60_CLASSES)
    assert sum(p for _, p in result.top) == pytest.approx(1.0, abs=1e-4)
    # the stream, placing each frame as it comes, feeds what the whole track would give
    track = extract_poses(files["short"], FilmedPerson(30.0))
    x = torch.from_numpy(ntu_input(track.image, world=track.world))[None]
    with torch.no_grad():
        whole = model.model(x).softmax(-1)[0].numpy()
    np.testing.assert_allclose(result.scores.probs[0], whole, atol=1e-5)


def test_a_mirrored_video_is_undone_when_said_so(files, model):
    def probs(mirrored_video: bool, mirrored: bool) -> np.ndarray:
        person = FilmedPerson(30.0, mirrored=mirrored_video)
        [result] = predict(files["short"], model, estimator=person, mirrored=mirrored)
        return result.scores.probs[0]

    straight = probs(False, False)
    np.testing.assert_allclose(probs(True, True), straight, atol=1e-4)
    assert np.abs(probs(True, False) - straight).max() > 1e-3


def test_an_estimator_without_world_keypoints_is_one_clear_error(files, model):
    [result] = predict(files["short"], model, estimator=ScriptedPerson())
    assert not result.ok and "gives no 3D world keypoints" in result.error
    assert "\n" not in result.error


def test_a_longer_video_is_scored_in_9_6_s_windows_and_detect_works(files, model):
    """12 s at 10 fps: a window of 96 frames ends at 9.6 s, the next a hop of 2.4 s later,
    at the end of the video; nothing is left for a tail window."""
    [result] = predict(files["long"], model, top_k=3, estimator=FilmedPerson(10.0))
    assert result.ok and result.windows == 2
    np.testing.assert_allclose(result.scores.starts, [0.0, 2.4])
    np.testing.assert_allclose(result.scores.ends, [9.6, 12.0])
    found = detect(files["long"], model, estimator=FilmedPerson(10.0), threshold=0.0)
    np.testing.assert_allclose(found.scores.probs, result.scores.probs, atol=1e-5)
    assert found.frames_with_person == 120 and not found.warnings


def test_detect_on_a_pose_file_places_its_poses_in_the_camera_frame(files, model, capsys):
    poses = files["folder"] / "poses.npz"
    extract_poses(files["long"], FilmedPerson(10.0)).save(poses)
    [video] = predict(files["long"], model, estimator=FilmedPerson(10.0))
    found = detect(poses, model, threshold=0.0)
    np.testing.assert_allclose(found.scores.probs, video.scores.probs, atol=1e-5)
    code, stdout, stderr = run_main(
        capsys, "detect", str(poses), "-m", "efficientgcn_b0", "--weights",
        str(files["weights"]), "--json", "--threshold", "0",
    )  # fmt: skip
    assert code == 0, stderr
    assert json.loads(stdout)["duration"] == pytest.approx(12.0)


def test_cli_predict_with_upstream_weights_by_file(files, capsys):
    """Real MediaPipe finds nobody in grey test frames: no invented label, a warning."""
    code, stdout, stderr = run_main(
        capsys, "predict", str(files["short"]), "-m", "efficientgcn_b0", "--weights",
        str(files["weights"]), "--mirrored", "--json",
    )  # fmt: skip
    assert code == 0, stderr
    [result] = json.loads(stdout)
    assert result["top"] == [] and result["frames"] == 60 and "no person" in stderr


def test_live_windows_are_placed_in_the_camera_frame(model):
    """Live recognition keeps its own history by stream time: 3 s of frames at 30 fps."""
    person, image = FilmedPerson(30.0), np.zeros((120, 160, 3), np.uint8)
    samples = []
    for t in range(90):
        found = person.estimate(image)
        samples.append(
            PoseSample(t, t / 30, 0.0, image, "mediapipe33", found.keypoints[0],
                       found.scores[0], found.world[0])
        )  # fmt: skip
    analyzer = ActionAnalyzer(model, hop=1.0)
    for sample in samples:
        analysis = analyzer.update([sample])
    assert analysis.lines != ["nobody in view"]
    window = analyzer.history.window(9.6, camera=True)
    assert window.space == "camera" and window.coords.shape == (1, 288, 33, 3)
    hips = window.coords[0, -90:, [MP["left_hip"], MP["right_hip"]]].mean(axis=0)
    expected = np.array(
        [drinking(t, 30.0)[[MP["left_hip"], MP["right_hip"]]].mean(0) for t in range(90)]
    )
    np.testing.assert_allclose(hips, expected, atol=0.05)  # 3 m away, stepping right


@pytest.mark.real_data
def test_the_drink_water_clip_ranks_drink_water_in_the_top_5():
    """NTU's own sample (its performer is in the training split: this checks the path, not
    generalisation). NTU's videos are mirror images, so the mirror is undone."""
    clip = shared_path("sample_clips", "S001C001P001R001A001_rgb.avi")
    model = Recognizer.from_pretrained("efficientgcn_b0", shared_path(*CHECKPOINT))
    [result] = predict(clip, model, top_k=5, mirrored=True)
    assert result.ok and result.windows == 1 and result.frames_with_person >= 95
    assert "drink water" in [label for label, _ in result.top], result.top
