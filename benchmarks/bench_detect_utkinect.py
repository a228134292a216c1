"""UTKinect (``../shared/data/utkinect_dev``, subjects 1, 3, 5, 7, 9), leave one subject out:
recognition of the trimmed actions and detection in the whole recordings.

``classify``: for each left-out subject and seed, ``actscope train --dataset utkinect
--protocol loso-sN --seed S`` as a user runs it (the recipe is chosen from the data), and
the test top-1 of its final weights; the mean over the five folds per seed, then over seeds.

``detect``: for each left-out subject and seed, a model trained on the other four subjects'
recordings, then :func:`actscope.inference.detect_skeleton` (the code of ``actscope detect``)
on the left-out subject's two whole recordings, scored against their labelled segments
(mAP at tIoU 0.3-0.7, ActivityNet average over 0.5:0.95). Two ways to train:

- ``--train recordings`` (default): ``actscope train --dataset utkinect-recordings``: windows
  of the untrimmed recordings labelled with their segment's action or "background";
- ``--train segments``: ``actscope train --dataset utkinect``: the trimmed segments only (no
  background class; detection then relies on the motion gate), as before issue 15.

mAP is reported per fold (two recordings, 20 segments), as the mean over folds, and pooled
(the detections of all five folds ranked together). Every choice (window, background share,
detection thresholds) was made on these five subjects; the other five are kept apart.

Run (2-core CPU, one torch thread; ``--jobs 2`` trains two folds at a time):
  .venv/bin/python benchmarks/bench_detect_utkinect.py classify --seeds 0 1 2
  .venv/bin/python benchmarks/bench_detect_utkinect.py detect --seeds 0 1 2
  .venv/bin/python benchmarks/bench_detect_utkinect.py detect --train segments --seeds 0
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
SUBJECTS = (1, 3, 5, 7, 9)


def train(dataset: str, subject: int, seed: int, out: Path, extra: list[str]) -> float:
    """``actscope train`` on ``dataset`` leaving ``subject`` out; seconds taken (0 if the run
    folder already holds a finished model)."""
    if (out / "summary.json").exists():
        return 0.0
    command = [
        sys.executable, "-m", "actscope", "train",
        "--dataset", dataset,
        "--protocol", f"loso-s{subject}",
        "--seed", str(seed),
        "--out", str(out),
        "--overwrite",
        "threads=1", "progress=false",
        *extra,
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "ACTSCOPE_DATA": str(DATA)}
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    line = next((x for x in result.stderr.splitlines() if x.startswith("recipe:")), "")
    print(f"  {out.name}: trained in {time.perf_counter() - started:.0f} s; {line}", flush=True)
    return time.perf_counter() - started


def run_all(jobs: int, tasks: list) -> list:
    with ThreadPoolExecutor(jobs) as pool:
        return list(pool.map(lambda task: task(), tasks))


def classify(args: argparse.Namespace) -> None:
    runs = {
        (seed, subject): Path(args.out) / "classify" / f"s{subject}-seed{seed}"
        for seed in args.seeds
        for subject in args.folds
    }
    started = time.perf_counter()
    run_all(
        args.jobs,
        [
            lambda k=k, out=out: train("utkinect", k[1], k[0], out, args.set)
            for k, out in runs.items()
        ],
    )
    table: dict[int, dict[int, float]] = {}
    for (seed, subject), out in runs.items():
        summary = json.loads((out / "summary.json").read_text())
        table.setdefault(seed, {})[subject] = summary["test"]["top1"]
    print(f"\nUTKinect segments, leave one subject out ({platform.machine()}, "
          f"{time.perf_counter() - started:.0f} s)")  # fmt: skip
    print("seed  " + "  ".join(f"s{s:<5}" for s in args.folds) + "  mean")
    means = []
    for seed, folds in table.items():
        mean = float(np.mean(list(folds.values())))
        means.append(mean)
        cells = "  ".join(f"{100 * folds[s]:5.1f} " for s in args.folds)
        print(f"{seed:>4}  {cells}  {100 * mean:.1f}")
    print(f"top-1 over {len(means)} seeds: {100 * np.mean(means):.1f} ± {100 * np.std(means):.1f}%")


def detect(args: argparse.Namespace) -> None:
    import torch

    from actscope.datasets.recordings import load_utkinect_recording_set
    from actscope.inference import DetectOptions, Recognizer, detect_skeleton, evaluate_detection
    from actscope.inference.segments import Segment

    torch.set_num_threads(1)
    dataset = "utkinect-recordings" if args.train == "recordings" else "utkinect"
    # the segment models are those of `classify`
    folder = Path(args.out) / ("classify" if args.train == "segments" else "detect-recordings")
    runs = {
        (seed, subject): folder / f"s{subject}-seed{seed}"
        for seed in args.seeds
        for subject in args.folds
    }
    started = time.perf_counter()
    run_all(
        args.jobs,
        [lambda k=k, out=out: train(dataset, k[1], k[0], out, args.set) for k, out in runs.items()],
    )
    trained = time.perf_counter() - started
    recordings = load_utkinect_recording_set(DATA / "utkinect_dev")
    options = DetectOptions(labels_per_segment=args.labels_per_segment, **_options(args.detect))
    rows, seconds = [], 0.0
    pooled: dict[int, tuple[dict, dict]] = {}
    for (seed, subject), out in runs.items():
        model = Recognizer.load(out / "model.pt")
        truth, found = {}, {}
        for recording in recordings.recordings:
            if recording.subject != subject:
                continue
            truth[recording.name] = [Segment(s.start, s.end, s.label) for s in recording.segments]
            result = detect_skeleton(recording.skeleton, model, options)
            found[recording.name] = result.segments
            seconds += result.seconds
        if args.save:
            save = Path(args.save) / f"s{subject}-seed{seed}.json"
            save.parent.mkdir(parents=True, exist_ok=True)
            save.write_text(json.dumps({
                "truth": {k: [s.to_dict() for s in v] for k, v in truth.items()},
                "found": {k: [s.to_dict() for s in v] for k, v in found.items()},
            }))  # fmt: skip
        report = evaluate_detection(found, truth)
        rows.append((seed, subject, report, sum(map(len, found.values()))))
        seed_truth, seed_found = pooled.setdefault(seed, ({}, {}))
        seed_truth.update(truth)
        seed_found.update(found)
    thresholds = rows[0][2]["thumos"].thresholds
    print(
        f"\nUTKinect recordings, leave one subject out, trained on {args.train} "
        f"({platform.machine()}; training {trained:.0f} s, detection {seconds:.1f} s)"
    )
    head = " ".join(f"@{t:<5g}" for t in thresholds)
    print(f"seed  subject  found  {head} avg0.5:0.95")
    per_seed: dict[int, list] = {}
    for seed, subject, report, count in rows:
        values = [*report["thumos"].mean_ap, report["activitynet"].average_map]
        per_seed.setdefault(seed, []).append(values)
        print(f"{seed:>4}  s{subject:<7} {count:>5}  " + " ".join(f"{v:6.3f}" for v in values))
    print("\nmean over the five folds, then over seeds (± std over seeds):")
    means = np.array([np.mean(v, axis=0) for v in per_seed.values()])
    for seed, mean in zip(per_seed, means, strict=True):
        print(f"  seed {seed}: " + " ".join(f"{v:.3f}" for v in mean))
    spread = means.std(axis=0)
    print(
        "  all:    "
        + " ".join(f"{m:.3f}±{s:.3f}" for m, s in zip(means.mean(0), spread, strict=True))
    )
    print("pooled (the five folds' detections ranked together):")
    pooled_values = []
    for seed, (truth, found) in pooled.items():
        report = evaluate_detection(found, truth)
        values = [*report["thumos"].mean_ap, report["activitynet"].average_map]
        pooled_values.append(values)
        print(f"  seed {seed}: " + " ".join(f"{v:.3f}" for v in values))
    print("  all:    " + " ".join(f"{v:.3f}" for v in np.mean(pooled_values, axis=0)))


def _options(pairs: list[str]) -> dict[str, float | int | bool]:
    """``KEY=VALUE`` pairs as DetectOptions fields of the right types."""
    from dataclasses import fields

    from actscope.inference import DetectOptions

    types = {f.name: f.type for f in fields(DetectOptions)}
    options: dict[str, float | int | bool] = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key not in types:
            raise SystemExit(f"--detect {pair}: no such detection option")
        kind = str(types[key])
        parsed = json.loads(value)
        options[key] = int(parsed) if kind == "int" else parsed
    return options


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("classify", "detect"):
        one = sub.add_parser(name)
        one.add_argument("--seeds", type=int, nargs="+", default=[0])
        one.add_argument("--folds", type=int, nargs="+", default=list(SUBJECTS))
        one.add_argument("--out", default=str(ROOT / "runs" / "bench_utkinect"))
        one.add_argument("--jobs", type=int, default=1, help="trainings run at once")
        one.add_argument(
            "--set", nargs="*", default=[], help="KEY=VALUE overrides for actscope train"
        )
    detector = sub.choices["detect"]
    detector.add_argument("--train", choices=("recordings", "segments"), default="recordings")
    detector.add_argument("--detect", nargs="*", default=[], help="DetectOptions KEY=VALUE")
    detector.add_argument("--labels-per-segment", type=int, default=1)
    detector.add_argument("--save", help="folder for each fold's truth and detections")
    args = parser.parse_args()
    {"classify": classify, "detect": detect}[args.command](args)


if __name__ == "__main__":
    main()
