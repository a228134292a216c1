"""Checkpoint files: atomic writes, weights_only loading, clear refusals."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from actscope import checkpoint as ckpt
from actscope.engine.seeding import capture_rng_state, restore_rng_state
from actscope.errors import ModelError
from actscope.pose.features import BodyFeatures

CLASSES = ["wave", "clap", "squat"]


def tiny(num_classes: int = 3, hidden: int = 8) -> nn.Module:
    return nn.Sequential(
        nn.Linear(4, hidden), nn.BatchNorm1d(hidden), nn.Linear(hidden, num_classes)
    )


def saved(tmp_path: Path, model: nn.Module | None = None, **overrides) -> Path:
    fields = {
        "model_name": "tiny",
        "model_kwargs": {"hidden": 8, "sizes": (1, 2)},
        "class_names": CLASSES,
        "input_spec": BodyFeatures(dims=2, frames=64, layout="coco17", normalize="torso"),
        "normalization": {"center": "mid_hip", "scale": "torso", "root": Path("/x")},
        "config": {"epochs": 3, "optimizer": {"betas": (0.9, 0.99)}},
    }
    fields.update(overrides)
    path = tmp_path / "model.pt"
    ckpt.save_checkpoint(ckpt.make_checkpoint(model or tiny(), **fields), path)
    return path


def one_line_model_error(function, *args, **kwargs) -> str:
    with pytest.raises(ModelError) as info:
        function(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_round_trip_with_weights_only(tmp_path):
    model = tiny()
    path = saved(tmp_path, model)
    raw = torch.load(path, weights_only=True)  # what any reader can do, no actscope needed
    assert raw["class_names"] == CLASSES
    assert raw["model"] == {"name": "tiny", "kwargs": {"hidden": 8, "sizes": [1, 2]}}
    assert raw["input"]["layout"] == "coco17" and raw["normalization"]["root"] == "/x"
    assert raw["config"]["optimizer"]["betas"] == [0.9, 0.99]

    other = tiny()
    ckpt.load_model_state(other, ckpt.load_checkpoint(path)["state_dict"])
    for key, value in model.state_dict().items():
        assert torch.equal(other.state_dict()[key], value)
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]  # no temp file left


def test_half_precision_halves_the_file_and_loads_back_as_float32(tmp_path):
    model = tiny(hidden=2048).eval()
    full = ckpt.make_checkpoint(
        model, model_name="tiny", model_kwargs={}, class_names=CLASSES, train_state={"epoch": 3}
    )
    full_path = ckpt.save_checkpoint(full, tmp_path / "full.pt")
    half_path = ckpt.save_checkpoint(ckpt.half_precision(full), tmp_path / "half.pt")
    assert half_path.stat().st_size < 0.6 * full_path.stat().st_size

    half = ckpt.load_checkpoint(half_path)
    assert "train_state" not in half and half["class_names"] == CLASSES
    counter = "1.num_batches_tracked"
    assert half["state_dict"][counter].dtype == full["state_dict"][counter].dtype  # not a float
    loaded = tiny(hidden=2048).eval()
    ckpt.load_model_state(loaded, half["state_dict"])
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    x = torch.randn(8, 4)
    assert torch.allclose(loaded(x), model(x), atol=1e-2)
    assert not torch.equal(loaded(x), model(x))  # the weights were rounded: float16 was stored


def test_misshaped_checkpoint_names_the_keys(tmp_path):
    path = saved(tmp_path, tiny(hidden=8))
    state = ckpt.load_checkpoint(path)["state_dict"]
    message = one_line_model_error(ckpt.load_model_state, tiny(hidden=16), state, source="m.pt")
    assert message.startswith("m.pt does not fit the model")
    assert "0.weight (checkpoint 8x4, model 16x4)" in message
    assert "2.bias (checkpoint 3, model 3)" not in message  # right shape, not listed

    deeper = nn.Sequential(tiny(), nn.Linear(3, 3))
    message = one_line_model_error(ckpt.load_model_state, deeper, state)
    assert "missing keys: 0.0.weight" in message and "unexpected keys: 0.weight" in message


def test_other_class_names_are_refused(tmp_path):
    checkpoint = ckpt.load_checkpoint(saved(tmp_path))
    ckpt.check_compatible(checkpoint, class_names=CLASSES)  # the same: accepted
    renamed = one_line_model_error(
        ckpt.check_compatible, checkpoint, class_names=["wave", "clap", "jump"]
    )
    assert "other classes" in renamed and "2: 'squat' vs 'jump'" in renamed
    fewer = one_line_model_error(ckpt.check_compatible, checkpoint, class_names=["wave", "clap"])
    assert "3 classes (wave, clap, squat), not the 2 expected" in fewer
    reordered = one_line_model_error(
        ckpt.check_compatible, checkpoint, class_names=["clap", "wave", "squat"]
    )
    assert "another order" in reordered


def test_other_layout_is_refused(tmp_path):
    checkpoint = ckpt.load_checkpoint(saved(tmp_path))
    ckpt.check_compatible(checkpoint, input_spec={"layout": "coco17", "frames": 64, "dims": 2})
    message = one_line_model_error(
        ckpt.check_compatible, checkpoint, input_spec={"layout": "kinect_v1"}, source="m.pt"
    )
    assert message.startswith("m.pt was trained for input layout='coco17', not 'kinect_v1'")
    missing = one_line_model_error(ckpt.check_compatible, checkpoint, input_spec={"size": 224})
    assert "does not record input 'size'" in missing


def test_truncated_and_foreign_files_give_one_line(tmp_path):
    path = saved(tmp_path)
    data = path.read_bytes()
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(data[: len(data) // 2])
    message = one_line_model_error(ckpt.load_checkpoint, truncated)
    assert message.startswith(f"{truncated} is not a readable checkpoint: truncated, corrupt")

    text = tmp_path / "notes.pt"
    text.write_text("not a checkpoint at all\n")
    assert "is not a readable checkpoint" in one_line_model_error(ckpt.load_checkpoint, text)

    empty = tmp_path / "empty.pt"
    empty.touch()
    assert "is not a readable checkpoint" in one_line_model_error(ckpt.load_checkpoint, empty)

    plain_tensor = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3), plain_tensor)
    message = one_line_model_error(ckpt.load_checkpoint, plain_tensor)
    assert "is a torch file but not an actscope checkpoint" in message

    pickled_module = tmp_path / "module.pt"
    torch.save(tiny(), pickled_module)  # a whole pickled model: refused by weights_only
    message = one_line_model_error(ckpt.load_checkpoint, pickled_module)
    assert "holds pickled Python code or objects" in message

    missing = one_line_model_error(ckpt.load_checkpoint, tmp_path / "nope.pt")
    assert "does not exist" in missing


def test_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    path = saved(tmp_path)
    before = path.read_bytes()

    def half_then_fail(obj, handle):
        handle.write(b"PK\x03\x04 partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        ckpt.save_checkpoint({"format": ckpt.FORMAT}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]


def test_only_plain_values_are_stored():
    assert ckpt.plain({"a": (1, Path("/p")), 2: np.float32(0.5)}) == {"a": [1, "/p"], "2": 0.5}
    with pytest.raises(TypeError, match="cannot store object"):
        ckpt.plain({"x": object()})


def test_rng_states_survive_a_weights_only_round_trip(tmp_path):
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    np.random.normal()  # leaves a cached gaussian in numpy's state
    state = capture_rng_state()
    expected = (random.random(), np.random.normal(size=3).tolist(), torch.rand(3).tolist())
    torch.save({"rng": state}, tmp_path / "rng.pt")
    restore_rng_state(torch.load(tmp_path / "rng.pt", weights_only=True)["rng"])
    again = (random.random(), np.random.normal(size=3).tolist(), torch.rand(3).tolist())
    assert again == expected


def test_load_trained_model_builds_from_the_registry(tmp_path, monkeypatch):
    calls = []

    def create_model(name, **kwargs):
        calls.append((name, kwargs))
        return tiny(kwargs["num_classes"], kwargs["hidden"])

    monkeypatch.setattr("actscope.models.create_model", create_model)
    model = tiny()
    path = saved(tmp_path, model, model_kwargs={"hidden": 8})
    loaded, checkpoint = ckpt.load_trained_model(path, class_names=CLASSES)
    assert calls == [("tiny", {"hidden": 8, "num_classes": 3})]
    assert not loaded.training and checkpoint["input"]["layout"] == "coco17"
    x = torch.randn(5, 4)
    assert torch.equal(loaded(x), model.eval()(x))
    with pytest.raises(ModelError, match="other classes"):
        ckpt.load_trained_model(path, class_names=["a", "b", "c"])
