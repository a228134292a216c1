"""In-domain accuracy of a skeleton training config over several seeds (issue 4).

For each seed, trains ``--config`` with the project's own training path
(:func:`actscope.engine.run.fit`: the catalog's dataset, the registered model, the engine)
on one CPU thread, and tests the final weights (never the epoch that scored best on the
test split). Prints each seed's top-1 and the mean with its spread, and writes
``docs/skeleton/<config name>.json`` (per-seed figures, mean, population standard
deviation, min/max, minutes, the command) and one confusion-matrix PNG per seed beside it.

Run (all seeds in one command, or one command per seed: results of the same config
accumulate in the JSON):
    .venv/bin/python benchmarks/bench_skeleton_accuracy.py \
        --config configs/skeleton/utd_tcn_ms.yaml --seeds 0 1 2 [KEY=VALUE ...]

``--jobs`` (default: one per seed) trains that many seeds side by side, each in its own
process on one thread. Runs are deterministic per seed, so side by side or one after the
other gives the same figures; on 2 cores, three seeds side by side take about half the
time of three in a row.
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
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

import torch

from actscope.engine.config import load_config
from actscope.engine.run import fit
from actscope.files import write_bytes, write_text


def run_seed(config_path: Path, seed: int, runs: Path, overrides: list[str]) -> dict:
    """Train and test one seed; the run folder is ``runs/seed<seed>``."""
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    out_dir = runs / f"seed{seed}"
    config = load_config(
        config_path, [*overrides, f"seed={seed}", f"out_dir={out_dir}", "threads=1"]
    )
    start = time.perf_counter()
    result = fit(config, overwrite=True)
    minutes = (time.perf_counter() - start) / 60
    report = result.reports["test"]
    return {
        "seed": seed,
        "top1": report.top1,
        "top5": report.top5,
        "mean_class_accuracy": report.mean_class_accuracy,
        "num_samples": report.num_samples,
        "epochs": result.train.epochs,
        "minutes": round(minutes, 2),
        "run_dir": str(out_dir),
    }


def previous_rows(path: Path, values: dict, seeds: list[int]) -> list[dict]:
    """Seeds measured by an earlier run of the same config (so one command per seed builds
    one result), less those about to be rerun; none if the config changed."""
    if not path.is_file():
        return []
    earlier = json.loads(path.read_text())
    if earlier.get("config_values") != values:
        return []
    return [r for r in earlier["seeds"] if r["seed"] not in seeds]


def summarise(rows: list[dict]) -> dict:
    """Mean, population standard deviation, min and max of top-1 over ``rows`` (fractions)."""
    top1 = [r["top1"] for r in rows]
    return {
        "top1_mean": statistics.fmean(top1),
        "top1_std": statistics.pstdev(top1),
        "top1_min": min(top1),
        "top1_max": max(top1),
        "mean_class_accuracy_mean": statistics.fmean(r["mean_class_accuracy"] for r in rows),
    }


def write_results(
    path: Path, rows: list[dict], config: Path, values: dict, command: str, jobs: int
) -> dict:
    """Write the per-seed rows and their summary to ``path`` (atomically); the summary."""
    summary = summarise(rows)
    result = {
        "config": str(config),
        "config_values": values,
        "command": command,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"1 thread per seed, {jobs} seed(s) side by side",
        "seeds": rows,
        **summary,
    }
    write_text(path, json.dumps(result, indent=2) + "\n")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True, help="a YAML training config")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--jobs", type=int, help="seeds trained side by side (default: all of them)"
    )
    parser.add_argument("--runs", type=Path, help="run folders (default runs/skeleton/NAME)")
    parser.add_argument("--results", type=Path, default=Path("docs/skeleton"))
    parser.add_argument(
        "--name",
        help="result and run name (default: the config's file name); give one "
        "with overrides, or the base config's results are replaced",
    )
    parser.add_argument("overrides", nargs="*", help="KEY=VALUE config overrides")
    args = parser.parse_args()

    name = args.name or args.config.stem
    runs = args.runs or Path("runs/skeleton") / name
    args.results.mkdir(parents=True, exist_ok=True)
    command = " ".join([".venv/bin/python", *sys.argv])

    values = load_config(args.config, args.overrides).to_dict()
    path = args.results / f"{name}.json"
    rows = previous_rows(path, values, args.seeds)
    jobs = max(1, min(args.jobs or len(args.seeds), len(args.seeds)))
    start = time.perf_counter()
    with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
        futures = [
            pool.submit(run_seed, args.config, seed, runs, args.overrides) for seed in args.seeds
        ]
        for future in as_completed(futures):
            row = future.result()
            seed = row["seed"]
            png = args.results / f"{name}_seed{seed}_confusion.png"
            write_bytes(png, (Path(row["run_dir"]) / "confusion.png").read_bytes())
            row["confusion_png"] = str(png)
            rows.append(row)
            rows.sort(key=lambda r: r["seed"])
            print(
                f"seed {seed}: top-1 {100 * row['top1']:.2f}%  top-5 {100 * row['top5']:.2f}%  "
                f"mean class {100 * row['mean_class_accuracy']:.2f}%  "
                f"({row['minutes']:.1f} min)",
                flush=True,
            )
            summary = write_results(path, rows, args.config, values, command, jobs)
    print(
        f"{name}: top-1 {100 * summary['top1_mean']:.2f} ± {100 * summary['top1_std']:.2f}% "
        f"(population std over seeds {[r['seed'] for r in rows]}; "
        f"min {100 * summary['top1_min']:.2f}, max {100 * summary['top1_max']:.2f}); "
        f"{sum(r['minutes'] for r in rows):.1f} min of training; this command took "
        f"{(time.perf_counter() - start) / 60:.1f} min with {jobs} seed(s) side by side"
    )


if __name__ == "__main__":
    main()
