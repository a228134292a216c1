"""Few examples of one's own actions: fine-tuning the default model against training from
scratch, with 5 and 10 clips per class (issue 14).

For each target dataset (Penn Action, official split; JHMDB, split 1), a variant of the
default model is trained on the everyday pool *without that dataset* (so its classes are new
to it: ``configs/everyday.yaml`` with ``data.options.sources`` lacking it), once. Then, per
number of clips per class and seed, the few-shot recipe (``configs/few_shot.yaml``) trains
on that many clips per class of the target's training split (drawn with the seed), once
fine-tuning the variant (``pretrained``) and once from scratch with the same features and
recipe, and tests on the target's whole test split. Each run is also scored on the target's
training clips it did not draw (``val_top1``): a split that is not the test split, on which
recipes (config ``overrides``, given after the options) can be compared. A run already
finished in ``--runs`` with the same config is reused, not retrained. Prints each row and
the mean and spread, and writes ``docs/everyday/few_shot.json``.

    .venv/bin/python benchmarks/bench_few_shot.py [--targets penn-action jhmdb] \\
        [--shots 5 10] [--seeds 0 1 2] [--starts pretrained scratch] [--jobs 2] \\
        [KEY=VALUE ...]
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

import torch

from actscope.checkpoint import load_checkpoint, load_trained_model
from actscope.datasets.base import dataset_root
from actscope.datasets.catalog import get_dataset, per_class, split
from actscope.datasets.everyday import load_taxonomy
from actscope.datasets.skeleton_torch import SkeletonTorchDataset
from actscope.engine.config import TrainConfig, load_config
from actscope.engine.evaluate import evaluate
from actscope.engine.run import fit
from actscope.files import write_text
from actscope.models.registry import input_from_dict
from bench_everyday import finished_run

ROOT = Path(__file__).resolve().parents[1]
PROTOCOL = {"penn-action": "official", "jhmdb": "split1"}


def pretrain(target: str, runs: Path, seed: int = 0) -> Path:
    """The everyday variant without ``target``; its ``model.pt`` (reused when present)."""
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    out_dir = runs / f"without-{target}"
    if (out_dir / "model.pt").is_file():
        return out_dir / "model.pt"
    sources = [s for s in load_taxonomy() if s != target]
    config = load_config(
        ROOT / "configs" / "everyday.yaml",
        [
            f"data.options.sources=[{', '.join(sources)}]",
            f"seed={seed}",
            f"out_dir={out_dir}",
            "threads=1",
        ],
    )
    return fit(config, overwrite=True).model_path


def model_overrides(checkpoint: Path) -> list[str]:
    """``model=`` and ``model_kwargs.*=`` of ``checkpoint``'s model, as config overrides."""
    model = load_checkpoint(checkpoint)["model"]
    keys = ("streams", "fusion", "channels", "dropout")  # the architecture, not the input
    kwargs = {k: v for k, v in model["kwargs"].items() if k in keys}
    return [
        f"model={model['name']}",
        *(f"model_kwargs.{k}={json.dumps(v)}" for k, v in kwargs.items()),
    ]


def few_shot(
    target: str,
    shots: int,
    seed: int,
    variant: Path,
    pretrained: bool,
    runs: Path,
    recipe: tuple[str, ...] = (),
) -> dict:
    """Train the few-shot recipe (with the ``recipe`` overrides) on ``shots`` clips per class
    of ``target`` from ``variant`` (``pretrained``) or from scratch with its architecture;
    the test top-1 and the top-1 on the training clips not drawn."""
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    start = "pretrained" if pretrained else "scratch"
    out_dir = runs / f"{target}-{shots}shot-{start}-s{seed}"
    overrides = [
        f"data.name={target}",
        f"data.protocol={PROTOCOL[target]}",
        f"data.options.shots={shots}",
        f"data.options.shots_seed={seed}",
        f"seed={seed}",
        f"out_dir={out_dir}",
        "threads=1",
        f"pretrained={variant if pretrained else ''}",
        *model_overrides(variant),
        *recipe,
    ]
    config = load_config(ROOT / "configs" / "few_shot.yaml", overrides)
    began = time.perf_counter()
    finished = finished_run(out_dir, config)
    if finished is None:
        report = fit(config, overwrite=True).reports["test"]
        finished = {"top1": {"test": report.top1}, "samples": {"test": report.num_samples}}
    return {
        "target": target,
        "shots": shots,
        "seed": seed,
        "start": start,
        "top1": finished["top1"]["test"],
        "test_clips": finished["samples"]["test"],
        "val_top1": undrawn_top1(config, out_dir / "model.pt"),
        "minutes": round((time.perf_counter() - began) / 60, 2),
    }


