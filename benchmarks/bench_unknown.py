"""How well the default model says "unknown action" for actions it never saw (issue 14).

Trains ``--config`` without ``--leave-out`` classes (five by default, drawn once with a fixed
seed among the classes with at least 10 test clips, before any result was seen) and with a
held-out tenth of the training clips to calibrate the unknown-action threshold on, then
scores the test clips: the known classes' against the left-out ones'. Reports per seed the
AUROC of the confidence (known clips should be surer than unknown ones), the share of known
test clips named (not called unknown) at the shipped threshold, the accuracy on known test
clips counting an "unknown" answer as wrong, and the share of unknown clips called unknown;
then the mean and spread. Writes ``docs/everyday/unknown.json``.

    .venv/bin/python benchmarks/bench_unknown.py [--seeds 0 1 2] [--jobs 2] [KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import torch

from actscope.datasets.catalog import get_dataset, split
from actscope.engine.config import load_config
from actscope.engine.run import fit
from actscope.files import write_text
from actscope.inference import Recognizer
from bench_everyday import finished_run

ROOT = Path(__file__).resolve().parents[1]


def left_out_classes(count: int = 5, seed: int = 14) -> list[str]:
    """``count`` classes of the everyday vocabulary with at least 10 test clips under the
    default protocol, drawn with a fixed seed."""
    entry = get_dataset("everyday")
    pooled = entry.load(Path(os.environ.get("ACTSCOPE_DATA", ROOT.parent / "shared/data")))
    _, test = split(pooled, "")
    counts = np.bincount(test.labels, minlength=len(pooled.class_names))
    eligible = [name for name, n in zip(pooled.class_names, counts, strict=True) if n >= 10]
    chosen = np.random.default_rng(seed).choice(len(eligible), count, replace=False)
    return sorted(eligible[i] for i in chosen)


def auroc(known: np.ndarray, unknown: np.ndarray) -> float:
    """Probability that a known clip's confidence exceeds an unknown one's (ties count
    half): the area under the ROC curve of telling them apart."""
    scores = np.concatenate([known, unknown])
    ranks = np.empty(len(scores))
    order = np.argsort(scores, kind="stable")
    ranks[order] = np.arange(1, len(scores) + 1)
    for value in np.unique(scores):  # average ranks of ties
        tied = scores == value
        ranks[tied] = ranks[tied].mean()
    known_ranks = ranks[: len(known)].sum()
    return float((known_ranks - len(known) * (len(known) + 1) / 2) / (len(known) * len(unknown)))


def run_seed(config_path: Path, seed: int, classes: list[str], runs: Path, overrides: list[str]):
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    out_dir = runs / f"seed{seed}"
    listed = "[" + ", ".join(classes) + "]"
    config = load_config(
        config_path,
        [
            *overrides,
            f"data.options.leave_out_classes={listed}",
            "data.options.calibration=0.1",
            f"seed={seed}",
            f"out_dir={out_dir}",
            "threads=1",
        ],
    )
    start = time.perf_counter()
    reused = finished_run(out_dir, config) is not None  # a finished run of the same config
    if not reused:
        fit(config, overwrite=True)
    recognizer = Recognizer.load(out_dir / "model.pt")
    entry = get_dataset("everyday")
    root = Path(os.environ.get("ACTSCOPE_DATA", ROOT.parent / "shared/data"))
    _, unseen = split(entry.load(root), config.data.protocol)
    unseen = unseen.where(lambda r: unseen.class_names[r.label] in classes)
    _, known = split(
        entry.load(root, leave_out_classes=classes, sources=None), config.data.protocol
    )
    known_probs = recognizer.skeleton_scores([item.skeleton for item in known])
    unseen_probs = recognizer.skeleton_scores([item.skeleton for item in unseen])
    rule = recognizer.unknown
    named = ~rule.is_unknown(known_probs)
    right = known_probs.argmax(1) == known.labels
    return {
        "seed": seed,
        "minutes": None if reused else round((time.perf_counter() - start) / 60, 2),
        "threshold": rule.threshold,
        "known_clips": len(known),
        "unknown_clips": len(unseen),
        "auroc": auroc(rule.confidence(known_probs), rule.confidence(unseen_probs)),
        "known_named": float(named.mean()),
        "known_accuracy": float(right.mean()),
        "known_accuracy_with_unknown": float((right & named).mean()),
        "unknown_called_unknown": float(rule.is_unknown(unseen_probs).mean()),
        "run_dir": str(out_dir),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "everyday.yaml")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--leave-out", nargs="+", help="class names [five drawn once]")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "unknown")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "everyday" / "unknown.json")
    parser.add_argument("overrides", nargs="*", help="config KEY=VALUE overrides")
    args = parser.parse_args()
    classes = args.leave_out or left_out_classes()
    print(f"left out: {', '.join(classes)}")
    start = time.perf_counter()
    context = get_context("spawn")
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=context) as pool:
        futures = [
            pool.submit(run_seed, args.config, s, classes, args.runs, args.overrides)
            for s in args.seeds
        ]
        rows = [f.result() for f in futures]
    keys = ("auroc", "known_named", "known_accuracy", "known_accuracy_with_unknown")
    keys += ("unknown_called_unknown", "threshold")
    for row in rows:
        print(f"seed {row['seed']}: " + ", ".join(f"{k} {row[k]:.4f}" for k in keys))
    summary = {
        k: {
            "mean": statistics.fmean(r[k] for r in rows),
            "std": statistics.pstdev(r[k] for r in rows),
        }
        for k in keys
    }
    for k, v in summary.items():
        print(f"{k:<28} {v['mean']:.4f} ± {v['std']:.4f}")
    write_text(
        args.out,
        json.dumps(
            {
                "config": str(args.config),
                "left_out": classes,
                "command": " ".join(["benchmarks/bench_unknown.py", *sys.argv[1:]]),
                "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch "
                f"{torch.__version__}, 1 thread per seed, {args.jobs} side by side",
                "minutes": round((time.perf_counter() - start) / 60, 1),
                "seeds": rows,
                "summary": summary,
            },
            indent=2,
        )
        + "\n",
    )
    print(f"{args.out}: written")


if __name__ == "__main__":
    main()
