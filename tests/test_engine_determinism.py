"""Determinism of the engine beyond the tiny MLP of test_engine: a small 3D CNN over clips
(the RGB family) resumed after a crash, with torch's default thread count.

Run as a script (``python tests/test_engine_determinism.py``) it prints the figures quoted in
docs/engine.md: resume error per model and thread count, the difference that the thread
count alone makes, bf16 autocast against fp32 on this CPU, the cost of per-sample seeding.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from actscope.engine import TrainConfig, apply_overrides, load_checkpoint, train


class Clips(Dataset):
    """Clips ``(3, 8, 16, 16)`` of a moving bright square; the class is its direction
    (4 classes), with random brightness jitter from torch's generator."""

    def __init__(self, size: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.labels = rng.integers(0, 4, size)
        self.starts = rng.integers(4, 8, (size, 2))

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        dy, dx = [(0, 1), (0, -1), (1, 0), (-1, 0)][self.labels[i]]
        clip = torch.zeros(3, 8, 16, 16)
        y, x = self.starts[i]
        for t in range(8):
            clip[
                :, t, y + dy * t // 2 : y + dy * t // 2 + 3, x + dx * t // 2 : x + dx * t // 2 + 3
            ] = 1
        return clip * (1 + 0.2 * torch.rand(1)) + 0.05 * torch.randn_like(clip), int(self.labels[i])


class Crash(nn.Module):
    """Wraps a model; its training forward pass number ``at`` raises, as a crash would."""

    def __init__(self, model: nn.Module, at: int) -> None:
        super().__init__()
        self.model, self.at, self.calls = model, at, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.calls += 1
            if self.calls == self.at:
                raise RuntimeError("simulated crash")
        return self.model(x)

    def state_dict(self, *args, **kwargs):  # save the inner model's keys, not "model.*"
        return self.model.state_dict(*args, **kwargs)

    def load_state_dict(self, *args, **kwargs):
        return self.model.load_state_dict(*args, **kwargs)


def conv3d(num_classes: int = 4) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv3d(3, 8, 3, padding=1),
        nn.BatchNorm3d(8),
        nn.ReLU(),
        nn.MaxPool3d(2),
        nn.Conv3d(8, 16, 3, padding=1),
        nn.BatchNorm3d(16),
        nn.ReLU(),
        nn.AdaptiveAvgPool3d(1),
        nn.Flatten(),
        nn.Dropout(0.2),
        nn.Linear(16, num_classes),
    )


def run_pair(
    build: Callable[[], nn.Module],
    train_set: Dataset,
    val_set: Dataset,
    classes: list[str],
    root: Path,
    overrides: list[str],
    crash_at: int,
) -> tuple[dict, dict]:
    """An uninterrupted run and one that crashes at step ``crash_at`` and is resumed; their
    final checkpoints."""
    base = ["progress=false", "checkpoint_every=3", "optimizer.lr=0.003", *overrides]
    whole = apply_overrides(TrainConfig(), [f"out_dir={root / 'whole'}", *base])
    train(whole, build(), train_set, val_set, classes)
    broken = apply_overrides(TrainConfig(), [f"out_dir={root / 'resumed'}", *base])
    try:
        train(broken, Crash(build(), crash_at), train_set, val_set, classes)
    except RuntimeError as exc:
        assert "simulated crash" in str(exc)
    train(broken, build(), train_set, val_set, classes, resume=True)
    return load_checkpoint(root / "whole" / "last.pt"), load_checkpoint(
        root / "resumed" / "last.pt"
    )


def max_difference(a: dict, b: dict) -> float:
    return max(
        (a["state_dict"][k].double() - v.double()).abs().max().item()
        for k, v in b["state_dict"].items()
        if v.is_floating_point()
    )


def without_times(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in line.items() if k != "time_s"} for line in history]


def test_conv3d_resume_is_bit_identical_with_default_threads(tmp_path):
    torch.set_num_threads(2)  # the CI machine's cores; the fixture below restores it
    # 4 steps per epoch; checkpoints at steps 3, 4 (epoch end) and 6; the crash is at step 7.
    whole, resumed = run_pair(
        conv3d, Clips(32, 1), Clips(8, 2), list("abcd"), tmp_path, ["epochs=2", "batch_size=8"], 7
    )
    assert max_difference(whole, resumed) == 0.0
    assert without_times(whole["train_state"]["history"]) == without_times(
        resumed["train_state"]["history"]
    )
    assert whole["train_state"]["history"][-1]["val_top1"] >= 0.0


