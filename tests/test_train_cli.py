"""``actscope train`` / ``actscope eval`` on the real skeleton datasets, run as a user runs
them, and the dataset catalog's refusals."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import pytest
import torch

from actscope.datasets.catalog import dataset_names, evaluation_data, split
from actscope.errors import ConfigError
from actscope.pose.features import BodyFeatures
from actscope.video import ClipSpec
from realdata import SHARED_DATA, shared_path

TINY = (
    "model_kwargs.channels=[32,32,64,64]",
    "data.options.frames=32",
    "batch_size=16",
    "optimizer.lr=0.01",
    "data.options.augment=none",
    "threads=1",
    "progress=false",
    "device=cpu",
)

VIDEO_SPEC = ClipSpec(frames=4, stride=1, size=32, resize=32, mean=(0.5,) * 3, std=(0.2,) * 3)


def run_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "ACTSCOPE_DATA": str(SHARED_DATA)}
    return subprocess.run(
        [sys.executable, "-m", "actscope", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


@pytest.fixture(scope="module")
def utd_run(tmp_path_factory):
    """A tiny tcn trained for 6 epochs on UTD-MHAD subjects 1 and 3, tested on 2 and 4...8."""
    shared_path("utd_mhad")
    out = tmp_path_factory.mktemp("train") / "run"
    result = run_cli(
        "train",
        "--dataset", "utd-mhad",
        "--protocol", "subjects=1,3",
        "--model", "tcn",
        "--epochs", "6",
        "--out", str(out),
        "--recipe", "view-robust",  # body15 2D, as the checks below expect
        *TINY,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return out, result


def test_train_learns_a_real_subset(utd_run):
    out, result = utd_run
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(lines) == 6
    assert lines[-1]["train_loss"] < 0.6 * lines[0]["train_loss"]
    report = json.loads((out / "report.json").read_text())
    assert report["num_classes"] == 27 and report["num_samples"] > 600  # six test subjects
    assert report["top1"] > 0.35  # chance is 1/27 = 0.037
    assert "top-1" in result.stdout and "model.pt" in result.stdout
    for name in ("model.pt", "last.pt", "config.yaml", "confusion.png", "summary.json"):
        assert (out / name).exists(), name


def test_model_checkpoint_loads_weights_only_and_predicts_like_the_report(utd_run):
    out, _ = utd_run
    checkpoint = torch.load(out / "model.pt", weights_only=True)
    assert "train_state" not in checkpoint
    spec = checkpoint["input"]
    assert (spec["kind"], spec["layout"], spec["dims"], spec["frames"]) == (
        "skeleton",
        "body15",
        2,
        32,
    )
    assert 1.0 < spec["window_seconds"] < 5.0  # UTD-MHAD actions last 2-4 s
    # the whole typed spec is recorded, and reads back as the same spec
    assert set(spec) == {"kind", *(f.name for f in dataclasses.fields(BodyFeatures))}
    assert BodyFeatures.from_dict(spec).to_dict() == spec
    result = run_cli(
        "eval", str(out / "model.pt"), "--dataset", "utd-mhad", "--protocol", "subjects=1,3",
        "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    again = json.loads(result.stdout)
    report = json.loads((out / "report.json").read_text())
    assert again["top1"] == pytest.approx(report["top1"])
    assert again["confusion"] == report["confusion"]


def test_eval_refuses_a_checkpoint_trained_on_other_classes(utd_run):
    shared_path("msr_action3d")
    out, _ = utd_run
    result = run_cli("eval", str(out / "model.pt"), "--dataset", "msr-action3d")
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]  # after the loader's data warnings
    assert last.startswith("error:") and "class" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--dataset", "kinetics-9000", "--model", "tcn"), "unknown dataset"),
        (("--dataset", "utd-mhad", "--model", "tcn", "--protocol", "by-mood"), "protocol"),
        (("--dataset", "utd-mhad", "--model", "tcn", "data.options.colour=1"), "data option"),
        (("--dataset", "utd-mhad", "--model", "x3d_s"), "RGB model"),
        (("--dataset", "utd-mhad", "--recipe", "none"), "no model"),
    ],
)
def test_bad_requests_are_one_line(tmp_path, args, words):
    shared_path("utd_mhad")
    result = run_cli("train", *args, "--out", str(tmp_path / "run"), "--epochs", "1")
    assert result.returncode == 2, result.stderr
    assert words in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run" / "model.pt").exists()


def test_list_datasets_names_every_entry():
    result = run_cli("train", "--list-datasets")
    assert result.returncode == 0
    assert [line.split()[0] for line in result.stdout.splitlines()] == dataset_names()


def test_protocols_split_by_subject():
    root = shared_path("utd_mhad")
    from actscope.datasets import load_utd_mhad

    items = load_utd_mhad(root)
    train, test = split(items, "cross-subject")
    assert set(train.subjects) == {1, 3, 5, 7} and set(test.subjects) == {2, 4, 6, 8}
    train, test = split(items, "subjects=2")
    assert set(train.subjects) == {2} and len(test) == len(items) - len(train)
    with pytest.raises(ConfigError, match="subjects=1,3,5"):
        split(items, "subjects=one")


def test_evaluation_data_reads_with_the_checkpoints_features():
    shared_path("utd_mhad_openpose")
    data, classes = evaluation_data(
        "utd-mhad-openpose",
        str(SHARED_DATA / "utd_mhad_openpose"),
        "cross-subject",
        BodyFeatures(dims=2, frames=20, persons=1),
    )
    x, label = data[0]
    assert x.shape == (3, 20, 15, 1) and len(classes) == 27 and 0 <= label < 27
    with pytest.raises(ConfigError, match="video clips"):
        evaluation_data("utd-mhad", "", "cross-subject", VIDEO_SPEC)
