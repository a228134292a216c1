"""The training engine on a tiny model and generated data: it learns, stops early, resumes
exactly after SIGKILL and Ctrl-C, refuses what it cannot resume, evaluates multi-view.

Run as a script (``python tests/test_engine.py OUT_DIR ...``) it trains the run that the
resume tests interrupt.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import Dataset

from actscope.engine import TrainConfig, apply_overrides, evaluate, load_checkpoint, train
from actscope.errors import ConfigError, DatasetError, ModelError

CLASSES = ["a", "b", "c", "d"]


class Blobs(Dataset):
    """Four Gaussian blobs in 8 dimensions; items get random noise from python, numpy and
    torch, so that exact resumption must reproduce all three generators."""

    def __init__(self, size: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        centers = np.random.default_rng(0).normal(size=(4, 8))
        self.labels = rng.integers(0, 4, size)
        self.points = (1.2 * centers[self.labels] + rng.normal(size=(size, 8))).astype(np.float32)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        noise = 0.1 * torch.randn(8) + float(np.random.normal(0, 0.05)) + random.gauss(0, 0.05)
        return torch.from_numpy(self.points[i]) + noise, int(self.labels[i])


class TinyNet(nn.Module):
    """MLP with batch norm and dropout (it draws from torch's generator). ``pause_at``: the
    training forward pass of that step writes ``marker`` and sleeps ``pause_s`` seconds."""

    def __init__(self, pause_at: int = 0, pause_s: float = 0.0, marker: str = "") -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(8, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 4)
        )
        self.pause_at, self.pause_s, self.marker = pause_at, pause_s, marker
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.calls += 1
            if self.calls == self.pause_at:
                Path(self.marker).write_text("paused")
                time.sleep(self.pause_s)
        return self.layers(x)


def make_model(**pause) -> TinyNet:
    torch.manual_seed(0)
    return TinyNet(**pause)


def config(out_dir: Path, *overrides: str) -> TrainConfig:
    """3 epochs of 12 steps, a checkpoint every 5 steps, every stateful feature switched on."""
    base = [
        f"out_dir={out_dir}",
        "epochs=3",
        "batch_size=16",
        "threads=1",
        "checkpoint_every=5",
        "progress=false",
        "optimizer.lr=0.01",
        "schedule.warmup_epochs=0.5",
        "label_smoothing=0.1",
        "grad_clip=1.0",
    ]
    return apply_overrides(TrainConfig(), [*base, *overrides])


def run(cfg: TrainConfig, model: nn.Module | None = None, **kwargs):
    return train(cfg, model or make_model(), Blobs(200, 1), Blobs(100, 2), CLASSES, **kwargs)


@pytest.fixture(autouse=True)
def keep_thread_count():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """An uninterrupted run (workers=0)."""
    threads = torch.get_num_threads()
    out = tmp_path_factory.mktemp("reference")
    run(config(out))
    torch.set_num_threads(threads)
    return out


def assert_same_run(ours: Path, reference: Path) -> None:
    """Same final weights, optimizer state and metrics (but wall times) as ``reference``."""
    a, b = load_checkpoint(ours / "last.pt"), load_checkpoint(reference / "last.pt")
    for key, value in b["state_dict"].items():
        assert torch.equal(a["state_dict"][key], value), key
    moments = zip(
        a["train_state"]["optimizer"]["state"].values(),
        b["train_state"]["optimizer"]["state"].values(),
        strict=True,
    )
    for ours_state, their_state in moments:
        assert torch.equal(ours_state["exp_avg_sq"], their_state["exp_avg_sq"])
    best_a, best_b = load_checkpoint(ours / "best.pt"), load_checkpoint(reference / "best.pt")
    assert all(torch.equal(best_a["state_dict"][k], v) for k, v in best_b["state_dict"].items())
    assert metrics(ours) == metrics(reference)


def metrics(out: Path) -> list[dict]:
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in line.items() if k != "time_s"} for line in lines]


def start_script(out: Path, log: Path, *args: str) -> subprocess.Popen:
    # Output goes to a file, not a pipe: data-loader workers orphaned by SIGKILL would hold
    # a pipe open until they notice that their parent is gone.
    # Its own session, so that a signal can go to its whole process group as a terminal's
    # Ctrl-C does.
    command = [sys.executable, __file__, str(out), *args]
    with log.open("w") as stderr:
        return subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True
        )


def wait_for(path: Path, process: subprocess.Popen, log: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            pytest.fail(f"training script ended early: {log.read_text()[-2000:]}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("training script did not reach the pause")
        time.sleep(0.05)


def test_tiny_model_learns(reference):
    lines = metrics(reference)
    assert [line["epoch"] for line in lines] == [1, 2, 3]
    assert lines[-1]["step"] == 36
    assert lines[-1]["train_loss"] < 0.7 * lines[0]["train_loss"]
    assert lines[-1]["val_top1"] > 0.8  # chance is 0.25
    assert {p.name for p in reference.iterdir()} == {
        "config.yaml",
        "metrics.jsonl",
        "last.pt",
        "best.pt",
    }
    last = torch.load(reference / "last.pt", weights_only=True)
    assert last["class_names"] == CLASSES and last["config"]["epochs"] == 3
    assert last["train_state"]["finished"] is True


def test_resume_after_sigkill_mid_epoch_matches_uninterrupted_run(tmp_path, reference):
    out, marker, log = tmp_path / "run", tmp_path / "paused", tmp_path / "log"
    # Step 18 is batch 6 of epoch 2; the last checkpoint before it is step 15 (batch 3).
    process = start_script(
        out, log, "--workers", "2", "--pause-at", "18", "--pause-s", "600", "--marker", str(marker)
    )
    wait_for(marker, process, log)
    process.kill()  # SIGKILL: no handler runs
    process.wait(timeout=30)

    state = torch.load(out / "last.pt", weights_only=True)["train_state"]
    assert (state["epoch"], state["position"], state["step"]) == (1, 3, 15)
    assert len(metrics(out)) == 1
    assert not list(out.glob(".*.tmp"))

    result = run(config(out), resume=True)
    assert result.steps == 36 and result.epochs == 3
    assert_same_run(out, reference)


def test_ctrl_c_mid_epoch_leaves_a_resumable_checkpoint(tmp_path, reference):
    out, marker, log = tmp_path / "run", tmp_path / "paused", tmp_path / "log"
    process = start_script(
        out, log, "--workers", "2", "--pause-at", "20", "--pause-s", "3", "--marker", str(marker)
    )
    wait_for(marker, process, log)
    os.killpg(process.pid, signal.SIGINT)  # to the script and its data-loader workers
    assert process.wait(timeout=60) == 130, log.read_text()
    assert "interrupted at epoch 2, batch 8 (step 20)" in log.read_text()
    assert log.read_text().count("interrupt: saving a checkpoint") == 1  # not once per worker

    state = torch.load(out / "last.pt", weights_only=True)["train_state"]
    assert (state["epoch"], state["position"], state["step"]) == (1, 8, 20)
    run(config(out), resume=True)
    assert_same_run(out, reference)


def test_workers_do_not_change_the_result(tmp_path, reference):
    run(config(tmp_path, "workers=2", "checkpoint_every=0"))
    assert_same_run(tmp_path, reference)


def test_early_stopping_stops(tmp_path):
    cfg = config(
        tmp_path,
        "epochs=10",
        "early_stopping.patience=2",
        "early_stopping.min_delta=1.0",  # nothing can beat the first epoch by 1.0
        "checkpoint_every=0",
    )
    result = run(cfg)
    assert result.stopped_early and result.epochs == 3 and result.best_epoch == 1
    assert len(metrics(tmp_path)) == 3
    assert load_checkpoint(tmp_path / "best.pt")["metrics"]["epoch"] == 1
    again = run(cfg, resume=True)  # a finished run has nothing left to do
    assert again.epochs == 3 and len(metrics(tmp_path)) == 3


def test_refusals(tmp_path, reference):
    out = tmp_path / "copy"
    shutil.copytree(reference, out)
    with pytest.raises(ConfigError, match="already holds a run"):
        run(config(out))
    with pytest.raises(ConfigError, match="nothing to resume"):
        run(config(tmp_path / "empty"), resume=True)
    with pytest.raises(ConfigError, match=r"optimizer.lr \(0.01 -> 0.02\)"):
        run(config(out, "optimizer.lr=0.02"), resume=True)
    with pytest.raises(ModelError, match="other classes"):
        train(config(out), make_model(), Blobs(200, 1), Blobs(9, 2), list("abcx"), resume=True)
    with pytest.raises(DatasetError, match="trained on 200 samples"):
        train(config(out), make_model(), Blobs(150, 1), Blobs(9, 2), CLASSES, resume=True)
    with pytest.raises(ConfigError, match="'val_top1' is not measured"):
        train(config(tmp_path / "new"), make_model(), Blobs(20, 1), None, CLASSES)
    assert metrics(out) == metrics(reference)  # nothing was touched


def test_nan_loss_is_a_clear_error(tmp_path):
    class Broken(Blobs):
        def __getitem__(self, i):
            return torch.full((8,), float("nan")), 0

    with pytest.raises(ConfigError, match="training loss became nan at step 1"):
        cfg = config(tmp_path, "early_stopping.metric=train_loss", "early_stopping.mode=min")
        train(cfg, make_model(), Broken(32, 0), None, CLASSES)


def test_bf16_autocast_on_cpu_trains(tmp_path):
    result = run(config(tmp_path, "amp=true", "epochs=1", "checkpoint_every=0"))
    assert np.isfinite(result.history[0]["train_loss"])
    assert result.history[0]["val_top1"] > 0.5


class Views(Dataset):
    """Each sample is (V, 4) views whose values are the logits (the model is the identity)."""

    items = (
        (torch.tensor([[10.0, 0, 0, 0], [0, 2, 0, 0], [0, 2, 0, 0]]), 1),
        (torch.tensor([[0.0, 0, 0, 3], [0, 0, 0, 1], [0, 0, 0, 2]]), 3),
    )

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def test_evaluate_averages_views():
    # Worked in test_metrics: averaged probabilities get sample 0 right, averaged logits don't.
    by_prob = evaluate(nn.Identity(), Views(), class_names=CLASSES, views=True, device="cpu")
    assert by_prob.top1 == 1.0 and by_prob.loss is None
    assert by_prob.scores[0, :2] == pytest.approx([0.3975, 0.4742], abs=1e-3)
    by_logit = evaluate(
        nn.Identity(), Views(), class_names=CLASSES, views=True, average="logit", device="cpu"
    )
    assert by_logit.top1 == 0.5 and by_logit.confusion[1].tolist() == [1, 0, 0, 0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--pause-at", type=int, default=0)
    parser.add_argument("--pause-s", type=float, default=0.0)
    parser.add_argument("--marker", default="")
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    model = make_model(pause_at=args.pause_at, pause_s=args.pause_s, marker=args.marker)
    try:
        run(config(args.out_dir, f"workers={args.workers}"), model)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()


class Skewed(Blobs):
    """Blobs close together, class ``a`` 85% of the items: a plain model learns to answer
    ``a`` whenever in doubt."""

    def __init__(self, size: int, seed: int, shares=(0.85, 0.05, 0.05, 0.05)) -> None:
        rng = np.random.default_rng(seed)
        centers = np.random.default_rng(0).normal(size=(4, 8))
        self.labels = rng.choice(4, size, p=shares)
        self.points = (0.5 * centers[self.labels] + rng.normal(size=(size, 8))).astype(np.float32)


def test_logit_adjustment_answers_rare_classes_more(tmp_path):
    balanced = Skewed(400, 2, shares=(0.25, 0.25, 0.25, 0.25))
    recall = {}
    for tau in (0.0, 1.0):
        cfg = config(tmp_path / str(tau), f"logit_adjustment={tau}", "epochs=6")
        result = train(cfg, make_model(), Skewed(400, 1), balanced, CLASSES)
        recall[tau] = result.report.mean_class_accuracy
        predicted = result.report.per_class
        recall[f"{tau} predicted a"] = predicted[0]["predicted"]
    assert recall[1.0] > recall[0.0] + 0.05, recall
    assert recall["1.0 predicted a"] < recall["0.0 predicted a"], recall


def test_logit_adjustment_needs_the_labels(tmp_path):
    class Unlabelled(Dataset):
        def __len__(self) -> int:
            return 8

        def __getitem__(self, i):
            return torch.zeros(8), 0

    with pytest.raises(ConfigError, match="logit_adjustment needs the training labels"):
        train(config(tmp_path, "logit_adjustment=1.0"), make_model(), Unlabelled(), None, CLASSES)
    with pytest.raises(ConfigError, match="logit_adjustment"):
        config(tmp_path, "logit_adjustment=-1").validate()


class Pooled(Blobs):
    """Blobs pooled from two sources: in class "a", 90% of the items come from "big", the
    rest from "small"; the other classes come from "big" alone. Items it is asked for are
    counted by source."""

    def __init__(self, size: int) -> None:
        super().__init__(size, 3)
        self.labels = np.arange(size) % 4
        sources = np.where((self.labels == 0) & (np.arange(size) % 40 < 4), "small", "big")
        record = type("Record", (), {})
        records = []
        for label, source in zip(self.labels, sources, strict=True):
            one = record()
            one.label, one.source = int(label), str(source)
            records.append(one)
        self.items = type("Items", (), {"records": records})()
        self.drawn: list[tuple[int, str]] = []

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        self.drawn.append((int(self.labels[i]), self.items.records[i].source))
        return super().__getitem__(i)


def test_balance_sources_draws_each_source_of_a_class_equally(tmp_path):
    data = Pooled(400)
    cfg = config(
        tmp_path,
        "balance_sources=true",
        "epochs=2",
        "early_stopping.metric=train_loss",
        "early_stopping.mode=min",
    )
    train(cfg, make_model(), data, None, CLASSES)
    drawn = data.drawn
    class_a = [source for label, source in drawn if label == 0]
    assert 0.4 < class_a.count("small") / len(class_a) < 0.6  # 10% of class a's items
    assert 0.2 < len(class_a) / len(drawn) < 0.3  # the class keeps its quarter of the epoch


@pytest.mark.parametrize("option", ["balance_sources=true", "source_label_penalty=5"])
def test_source_options_need_a_pooled_dataset(tmp_path, option):
    name = option.split("=")[0]
    with pytest.raises(ConfigError, match=f"{name} needs a pooled dataset"):
        cfg = config(
            tmp_path, option, "early_stopping.metric=train_loss", "early_stopping.mode=min"
        )
        train(cfg, make_model(), Blobs(64, 1), None, CLASSES)


class TwoLabelSpaces(Blobs):
    """Blobs pooled from two sources with label spaces of their own: "lab" labels a and b,
    "web" labels c and d."""

    def __init__(self, size: int) -> None:
        super().__init__(size, 2)
        record = type("Record", (), {})
        records = []
        for label in self.labels:
            one = record()
            one.label, one.source = int(label), "lab" if label < 2 else "web"
            records.append(one)
        self.items = type("Items", (), {"records": records})()


def test_source_label_penalty_keeps_a_source_from_ruling_out_the_others_classes(tmp_path):
    data = TwoLabelSpaces(400)
    web = torch.from_numpy(data.points[data.labels >= 2])
    web_labels = torch.from_numpy(data.labels[data.labels >= 2])
    lab_share, web_top1 = {}, {}
    for penalty in (0.0, 10.0):
        cfg = config(
            tmp_path / str(penalty),
            f"source_label_penalty={penalty}",
            "epochs=6",
            "early_stopping.metric=train_loss",
            "early_stopping.mode=min",
        )
        model = make_model()
        train(cfg, model, data, None, CLASSES)
        with torch.no_grad():
            probs = model.eval()(web).softmax(-1)
        lab_share[penalty] = float(probs[:, :2].sum(1).mean())
        web_top1[penalty] = float((probs[:, 2:].argmax(1) + 2 == web_labels).float().mean())
    # without the penalty, web clips teach that they are never a or b; with it, they do not
    assert lab_share[10.0] > lab_share[0.0] + 0.2, lab_share
    assert web_top1[10.0] > 0.9, web_top1  # each source still learns its own classes


def test_source_label_penalty_is_not_negative(tmp_path):
    with pytest.raises(ConfigError, match="source_label_penalty"):
        config(tmp_path, "source_label_penalty=-1").validate()


def test_backbone_lr_scale_moves_the_backbone_less_than_the_classifier(tmp_path):
    moved = {}
    for scale in (1.0, 0.01):
        model = make_model()
        before = {k: v.clone() for k, v in model.state_dict().items()}
        cfg = config(
            tmp_path / str(scale),
            f"backbone_lr_scale={scale}",
            "epochs=1",
            "early_stopping.metric=train_loss",
            "early_stopping.mode=min",
        )
        train(cfg, model, Blobs(200, 1), None, CLASSES)
        after = model.state_dict()
        moved[scale] = {
            part: float((after[key] - before[key]).abs().mean())
            for part, key in (("backbone", "layers.0.weight"), ("head", "layers.4.weight"))
        }
    assert moved[0.01]["backbone"] < 0.1 * moved[1.0]["backbone"], moved
    assert moved[0.01]["head"] > 0.3 * moved[1.0]["head"], moved
    with pytest.raises(ConfigError, match="backbone_lr_scale"):
        config(tmp_path, "backbone_lr_scale=0").validate()
