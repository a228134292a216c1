"""The Recognizer's skeleton-space choice and RGB clip scoring; helpers that write small
checkpoints for the inference tests (imported by test_predict, test_detect, test_overlay)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from actscope.checkpoint import make_checkpoint, save_checkpoint
from actscope.errors import ModelError
from actscope.inference import ClipRecognizer, Recognizer, SkeletonRecognizer
from actscope.models import create_model
from actscope.pose import PoseTrack, Skeleton
from actscope.pose.features import BodyFeatures
from actscope.video import ClipSpec
from videogen import write_video

CLASSES = ("wave", "clap", "squat")


def skeleton_checkpoint(
    path: Path,
    classes=CLASSES,
    *,
    dims: int = 2,
    window: float = 1.0,
    seed: int = 0,
    min_score: float = 0.0,
) -> Path:
    """A ``tcn`` with random weights for body15 input, ``dims`` coordinates + score; joints
    scored under ``min_score`` count as missing."""
    torch.manual_seed(seed)
    kwargs = {"in_channels": dims + 1, "score_channel": dims, "channels": [16, 16, 16, 16]}
    model = create_model("tcn", num_classes=len(classes), **kwargs).eval()
    spec = BodyFeatures(dims=dims, frames=16, min_score=min_score, window_seconds=window)
    checkpoint = make_checkpoint(
        model, model_name="tcn", model_kwargs=kwargs, class_names=classes, input_spec=spec
    )
    return save_checkpoint(checkpoint, path)


def video_checkpoint(path: Path, classes=CLASSES) -> Path:
    """An ``x3d_xs`` with random weights taking 4 frames, 2 apart, at 32x32 pixels."""
    torch.manual_seed(0)
    model = create_model("x3d_xs", num_classes=len(classes)).eval()
    spec = ClipSpec(frames=4, stride=2, size=32, resize=32, mean=(0.45,) * 3, std=(0.225,) * 3)
    checkpoint = make_checkpoint(
        model, model_name="x3d_xs", model_kwargs={}, class_names=classes, input_spec=spec
    )
    return save_checkpoint(checkpoint, path)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("recognizer")
    return {
        "2d": Recognizer.load(skeleton_checkpoint(folder / "s2.pt")),
        "3d": Recognizer.load(skeleton_checkpoint(folder / "s3.pt", dims=3)),
        "rgb": Recognizer.load(video_checkpoint(folder / "rgb.pt")),
    }


def _track(world: bool) -> PoseTrack:
    coords = np.random.default_rng(0).normal(size=(1, 5, 17, 2)).astype(np.float32)
    image = Skeleton(coords, np.ones((1, 5, 17)), "coco17", 10.0, "image")
    if not world:
        return PoseTrack(image)
    deep = np.concatenate([coords, np.ones((1, 5, 17, 1), np.float32)], axis=-1)
    return PoseTrack(image, Skeleton(deep, np.ones((1, 5, 17)), "coco17", 10.0, "world"))


def test_2d_models_read_image_keypoints_and_3d_models_world_keypoints(models):
    track = _track(world=True)
    assert models["2d"].skeleton_space == "image"
    assert models["2d"].track_skeleton(track) is track.image
    assert models["3d"].skeleton_space == "world"
    assert models["3d"].track_skeleton(track) is track.world


def test_a_3d_model_refuses_a_track_without_world_keypoints(models):
    with pytest.raises(ModelError, match="3D"):
        models["3d"].track_skeleton(_track(world=False))


def test_clip_transform_follows_the_input_spec(models):
    frames = np.zeros((4, 48, 80, 3), np.uint8)
    clip = models["rgb"].clip_transform()(frames)
    assert tuple(clip.shape) == (3, 4, 32, 32)
    # a black frame normalised by mean 0.45, std 0.225
    np.testing.assert_allclose(clip.numpy(), -0.45 / 0.225, rtol=1e-5)


def test_video_clips_spreads_clips_over_the_video(models, tmp_path):
    video = write_video(tmp_path / "clip.mp4", 40, fps=20, width=64, height=48)
    starts, ends, probs, frames = models["rgb"].video_clips(video, num_clips=3)
    assert frames == 40 and probs.shape == (3, len(CLASSES))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    # 3 clips of 4 frames 2 apart (span 7 frames) over 40 frames start at 0, 16.5, 33
    np.testing.assert_allclose(starts, [0.0, 0.8, 1.65], atol=0.06)
    np.testing.assert_allclose(ends - starts, 7 / 20, atol=1e-6)


def test_the_input_spec_picks_the_recognizer_and_each_refuses_the_other_spec(models):
    assert isinstance(models["2d"], SkeletonRecognizer)
    assert isinstance(models["rgb"], ClipRecognizer)
    assert models["rgb"].input.frames == 4 and models["2d"].input.window_seconds == 1.0
    with pytest.raises(ModelError, match="takes a ClipSpec"):
        ClipRecognizer(models["2d"].model, list(CLASSES), models["2d"].input, "x")
    with pytest.raises(ModelError, match="takes a BodyFeatures"):
        SkeletonRecognizer(models["rgb"].model, list(CLASSES), models["rgb"].input, "x")


def test_device_cpu_and_auto_score_as_the_default_load():
    """``device="cpu"`` is what ``load`` always did; ``"auto"`` is the CPU where CUDA is not
    available; the same inputs give the same scores, bit for bit."""
    default = Recognizer.load("default")
    on_cpu = Recognizer.load("default", device="cpu")
    auto = Recognizer.load("default", device="auto")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert default.device.type == on_cpu.device.type == "cpu" and auto.device.type == expected
    features = default.input
    shape = (features.channels, features.frames, features.num_joints, features.persons)
    inputs = torch.randn(5, *shape, generator=torch.Generator().manual_seed(0))
    scores = default.scores(inputs)
    assert scores.dtype == np.float32 and scores.shape == (5, len(default.class_names))
    assert np.array_equal(on_cpu.scores(inputs), scores)
    if expected == "cpu":
        assert np.array_equal(auto.scores(inputs), scores)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error where CUDA is missing")
def test_cuda_where_there_is_none_is_a_one_line_model_error(models):
    for attempt in (
        lambda: Recognizer.load("default", device="cuda"),
        lambda: models["2d"].to("cuda:0"),
    ):
        with pytest.raises(ModelError, match="CUDA is not available; use cpu") as info:
            attempt()
        assert "\n" not in str(info.value)
    assert models["2d"].device.type == "cpu"  # a refused move leaves the model where it was
    with pytest.raises(ModelError, match="unknown device 'gpu'"):
        Recognizer.load("default", device="gpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_model_on_cuda_scores_as_on_the_cpu(models, tmp_path):
    video = write_video(tmp_path / "clip.mp4", 40, fps=20, width=64, height=48)
    on_cpu = models["rgb"].video_clips(video, num_clips=3)[2]
    gpu = Recognizer.load(video_checkpoint(tmp_path / "rgb.pt"), device="cuda")
    assert gpu.device.type == "cuda"
    probs = gpu.video_clips(video, num_clips=3)[2]
    assert probs.dtype == np.float32  # back on the CPU, as numpy
    np.testing.assert_allclose(probs, on_cpu, atol=1e-4)
