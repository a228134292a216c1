"""``actscope batch`` throughput: files per second over the push-up videos with the local
engine and with Ray at 1 and 2 workers, one after another in this run; each engine's rows
checked against the local engine's, a few files against ``actscope predict --json``; then a
run killed with SIGKILL and resumed, checked to hold every file exactly once.

Run: PYTHONPATH=src .venv/bin/python benchmarks/bench_batch.py [--limit 40] [--workers 1 2]
     [--no-kill]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from actscope.batch import run_batch

VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "pushup_form" / "videos"


def pick(limit: int | None) -> list[str]:
    """Every video, or ``limit`` of them spread evenly over the sorted list (both folders)."""
    files = sorted(str(p) for p in VIDEOS.rglob("*.mp4"))
    if limit and limit < len(files):
        files = [files[i * len(files) // limit] for i in range(limit)]
    return files


def rows_of(output: Path) -> list[dict]:
    """The rows, less the time each file took."""
    return [
        {k: v for k, v in r.items() if k != "seconds"} for r in pq.read_table(output).to_pylist()
    ]


def timed(files: list[str], output: Path, **options) -> float:
    load = os.getloadavg()[0]
    started = time.perf_counter()
    summary = run_batch(files, output, **options)
    seconds = time.perf_counter() - started
    assert summary.ok + summary.failed == len(files), summary
    print(
        f"{options.get('engine', 'local'):5} workers={options.get('workers', '-')}: "
        f"{len(files)} files in {seconds:.1f} s = {len(files) / seconds:.2f} files/s "
        f"({summary.failed} failed; load before {load:.2f}, after {os.getloadavg()[0]:.2f})",
        flush=True,
    )
    return seconds


def spot_check(files: list[str], rows: list[dict]) -> None:
    """``actscope predict --json`` on each file gives the row's top-k (4 decimals)."""
    found = {row["path"]: row for row in rows}
    command = [sys.executable, "-m", "actscope", "predict", "--json", *files]
    printed = json.loads(subprocess.run(command, capture_output=True, check=True).stdout)
    for result in printed:
        row = found[os.path.abspath(result["video"])]
        ours = [(t["label"], round(t["score"], 4)) for t in row["top"]]
        assert ours == [(t["label"], t["score"]) for t in result["top"]], result["video"]
    print(f"actscope predict agrees on {len(printed)} files", flush=True)


def killed_and_resumed(files: list[str], output: Path, reference: list[dict]) -> None:
    """SIGKILL a local run when about a third of the files are in parts; resume it."""
    code = "import sys; from actscope.batch import run_batch; "
    code += "run_batch(sys.argv[1:-1], sys.argv[-1], part_seconds=0)"
    process = subprocess.Popen([sys.executable, "-c", code, *files, str(output)])
    parts = output.with_name(output.name + ".parts")
    while len(list(parts.glob("part-*.parquet"))) < max(1, len(files) // 3):
        assert process.poll() is None, "the run ended before it was killed"
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    summary = run_batch(files, output)
    rows = rows_of(output)
    paths = [row["path"] for row in rows]
    assert sorted(paths) == sorted(files) and len(set(paths)) == len(paths)
    assert rows == reference
    print(
        f"killed after {summary.skipped} files, resumed: {summary.ok} more, "
        f"{len(rows)} rows, each file once, rows equal to the local run",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="Use this many videos (default: all 261).")
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--spot", type=int, default=3, help="Files checked with predict.")
    parser.add_argument("--no-kill", action="store_true", help="Skip the killed-run check.")
    args = parser.parse_args()
    files = pick(args.limit)
    print(
        f"{platform.node()} {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, python {platform.python_version()}, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '-')}",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as folder:
        local = Path(folder) / "local.parquet"
        timed(files, local)
        reference = rows_of(local)
        for workers in args.workers:
            output = Path(folder) / f"ray{workers}.parquet"
            timed(files, output, engine="ray", workers=workers)
            assert rows_of(output) == reference, f"ray with {workers} workers differs from local"
            print(f"ray with {workers} workers: rows identical to local", flush=True)
        spot_check(files[: args.spot], reference)
        if not args.no_kill:
            killed_and_resumed(files, Path(folder) / "killed.parquet", reference)


if __name__ == "__main__":
    main()
