"""Few examples of one's own actions: fine-tuning the default model against training from
scratch, with 5 and 10 clips per class (issue 14).

For each target dataset (Penn Action, official split; JHMDB, split 1), a variant of the
default model is trained on the everyday pool *without that dataset* (so its classes are new
to it: ``configs/everyday.yaml`` with ``data.options.sources`` lacking it), once. Then, per
number of clips per class and seed, the few-shot recipe (``configs/few_shot.yaml``) trains on
that many clips per class of the target's training split (drawn with the seed), once
fine-tuning the variant (``pretrained``) and once from scratch with the same features and
recipe, and tests on the target's whole test split. Prints each row and the mean and
spread, and writes ``docs/everyday/few_shot.json``.

    .venv/bin/python benchmarks/bench_few_shot.py [--targets penn-action jhmdb] \\
        [--shots 5 10] [--seeds 0 1 2] [--jobs 2]
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

from actscope.checkpoint import load_checkpoint
from actscope.datasets.everyday import load_taxonomy
from actscope.engine.config import load_config
from actscope.engine.run import fit
from actscope.files import write_text

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
    target: str, shots: int, seed: int, variant: Path, pretrained: bool, runs: Path
) -> dict:
    """Train the few-shot recipe on ``shots`` clips per class of ``target`` from ``variant``
    (``pretrained``) or from scratch with its architecture; the test top-1."""
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
    ]
    config = load_config(ROOT / "configs" / "few_shot.yaml", overrides)
    began = time.perf_counter()
    report = fit(config, overwrite=True).reports["test"]
    return {
        "target": target,
        "shots": shots,
        "seed": seed,
        "start": start,
        "top1": report.top1,
        "test_clips": report.num_samples,
        "minutes": round((time.perf_counter() - began) / 60, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", nargs="+", default=["penn-action", "jhmdb"])
    parser.add_argument("--shots", type=int, nargs="+", default=[5, 10])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "few_shot")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "everyday" / "few_shot.json")
    args = parser.parse_args()
    began = time.perf_counter()
    context = get_context("spawn")
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=context) as pool:
        variants = {t: pool.submit(pretrain, t, args.runs) for t in args.targets}
        variants = {t: f.result() for t, f in variants.items()}
        futures = [
            pool.submit(few_shot, t, k, s, variants[t], pretrained, args.runs)
            for t in args.targets
            for k in args.shots
            for s in args.seeds
            for pretrained in (True, False)
        ]
        rows = [f.result() for f in futures]
    summary = []
    for target in args.targets:
        for shots in args.shots:
            line = {"target": target, "shots": shots}
            for start in ("pretrained", "scratch"):
                values = [
                    r["top1"]
                    for r in rows
                    if (r["target"], r["shots"], r["start"]) == (target, shots, start)
                ]
                line[start] = {
                    "mean": statistics.fmean(values),
                    "std": statistics.pstdev(values),
                    "seeds": [round(v, 4) for v in values],
                }
            line["gain"] = line["pretrained"]["mean"] - line["scratch"]["mean"]
            summary.append(line)
            print(
                f"{target:<12} {shots:>2} clips/class: pretrained "
                f"{100 * line['pretrained']['mean']:.1f} ± {100 * line['pretrained']['std']:.1f}, "
                f"scratch {100 * line['scratch']['mean']:.1f} ± "
                f"{100 * line['scratch']['std']:.1f}, gain {100 * line['gain']:+.1f} points"
            )
    result = {
        "command": " ".join(["benchmarks/bench_few_shot.py", *sys.argv[1:]]),
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
