"""Training in 2 processes (torchrun, gloo, CPU) against 1, and clean exits in repeated runs.

On the tiny run of ``tests/test_engine.py`` (4 Gaussian blobs, 200 training and 100
validation samples, 3 epochs of 12 steps, batch 16):

1. an MLP without batch norm or dropout, 1 vs 2 processes: the largest weight difference
   after 36 steps (only the order of float sums differs);
2. ``TinyNet`` (batch norm, dropout), 1 vs 2 processes for ``--seeds`` seeds: the final
   metrics' differences, beside the spread between seeds of 1-process runs;
3. ``--runs`` short 2-process runs (1 epoch): every exit code, any abort in the output
   ("terminate called", "Connection closed by peer", SIGABRT, a traceback), wall times;
4. the teardown problem itself, 3 times: a bare gloo script where rank 1 exits while rank 0
   still has a collective to do (what a loop without the final barrier does when rank 0
   validates or saves last).

    PYTHONPATH=src .venv/bin/python benchmarks/bench_multiprocess.py --seeds 5 --runs 20
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from test_engine import config, make_model, metrics, run  # noqa: E402
from test_multiprocess import ABORTS, plain_model  # noqa: E402

SCRIPT = ROOT / "tests" / "test_multiprocess.py"
KEYS = ("train_loss", "train_top1", "val_loss", "val_top1")


def two_processes(out: Path, *args: str) -> tuple[int, str, float]:
    """Exit code, output and wall time of the test script launched in 2 processes."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(out), "--nproc", "2", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    return done.returncode, done.stdout + done.stderr, time.perf_counter() - started


NAIVE = """
import sys, time, torch, torch.distributed as dist
dist.init_process_group("gloo")
t = torch.ones(4)
dist.all_reduce(t)
if dist.get_rank() == 0:  # rank 0 works on (saving, testing), then meets the others again
    time.sleep(0.5)
    dist.all_reduce(t)
sys.exit(0)  # rank 1 left at once
"""


def naive_teardown(work: Path) -> dict:
    script = work / "naive.py"
    script.write_text(NAIVE)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    exits, aborts = [], []
    for _ in range(3):
        done = subprocess.run(
            [*command, "--nproc-per-node", "2", str(script)], capture_output=True, text=True
        )
        exits.append(done.returncode)
        aborts.append([word for word in ABORTS if word in done.stdout + done.stderr])
    return {"exits": exits, "aborts": aborts}


def weight_gap(a: Path, b: Path) -> float:
    ours = torch.load(a / "last.pt", weights_only=True)["state_dict"]
    theirs = torch.load(b / "last.pt", weights_only=True)["state_dict"]
    return max(float((ours[k] - v).abs().max()) for k, v in theirs.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    work = Path(tempfile.mkdtemp(prefix="bench_mp_"))
    result: dict = {"machine": f"{platform.processor() or platform.machine()}, "
                    f"{os.cpu_count()} cores, torch {torch.__version__}"}  # fmt: skip

    code, output, _ = two_processes(work / "plain2", "--plain")
    assert code == 0, output[-2000:]
    run(config(work / "plain1"), plain_model())
    result["plain_max_weight_difference"] = weight_gap(work / "plain1", work / "plain2")

    pairs = []
    for seed in range(args.seeds):
        one, two = work / f"one{seed}", work / f"two{seed}"
        started = time.perf_counter()
        run(config(one, f"seed={seed}"), make_model())
        one_s = time.perf_counter() - started
        code, output, two_s = two_processes(two, "--seed", str(seed))
        assert code == 0, output[-2000:]
        a, b = metrics(one)[-1], metrics(two)[-1]
        pairs.append({"seed": seed, "one": {k: a[k] for k in KEYS}, "two": {k: b[k] for k in KEYS},
                      "one_s": round(one_s, 2), "two_s": round(two_s, 2)})  # fmt: skip
    result["tinynet"] = pairs
    result["tinynet_max_abs_difference"] = {
        k: max(abs(p["one"][k] - p["two"][k]) for p in pairs) for k in KEYS
    }
    result["tinynet_seed_spread_one_process"] = {
        k: max(p["one"][k] for p in pairs) - min(p["one"][k] for p in pairs) for k in KEYS
    }

    runs = []
    for attempt in range(args.runs):
        code, output, seconds = two_processes(work / f"short{attempt}", "--epochs", "1")
        aborts = [word for word in ABORTS if word in output]
        runs.append({"exit": code, "aborts": aborts, "s": round(seconds, 2)})
    result["repeated"] = {
        "runs": len(runs),
        "exit_0": sum(r["exit"] == 0 for r in runs),
        "with_abort_text": sum(bool(r["aborts"]) for r in runs),
        "median_s": round(statistics.median(r["s"] for r in runs), 2),
        "max_s": max(r["s"] for r in runs),
        "exits": [r["exit"] for r in runs],
    }
    result["naive_teardown"] = naive_teardown(work)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