def undrawn_top1(config: TrainConfig, model_path: Path) -> float:
    """Top-1 of the trained model on the target's training clips that the run did not draw."""
    model, checkpoint = load_trained_model(model_path)
    entry = get_dataset(config.data.name)
    items = entry.load(dataset_root(entry, config.data.root))
    train_items, _ = split(items, config.data.protocol)
    options = config.data.options
    drawn = per_class(train_items, int(options["shots"]), int(options["shots_seed"]))
    chosen = {r.path for r in drawn.records}
    rest = train_items.subset(i for i, r in enumerate(train_items.records) if r.path not in chosen)
    features = input_from_dict(checkpoint["input"])
    report = evaluate(
        model,
        SkeletonTorchDataset(rest, features),
        class_names=checkpoint["class_names"],
        device="cpu",
    )
    return report.top1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", nargs="+", default=["penn-action", "jhmdb"])
    parser.add_argument("--shots", type=int, nargs="+", default=[5, 10])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--starts", nargs="+", default=["pretrained", "scratch"])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "few_shot")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "everyday" / "few_shot.json")
    parser.add_argument("overrides", nargs="*", help="config KEY=VALUE overrides of the recipe")
    args = parser.parse_args()
    began = time.perf_counter()
    recipe = tuple(args.overrides)
    context = get_context("spawn")
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=context) as pool:
        variants = {t: pool.submit(pretrain, t, args.runs) for t in args.targets}
        variants = {t: f.result() for t, f in variants.items()}
        futures = [
            pool.submit(few_shot, t, k, s, variants[t], start == "pretrained", args.runs, recipe)
            for t in args.targets
            for k in args.shots
            for s in args.seeds
            for start in args.starts
        ]
        rows = [f.result() for f in futures]
    summary = []
    for target in args.targets:
        for shots in args.shots:
            line = {"target": target, "shots": shots}
            words = []
            for start in args.starts:
                chosen = [
                    r
                    for r in rows
                    if (r["target"], r["shots"], r["start"]) == (target, shots, start)
                ]
                line[start] = {
                    key: {
                        "mean": statistics.fmean(r[key] for r in chosen),
                        "std": statistics.pstdev(r[key] for r in chosen),
                        "seeds": [round(r[key], 4) for r in chosen],
                    }
                    for key in ("top1", "val_top1")
                }
                top1, val = line[start]["top1"], line[start]["val_top1"]
                words.append(
                    f"{start} {100 * top1['mean']:.1f} ± {100 * top1['std']:.1f} "
                    f"(undrawn training clips {100 * val['mean']:.1f})"
                )
            if {"pretrained", "scratch"} <= set(args.starts):
                line["gain"] = line["pretrained"]["top1"]["mean"] - line["scratch"]["top1"]["mean"]
                words.append(f"gain {100 * line['gain']:+.1f} points")
            summary.append(line)
            print(f"{target:<12} {shots:>2} clips/class: " + ", ".join(words))
    result = {
        "command": " ".join(["benchmarks/bench_few_shot.py", *sys.argv[1:]]),
        "recipe": list(recipe),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"1 thread per run, {args.jobs} side by side",
        "minutes": round((time.perf_counter() - began) / 60, 1),
        "variants": {t: str(p) for t, p in variants.items()},
        "runs": rows,
        "summary": summary,
    }
    write_text(args.out, json.dumps(result, indent=2) + "\n")
    print(f"{args.out}: written ({result['minutes']} min)")


if __name__ == "__main__":
    main()
