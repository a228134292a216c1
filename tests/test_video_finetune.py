"""Fine-tuning RGB models on video datasets: listing, splits, clips, pretrained weights, frozen
backbones, multi-view testing, and the CLI, on generated videos.

The learning task: a square slides down (class ``down``) or up (class ``up``) through a small
frame, wrapping around at the edges. Every ``up`` video is a ``down`` video played backwards,
so both classes hold exactly the same frames and only their order tells them apart: a model
that looks at single frames is at chance (50%).
"""

from __future__ import annotations

import logging
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from actscope.checkpoint import load_checkpoint
from actscope.datasets.catalog import evaluation_data, get_dataset, training_data
from actscope.datasets.video_data import (
    VideoClipDataset,
    read_csv_list,
    scan_folder,
    split_items,
    usable,
)
from actscope.engine.config import TrainConfig, apply_overrides
from actscope.engine.evaluate import evaluate
from actscope.engine.run import fit
from actscope.engine.trainer import build_model
from actscope.errors import ConfigError
from actscope.inference.recognizer import ClipRecognizer, Recognizer
from actscope.models import create_model
from actscope.video import ClipSpec

SIZE, FRAMES = 40, 12  # pixels, frames per generated video
SPEC = ClipSpec(frames=4, stride=2, size=32, resize=32, mean=(0.45,) * 3, std=(0.225,) * 3)


pytestmark = pytest.mark.usefixtures("one_thread")


def square_frames(seed: int) -> np.ndarray:
    """RGB uint8 ``(FRAMES, SIZE, SIZE, 3)``: a square sliding down 3 px per frame."""
    rng = np.random.default_rng(seed)
    top, left = rng.uniform(0, SIZE), int(rng.uniform(4, SIZE - 14))
    background, square = rng.uniform(0, 90, 3), rng.uniform(160, 255, 3)
    frames = np.empty((FRAMES, SIZE, SIZE, 3))
    frames[:] = background
    for i in range(FRAMES):
        rows = (int(top + 3 * i) + np.arange(10)) % SIZE
        frames[i, rows, left : left + 10] = square
    frames += rng.normal(0, 4, frames.shape)
    return np.clip(frames, 0, 255).astype(np.uint8)