def setup_function() -> None:
    global _threads
    _threads = torch.get_num_threads()


def teardown_function() -> None:
    torch.set_num_threads(_threads)


_threads = 1


def main(sections: list[str]) -> None:
    """Print the figures of ``sections`` (resume, amp, seeding; all when empty)."""
    from actscope.models import create_model

    sections = sections or ["resume", "amp", "seeding"]

    def tcn() -> nn.Module:
        torch.manual_seed(0)
        return create_model("tcn", num_classes=27)

    class Skeletons(Dataset):
        def __init__(self, size: int, seed: int) -> None:
            g = torch.Generator().manual_seed(seed)
            self.x = torch.randn(size, 3, 64, 15, 1, generator=g)
            self.y = torch.randint(0, 27, (size,), generator=g)

        def __len__(self) -> int:
            return len(self.y)

        def __getitem__(self, i):
            return self.x[i] + 0.01 * torch.randn(3, 64, 15, 1), int(self.y[i])

    cases = {
        "conv3d": (conv3d, Clips(64, 1), Clips(16, 2), list("abcd"), ["batch_size=8"], 11),
        "tcn": (
            tcn,
            Skeletons(128, 1),
            Skeletons(32, 2),
            [str(i) for i in range(27)],
            ["batch_size=16"],
            11,
        ),
    }
    if "resume" in sections:
        print_resume_figures(cases)
    if "amp" in sections:
        print_amp_figures(cases)
    if "seeding" in sections:
        print_seeding_figures()


def print_resume_figures(cases: dict) -> None:
    print("resume after a crash (2 epochs, crash at step 11, last checkpoint at step 9)")
    for name, (build, train_set, val_set, classes, extra, crash) in cases.items():
        results = {}
        for threads in (1, 2):
            with tempfile.TemporaryDirectory() as tmp:
                whole, resumed = run_pair(
                    build,
                    train_set,
                    val_set,
                    classes,
                    Path(tmp),
                    [*extra, "epochs=2", f"threads={threads}"],
                    crash,
                )
            same_metrics = without_times(whole["train_state"]["history"]) == without_times(
                resumed["train_state"]["history"]
            )
            results[threads] = whole
            print(
                f"  {name:7s} threads={threads}: max |weight difference| "
                f"{max_difference(whole, resumed):.3g}, same metrics: {same_metrics}"
            )
        print(
            f"  {name:7s} threads=1 vs threads=2, uninterrupted: max |weight difference| "
            f"{max_difference(results[1], results[2]):.3g}"
        )


def print_amp_figures(cases: dict) -> None:
    print("training step time, fp32 vs bf16 autocast (median of 8 steps after 2 warm-up)")
    torch.set_num_threads(2)
    for name, (build, train_set, _, _, _, _) in cases.items():
        model = build()
        batch = torch.stack([train_set[i][0] for i in range(32)])
        labels = torch.tensor([train_set[i][1] for i in range(32)])
        optimizer = torch.optim.AdamW(model.parameters())
        for amp in (False, True):
            times = []
            for step in range(10):
                start = time.perf_counter()
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
                    loss = nn.functional.cross_entropy(model(batch).float(), labels)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                if step >= 2:
                    times.append(time.perf_counter() - start)
            label = "bf16" if amp else "fp32"
            print(f"  {name:7s} batch 32 {label}: {1000 * np.median(times):.1f} ms/step")


def print_seeding_figures() -> None:
    from actscope.engine.data import SeededDataset

    items = list(range(64))  # a dataset whose items cost nothing: what remains is overhead
    seeded, rounds = SeededDataset(items), 50
    batches = [[(i, r * 32 + i) for i in range(32)] for r in range(rounds)]
    best = {"seeded": float("inf"), "plain": float("inf")}
    for _ in range(7):  # alternate and keep the best of each: the machine is shared
        for name, read in (
            ("seeded", seeded.__getitems__),
            ("plain", lambda batch: [items[i] for i, _ in batch]),
        ):
            start = time.perf_counter()
            for batch in batches:
                read(batch)
            best[name] = min(best[name], (time.perf_counter() - start) / (32 * rounds))
    print(
        "per-sample seeding, batches of 32 in the main process: "
        f"{1e6 * (best['seeded'] - best['plain']):.1f} µs per sample"
    )


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
