"""The everyday default model on every source's own test split (issue 14), over seeds and
JHMDB's three splits.

For each protocol (``split1``-``split3``: JHMDB's official splits; every other source keeps
its standard split) and seed, trains ``--config`` through the project's own path
(:func:`actscope.engine.run.fit`) on one CPU thread and tests the final weights on each
source's test items (NW-UCLA's camera 3, Penn Action's official test half, UTD-MHAD's test
subjects as 2D projections of their Kinect skeletons and as OpenPose keypoints of their
videos, ...). Prints, per source, the mean and population standard deviation of top-1 over
the runs, and writes ``docs/everyday/<config name>.json``.

    .venv/bin/python benchmarks/bench_everyday.py --config configs/everyday.yaml \\
        --seeds 0 1 2 --protocols split1 split2 split3 [--jobs 2] [KEY=VALUE ...]

JHMDB's figure is the mean over its three splits (each split's runs averaged over the seeds
first); every other source's is the mean over all runs.
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

from actscope.engine.config import TrainConfig, load_config
from actscope.engine.run import fit
from actscope.files import write_text

ROOT = Path(__file__).resolve().parents[1]


def run_one(config_path: Path, protocol: str, seed: int, runs: Path, overrides: list[str]):
    """Train and test one (protocol, seed); the run folder is ``runs/<protocol>-s<seed>``."""
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    out_dir = runs / f"{protocol}-s{seed}"
    run = [f"data.protocol={protocol}", f"seed={seed}", f"out_dir={out_dir}", "threads=1"]
    config = load_config(config_path, [*overrides, *run])
    row = {"protocol": protocol, "seed": seed, "run_dir": str(out_dir)}
    finished = finished_run(out_dir, config)
    if finished is not None:
        return {**row, "minutes": None, "reused": True, **finished}
    start = time.perf_counter()
    result = fit(config, overwrite=True)
    return {
        **row,
        "minutes": round((time.perf_counter() - start) / 60, 2),
        "top1": {name: report.top1 for name, report in result.reports.items()},
        "samples": {name: report.num_samples for name, report in result.reports.items()},
    }


def finished_run(out_dir: Path, config: TrainConfig) -> dict | None:
    """The test figures of a run already finished in ``out_dir`` with the same config (but
    for its folder), else None: a benchmark stopped half way picks up where it was."""
    if not (out_dir / "summary.json").is_file() or not (out_dir / "config.yaml").is_file():
        return None
    saved, wanted = load_config(out_dir / "config.yaml").to_dict(), config.to_dict()
    # a run's saved config also holds the model keyword arguments and data options that the
    # run filled in (from the data, or from the pretrained checkpoint's input)
    saved["model_kwargs"] = {
        k: v for k, v in saved["model_kwargs"].items() if k in wanted["model_kwargs"]
    }
    options = wanted["data"]["options"]
    saved["data"]["options"] = {k: v for k, v in saved["data"]["options"].items() if k in options}
    if {**saved, "out_dir": ""} != {**wanted, "out_dir": ""}:
        return None
    reports = json.loads((out_dir / "summary.json").read_text())
    return {
        "top1": {name: report["top1"] for name, report in reports.items()},
        "samples": {name: report["num_samples"] for name, report in reports.items()},
    }


def summarise(rows: list[dict]) -> dict[str, dict]:
    """Per test set: mean and population standard deviation of top-1 (JHMDB: the mean over
    its splits of each split's mean over seeds; its spread is over those split means)."""
    sets = sorted({name for row in rows for name in row["top1"]})
    out = {}
    for name in sets:
        if name == "jhmdb":
            by_split = {}
            for row in rows:
                by_split.setdefault(row["protocol"], []).append(row["top1"][name])
            values = [statistics.fmean(v) for v in by_split.values()]
        else:
            values = [row["top1"][name] for row in rows if name in row["top1"]]
        out[name] = {
            "mean": statistics.fmean(values),
            "std": statistics.pstdev(values),
            "runs": [round(v, 4) for v in values],
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "everyday.yaml")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--protocols", nargs="+", default=["split1", "split2", "split3"])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "everyday")
    parser.add_argument("--out", type=Path, help="results JSON [docs/everyday/<config>.json]")
    parser.add_argument("overrides", nargs="*", help="config KEY=VALUE overrides")
    args = parser.parse_args()
    runs = args.runs / args.config.stem
    jobs = [(p, s) for p in args.protocols for s in args.seeds]
    start = time.perf_counter()
    rows = []
    context = get_context("spawn")  # a fresh interpreter per run: one thread, no shared state
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=context) as pool:
        futures = [pool.submit(run_one, args.config, p, s, runs, args.overrides) for p, s in jobs]
        for future in as_completed(futures):
            row = future.result()
            rows.append(row)
            shown = ", ".join(f"{k} {100 * v:.2f}" for k, v in sorted(row["top1"].items()))
            print(f"{row['protocol']} seed {row['seed']}: {shown} ({row['minutes']} min)")
    rows.sort(key=lambda r: (r["protocol"], r["seed"]))
    summary = summarise(rows)
    print(f"\n{'test set':<20} {'top-1 mean ± std':>18}  runs")
    for name, values in summary.items():
        spread = f"{100 * values['mean']:.2f} ± {100 * values['std']:.2f}"
        print(f"{name:<20} {spread:>18}  {[round(100 * v, 2) for v in values['runs']]}")
    out = args.out or ROOT / "docs" / "everyday" / f"{args.config.stem}.json"
    command = " ".join(["benchmarks/bench_everyday.py", *sys.argv[1:]])
    result = {
        "config": str(args.config.relative_to(ROOT) if args.config.is_absolute() else args.config),
        "overrides": args.overrides,
        "command": command,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"1 thread per run, {args.jobs} runs side by side",
        "minutes": round((time.perf_counter() - start) / 60, 1),
        "runs": rows,
        "summary": summary,
    }
    write_text(out, json.dumps(result, indent=2) + "\n")
    print(f"\n{out}: written ({result['minutes']} min)")


if __name__ == "__main__":
    main()