def write_frames(path: Path, frames: np.ndarray, fps: int = 25) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("h264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = SIZE, SIZE, "yuv420p"
        for image in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_squares(root: Path, count: int, first_seed: int = 0) -> Path:
    """``root/down/*.mp4`` and ``root/up/*.mp4``, ``count`` each; ``up`` = ``down`` reversed."""
    for i in range(count):
        frames = square_frames(first_seed + i)
        write_frames(root / "down" / f"d{i:03d}.mp4", frames)
        write_frames(root / "up" / f"u{i:03d}.mp4", frames[::-1])
    return root


@pytest.fixture(scope="module")
def squares(tmp_path_factory) -> Path:
    return write_squares(tmp_path_factory.mktemp("squares"), 48)


@pytest.fixture(scope="module")
def few_squares(tmp_path_factory) -> Path:
    return write_squares(tmp_path_factory.mktemp("few"), 6, first_seed=1000)


def config(*overrides: str) -> TrainConfig:
    base = ["threads=1", "progress=false", "device=cpu", "seed=0"]
    return apply_overrides(TrainConfig(), [*base, *overrides])


def pyslowfast_x3d(model: torch.nn.Module) -> dict:
    """An X3D's weights under PySlowFast's names, as its model zoo files store them."""
    names = {
        "stem.conv_xy.": "s1.pathway0_stem.conv_xy.",
        "stem.conv_t.": "s1.pathway0_stem.conv.",
        "stem.bn.": "s1.pathway0_stem.bn.",
        "head.conv5.": "head.conv_5.",
        "head.bn5.": "head.conv_5_bn.",
        "head.lin5.": "head.lin_5.",
        "head.fc.": "head.projection.",
    }
    block = {"conv1": "branch2.a", "bn1": "branch2.a_bn", "conv2": "branch2.b",
             "bn2": "branch2.b_bn", "conv3": "branch2.c", "bn3": "branch2.c_bn",
             "se.fc1": "branch2.se.fc1", "se.fc2": "branch2.se.fc2",
             "shortcut.conv": "branch1", "shortcut.bn": "branch1_bn"}  # fmt: skip
    state = {}
    for key, value in model.state_dict().items():
        prefixes = [old for old in names if key.startswith(old)]
        renamed = names[prefixes[0]] + key[len(prefixes[0]) :] if prefixes else None
        if renamed is None:  # stages.S.J.<module>.<leaf>
            _, stage, index, rest = key.split(".", 3)
            module, leaf = rest.rsplit(".", 1)
            renamed = f"s{int(stage) + 2}.pathway0_res{index}.{block[module]}.{leaf}"
        state[renamed] = value.clone()
    return state


@pytest.fixture(scope="module")
def kinetics_x3d(tmp_path_factory) -> tuple[Path, dict]:
    """A PySlowFast-format X3D-XS checkpoint (400 classes) with random weights and random
    batch-norm statistics, and the actscope state dict it holds."""
    torch.manual_seed(7)
    model = create_model("x3d_xs")
    for name, buffer in model.named_buffers():
        if name.endswith("running_mean"):
            buffer.normal_(0, 0.1)
        elif name.endswith("running_var"):
            buffer.uniform_(0.5, 1.5)
    path = tmp_path_factory.mktemp("weights") / "x3d_xs.pyth"
    torch.save({"model_state": pyslowfast_x3d(model), "epoch": 300}, path)
    return path, {k: v.clone() for k, v in model.state_dict().items()}


# --- the task and the data -----------------------------------------------------------------


def test_both_classes_hold_the_same_frames(squares):
    down = scan_folder(squares).items[0].path
    up = squares / "up" / down.name.replace("d", "u")
    with av.open(str(down)) as a, av.open(str(up)) as b:
        frames_down = [f.to_ndarray(format="rgb24").astype(int) for f in a.decode(video=0)]
        frames_up = [f.to_ndarray(format="rgb24").astype(int) for f in b.decode(video=0)]
    # Lossy coding differs a little; the order is what differs a lot.
    reversed_error = np.mean(
        [np.abs(x - y).mean() for x, y in zip(frames_down, frames_up[::-1], strict=True)]
    )
    same_order_error = np.mean(
        [np.abs(x - y).mean() for x, y in zip(frames_down, frames_up, strict=True)]
    )
    assert reversed_error < 3 < same_order_error


def test_folder_layout_and_split(squares):
    videos = scan_folder(squares)
    assert videos.class_names == ["down", "up"] and len(videos) == 96
    train, test = split_items(videos, "")
    assert (len(train), len(test)) == (76, 20)
    assert sum(i.label for i in test) == 10  # stratified: half of each class
    assert not {i.path for i in train} & {i.path for i in test}
    again, _ = split_items(videos, "split=0.8")
    other, _ = split_items(videos, "split=0.8,seed=1")
    assert again == train and other != train
    (squares / "testlist01.txt").write_text("down/d000.mp4\nup/u001.mp4 2\n")
    train, test = split_items(videos, "testlist=testlist01.txt")
    assert [i.path.name for i in test] == ["d000.mp4", "u001.mp4"] and len(train) == 94
    with pytest.raises(ConfigError, match=r"split=0\.8"):
        split_items(videos, "cross-subject")


def test_csv_lists_kinetics_and_path_label(tmp_path, few_squares):
    source = few_squares / "down" / "d000.mp4"
    for split, label, youtube_id in [("train", "push up", "abc"), ("val", "squat", "xyz")]:
        target = tmp_path / split / label / f"{youtube_id}_000010_000020.mp4"
        target.parent.mkdir(parents=True)
        target.write_bytes(source.read_bytes())
    (tmp_path / "kinetics.csv").write_text(
        "label,youtube_id,time_start,time_end,split\n"
        "push up,abc,10,20,train\nsquat,xyz,10,20,val\nsquat,gone,0,10,train\n"
    )
    videos = read_csv_list(tmp_path)
    assert videos.class_names == ["push up", "squat"]  # the missing "gone" is skipped
    assert [(i.path.parent.name, i.label, i.split) for i in videos.items] == [
        ("push up", 0, "train"),
        ("squat", 1, "val"),
    ]
    train, test = split_items(videos, "")  # the split column
    assert [i.label for i in train] == [0] and [i.label for i in test] == [1]

    listed = tmp_path / "lists"
    listed.mkdir()
    (listed / "all.csv").write_text("path,label\n../train/push up/abc_000010_000020.mp4,a\n")
    assert read_csv_list(listed).items[0].path.is_file()
    with pytest.raises(ConfigError, match="column"):
        split_items(read_csv_list(listed), "column")


def test_train_and_test_items(few_squares):
    items = scan_folder(few_squares).items
    np.random.seed(0)
    train = VideoClipDataset(items, SPEC, train=True)
    clip, label = train[0]
    assert clip.shape == (3, 4, 32, 32) and label == 0 and clip.dtype == torch.float32
    test = VideoClipDataset(items, SPEC, train=False, clips=2, crops=3)
    assert test.views == 6 and test[0][0].shape == (6, 3, 4, 32, 32)
    view = test.single_view()
    assert view.views == 1 and view[0][0].shape == (3, 4, 32, 32)
    assert torch.equal(view[0][0], view[0][0])  # test items are not random
    np.random.seed(1)
    assert not torch.equal(train[0][0], clip)  # training items are


def test_multi_view_evaluation_gives_one_row_per_video(few_squares):
    items = scan_folder(few_squares).items
    data = VideoClipDataset(items, SPEC, train=False, clips=2, crops=3)
    model = create_model("x3d_xs", num_classes=2)
    report = evaluate(model, data, class_names=["down", "up"], batch_size=4, views=True)
    assert report.num_samples == len(items) == 12
    assert np.asarray(report.confusion).sum() == 12


def test_undecodable_video_is_skipped_with_one_warning(tmp_path, few_squares, caplog):
    root = tmp_path / "data"
    for item in scan_folder(few_squares).items:
        target = root / item.path.parent.name / item.path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(item.path.read_bytes())
    (root / "up" / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(500))
    with caplog.at_level(logging.WARNING):
        kept = usable(scan_folder(root).items)
    assert len(kept) == 12 and all(i.path.name != "broken.mp4" for i in kept)
    warnings = [r.getMessage() for r in caplog.records if "broken.mp4" in r.getMessage()]
    assert len(warnings) == 1


# --- pretrained weights and frozen backbones --------------------------------------------------


def test_pretrained_upstream_checkpoint_loads_with_a_new_head(kinetics_x3d):
    path, reference = kinetics_x3d
    model = build_model(config("model=x3d_xs", f"pretrained={path}"), 2, ["down", "up"])
    assert model.head.fc.out_features == 2
    state = model.state_dict()
    backbone = [k for k in reference if not k.startswith("head.fc.")]
    assert all(torch.equal(state[k], reference[k]) for k in backbone)
    assert len(backbone) > 100


def test_pretrained_actscope_checkpoint_of_the_same_classes_keeps_its_head(tmp_path):
    from actscope.checkpoint import make_checkpoint, save_checkpoint

    torch.manual_seed(3)
    trained = create_model("x3d_xs", num_classes=2)
    path = tmp_path / "model.pt"
    save_checkpoint(
        make_checkpoint(
            trained,
            model_name="x3d_xs",
            model_kwargs={},
            class_names=["a", "b"],
            input_spec=None,
            normalization={},
            config={},
            metrics={},
            train_state=None,
        ),
        path,
    )
    same = build_model(config("model=x3d_xs", f"pretrained={path}"), 2, ["a", "b"])
    other = build_model(config("model=x3d_xs", f"pretrained={path}"), 2, ["c", "d"])
    assert torch.equal(same.head.fc.weight, trained.head.fc.weight)
    assert not torch.equal(other.head.fc.weight, trained.head.fc.weight)
    assert torch.equal(other.stem.conv_xy.weight, trained.stem.conv_xy.weight)


def test_freeze_backbone_needs_pretrained_weights():
    with pytest.raises(ConfigError, match="freeze_backbone"):
        config("model=x3d_xs", "freeze_backbone=true")


def test_frozen_backbone_fine_tuning_through_the_cli(tmp_path, few_squares, kinetics_x3d, capsys):
    """``actscope train --pretrained W freeze_backbone=true`` on a video folder: only the head
    changes (batch-norm statistics included); ``actscope eval`` and resume work on the run."""
    from actscope.cli import main

    weights, reference = kinetics_x3d
    out = tmp_path / "run"
    args = ["train", "--dataset", "video-folder", "--root", str(few_squares), "--model",
            "x3d_xs", "--pretrained", str(weights), "--out", str(out), "--epochs", "2",
            "freeze_backbone=true", "batch_size=4", "data.options.frames=4",
            "data.options.size=32", "data.options.resize=32", "data.options.stride=2",
            "threads=1", "progress=false", "device=cpu"]  # fmt: skip
    with pytest.raises(SystemExit) as done:
        main(args)
    assert done.value.code == 0, capsys.readouterr().err
    tuned = load_checkpoint(out / "model.pt")["state_dict"]
    for key, value in reference.items():
        if key.startswith("head.fc."):
            assert tuned[key].shape[0] == 2
        else:
            assert torch.equal(tuned[key], value), key
    assert not torch.equal(tuned["head.fc.bias"], torch.zeros(2))

    capsys.readouterr()
    with pytest.raises(SystemExit) as done:
        main(["eval", str(out / "model.pt"), "--dataset", "video-folder", "--root",
              str(few_squares), "--json"])  # fmt: skip
    assert done.value.code == 0
    report = __import__("json").loads(capsys.readouterr().out)
    assert report["num_samples"] == 2  # 1 of 6 videos per class; 3 clips each, one row each

    # Resuming the finished run rebuilds the model from the pretrained weights, then its state.
    resumed = fit(load_run_config(out), resume=True)
    assert resumed.train.epochs == 2


def load_run_config(out: Path) -> TrainConfig:
    from actscope.engine.config import load_config

    return load_config(out / "config.yaml")


# --- learning -------------------------------------------------------------------------------


def test_video_transformer_learns_motion_and_the_checkpoint_predicts(tmp_path, squares):
    """A tiny VideoMAE trained from scratch through ``fit`` on the folder of videos beats
    chance clearly on held-out videos; its model.pt loads with Recognizer.load.

    With these settings seeds 0 to 3 all went from chance to 100% between epochs 8 and 13
    (4 frames 3 apart: a tubelet of 2 frames sees the square move ~7 px).
    """
    run = fit(
        config(
            "model=videomae_base",
            "model_kwargs={patch_size: 8, hidden_size: 64, num_layers: 2, num_heads: 4, "
            "intermediate_size: 128}",
            "data.name=video-folder",
            f"data.root={squares}",
            "data.options={frames: 4, stride: 3, size: 32, resize: 32}",
            f"data.options.cache={tmp_path / 'cache'}",
            "epochs=20",
            "batch_size=16",
            "optimizer.lr=0.003",
            "schedule.warmup_epochs=2",
            f"out_dir={tmp_path / 'run'}",
        )
    )
    test = run.reports["test"]
    assert test.num_samples == 20
    assert test.top1 >= 0.85, test.top1
    assert (tmp_path / "run" / "report.json").is_file()
    assert list((tmp_path / "cache").glob("*.npy"))

    recognizer = Recognizer.load(run.model_path)
    assert isinstance(recognizer, ClipRecognizer) and recognizer.class_names == ["down", "up"]
    assert recognizer.input.frames == 4 and recognizer.input.size == 32
    fresh = write_squares(tmp_path / "fresh", 3, first_seed=5000)
    right = 0
    for label, name in enumerate(["down", "up"]):
        for video in sorted((fresh / name).iterdir()):
            _, _, probs, _ = recognizer.video_clips(video, num_clips=2)
            assert probs.shape == (2, 2) and np.allclose(probs.sum(1), 1, atol=1e-5)
            right += int(probs.mean(0).argmax() == label)
    assert right >= 5  # of 6 new videos


def test_video_dataset_refuses_a_skeleton_model(squares):
    from actscope.engine.config import DataConfig

    with pytest.raises(ConfigError, match="skeleton model"):
        training_data(DataConfig("video-folder", str(squares)), "tcn")
    assert get_dataset("kinetics-csv").training is not None  # a video dataset
    spec = ClipSpec.from_dict({"frames": 4, "size": 32, "mean": [0.5] * 3, "std": [0.2] * 3})
    data, names = evaluation_data("video-folder", str(squares), "", spec)
    assert names == ["down", "up"] and len(data) == 20 and data.views == 3
