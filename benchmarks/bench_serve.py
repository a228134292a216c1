"""Load on ``actscope serve``: concurrent uploads of a short real clip over loopback.

Starts a real server (``--workers N``) on a free loopback port with a fresh data folder,
sends ``--uploads`` POST /v1/jobs at once from as many client threads, then waits for every
job. Prints failed requests, jobs done, p50/p95 of the upload latency (request sent ->
job id back) and of job completion (upload -> done), jobs per minute over the whole run, and
the peak resident memory of the server and its workers together (sampled every 0.2 s).

    .venv/bin/python benchmarks/bench_serve.py --uploads 50 --workers 2 --task predict
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from running_server import start_server, stop_server  # noqa: E402

CLIP = ROOT.parent / "shared" / "data" / "pushup_form" / "videos" / "wrong" / "wrong13.mp4"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


class PeakMemory:
    """Peak summed RSS (bytes) of a process and its descendants, sampled in a thread."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            total = 0
            for process in [self.root, *self.root.children(recursive=True)]:
                with contextlib.suppress(psutil.NoSuchProcess):
                    total += process.memory_info().rss
            self.peak = max(self.peak, total)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--task", default="predict")
    parser.add_argument("--clip", type=Path, default=CLIP)
    parser.add_argument("--timeout", type=float, default=1800, help="whole run, seconds")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here too")
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="bench-serve-")) / "data"
    server = start_server(data, "--workers", str(args.workers))
    payload = args.clip.read_bytes()
    failures: list[str] = []

    def send(index: int) -> tuple[str | None, float, float]:
        started = time.monotonic()
        try:
            with httpx.Client(base_url=server.url, timeout=300) as client:
                files = {"file": (f"clip{index}.mp4", payload, "video/mp4")}
                response = client.post("/v1/jobs", files=files, data={"task": args.task})
            response.raise_for_status()
            return response.json()["id"], started, time.monotonic() - started
        except httpx.HTTPError as error:
            failures.append(f"upload {index}: {error}")
            return None, started, time.monotonic() - started

    try:
        with PeakMemory(server.process.pid) as memory:
            begun = time.monotonic()
            with ThreadPoolExecutor(args.uploads) as pool:
                sent = list(pool.map(send, range(args.uploads)))
            done_at: dict[str, float] = {}
            states: dict[str, str] = {}
            pending = {job_id for job_id, _, _ in sent if job_id}
            deadline = begun + args.timeout
            with httpx.Client(base_url=server.url, timeout=60) as client:
                while pending and time.monotonic() < deadline:
                    for job_id in list(pending):
                        job = client.get(f"/v1/jobs/{job_id}").json()
                        if job["state"] in ("done", "failed", "cancelled"):
                            states[job_id] = job["state"]
                            done_at[job_id] = time.monotonic()
                            pending.discard(job_id)
                    time.sleep(0.5)
            finished = time.monotonic()
    finally:
        stop_server(server)
    uploads = [latency for _, _, latency in sent]
    completion = [done_at[job_id] - start for job_id, start, _ in sent if job_id in done_at]
    done = sum(state == "done" for state in states.values())
    figures = {
        "uploads": args.uploads,
        "workers": args.workers,
        "task": args.task,
        "clip": f"{args.clip.name} ({len(payload) / 1e3:.0f} kB)",
        "failed_requests": len(failures),
        "jobs_done": done,
        "jobs_not_done": args.uploads - done,
        "upload_p50_s": round(percentile(uploads, 50), 3),
        "upload_p95_s": round(percentile(uploads, 95), 3),
        "completion_p50_s": round(percentile(completion, 50), 1) if completion else None,
        "completion_p95_s": round(percentile(completion, 95), 1) if completion else None,
        "jobs_per_minute": round(60 * done / (finished - begun), 1),
        "mean_job_run_s": None,
        "peak_memory_mb": round(memory.peak / 2**20),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }
    runs = [s for s in _run_times(data) if s is not None]
    figures["mean_job_run_s"] = round(statistics.fmean(runs), 2) if runs else None
    for line in failures[:5]:
        print(line)
    for key, value in figures.items():
        print(f"{key:>20}: {value}")
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2) + "\n")


def _run_times(data: Path) -> list[float | None]:
    import sqlite3

    with sqlite3.connect(data / "jobs.sqlite3") as db:
        rows = db.execute("SELECT finished - started FROM jobs WHERE state = 'done'")
        return [r[0] for r in rows]


if __name__ == "__main__":
    main()
