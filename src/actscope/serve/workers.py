"""A bounded pool of worker processes that run the jobs of the store, one at a time each.

Workers are separate processes (spawned, so no torch or MediaPipe state is inherited): a
job that crashes its worker (a segfault in a decoder, the OOM killer) fails alone, with the
reason, and the supervisor starts a new worker for the next job. Workers take jobs from
SQLite themselves, so a job queued while every worker is busy waits in the store, and jobs
queued before a server crash are still there after its restart.

A job's files are written into ``<job>/out.tmp`` and renamed to ``<job>/out`` before the
job is marked done: a result is either whole or absent. Workers die with the server
(``PR_SET_PDEATHSIG`` on Linux, and a watch on the parent's pid elsewhere), so a ``kill -9``
of the server leaves no worker finishing a job that the restarted server runs again.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import shutil
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from actscope.errors import ActscopeError
from actscope.serve.store import Job, JobStore

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.2  # how often an idle worker looks for a queued job
PROGRESS_SECONDS = 0.5  # how often a running job writes its progress (and reads cancels)
HUNG_GRACE_SECONDS = 30.0  # past its time limit, a job that has not stopped is killed


class JobStopped(Exception):  # noqa: N818 - a signal to stop, not an error
    """Raised inside a job to stop it: ``cancelled`` by the client, or over its time limit."""

    def __init__(self, reason: str, cancelled: bool = False) -> None:
        super().__init__(reason)
        self.cancelled = cancelled


@dataclass(frozen=True)
class Layout:
    """Where things are in the data folder."""

    data_dir: Path

    @property
    def database(self) -> Path:
        return self.data_dir / "jobs.sqlite3"

    def job_dir(self, job_id: str) -> Path:
        return self.data_dir / "jobs" / job_id

    def out_dir(self, job_id: str) -> Path:
        return self.job_dir(job_id) / "out"


def worker_main(data_dir: str, parent: int, job_timeout: float, backend: str = "torch") -> None:
    """The loop of one worker process: claim a job, run it, record the outcome."""
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when workers stop
    logging.basicConfig(level=logging.INFO, format="%(levelname)s worker: %(message)s")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    from actscope.serve.tasks import Recognizers

    torch.set_num_threads(1)
    layout = Layout(Path(data_dir))
    store = JobStore(layout.database)
    recognizers = Recognizers(backend)
    while True:
        job = store.claim(os.getpid())
        if job is None:
            time.sleep(POLL_SECONDS)
            continue
        run_job(job, store, layout, recognizers, job_timeout)


def run_job(job: Job, store: JobStore, layout: Layout, recognizers, job_timeout: float) -> None:
    """Run ``job`` and record it done, failed or (if the client cancelled it) removed."""
    from actscope.serve.tasks import TaskOptions, run_task

    job_dir = layout.job_dir(job.id)
    scratch, final = job_dir / "out.tmp", job_dir / "out"
    for folder in (scratch, final):  # what an interrupted earlier attempt left
        shutil.rmtree(folder, ignore_errors=True)
    scratch.mkdir(parents=True)
    started = time.monotonic()
    last = 0.0

    def report(done: float, total: float | None, unit: str) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last < PROGRESS_SECONDS and (total is None or done < total):
            return
        last = now
        if store.progress(job.id, done, total, unit) != "running":
            raise JobStopped("cancelled", cancelled=True)
        if job_timeout and now - started > job_timeout:
            raise JobStopped(f"the job took longer than the server's limit of {job_timeout:g} s")

    try:
        result, files = run_task(
            job.task,
            job_dir / job.input,
            TaskOptions.parse(job.options),
            scratch,
            report,
            recognizers,
        )
        scratch.rename(final)
        if not store.finish(job.id, "done", result=result, files=files):
            shutil.rmtree(job_dir, ignore_errors=True)  # cancelled as it finished
    except JobStopped as stop:
        if stop.cancelled:
            shutil.rmtree(job_dir, ignore_errors=True)
        else:
            store.finish(job.id, "failed", error=str(stop))
    except ActscopeError as error:
        store.finish(job.id, "failed", error=str(error))
    except Exception as error:  # a bug, not the user's input: say so, keep the worker
        logger.error("job %s failed:\n%s", job.id, traceback.format_exc())
        store.finish(
            job.id,
            "failed",
            error=f"internal error ({type(error).__name__}: {error}); see the server's log",
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)  # what a stopped or failed job left


def _die_with_parent(parent: int) -> None:
    """Make this process end when the server does, however the server ends."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the server died before prctl took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


class WorkerPool:
    """``size`` worker processes over the store in ``data_dir``, kept alive by a supervisor
    thread: a worker that dies fails the job it was running and is replaced."""

    def __init__(
        self, data_dir: Path, size: int, job_timeout: float, backend: str = "torch"
    ) -> None:
        self.layout = Layout(data_dir)
        self.size = size
        self.job_timeout = job_timeout
        self.backend = backend
        self._context = multiprocessing.get_context("spawn")
        self._workers: list[multiprocessing.Process] = []
        self._stop = threading.Event()
        self._supervisor: threading.Thread | None = None
        self.store = JobStore(self.layout.database)

    def start(self) -> None:
        requeued = self.store.requeue_interrupted()
        if requeued:
            logger.info("queued again %d job(s) interrupted by a stop", len(requeued))
        self._workers = [self._spawn() for _ in range(self.size)]
        self._supervisor = threading.Thread(target=self._supervise, daemon=True)
        self._supervisor.start()

    def _spawn(self) -> multiprocessing.Process:
        process = self._context.Process(
            target=worker_main,
            args=(str(self.layout.data_dir), os.getpid(), self.job_timeout, self.backend),
            daemon=True,
        )
        process.start()
        return process

    def _supervise(self) -> None:
        while not self._stop.wait(0.5):
            self._stop_overdue()
            for index, process in enumerate(self._workers):
                if process.is_alive():
                    continue
                code = process.exitcode
                how = f"killed by signal {-code}" if code and code < 0 else f"exit code {code}"
                failed = self.store.fail_running_on(
                    process.pid,
                    f"the worker process running this job stopped unexpectedly ({how}); "
                    "the job was not finished (a video that crashes the decoder, or too "
                    "little memory); other jobs are not affected",
                )
                for job_id in failed:
                    shutil.rmtree(self.layout.job_dir(job_id) / "out.tmp", ignore_errors=True)
                    logger.error("job %s failed: its worker stopped (%s)", job_id, how)
                if not self._stop.is_set():
                    self._workers[index] = self._spawn()

    def _stop_overdue(self) -> None:
        """A job stuck where it reports no progress (so it cannot stop itself) is failed
        and its worker killed, a grace period after its time limit."""
        for job_id, worker in self.store.overdue(self.job_timeout + HUNG_GRACE_SECONDS):
            message = (
                f"the job took longer than the server's limit of {self.job_timeout:g} s "
                "and did not stop; its worker was restarted"
            )
            if self.store.finish(job_id, "failed", error=message) and worker:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker, signal.SIGKILL)

    def pids(self) -> list[int]:
        return [p.pid for p in self._workers if p.pid is not None]

    def close(self) -> None:
        """Stop the workers; a job they were running is queued again at the next start."""
        self._stop.set()
        if self._supervisor is not None:
            self._supervisor.join()
        for process in self._workers:
            process.terminate()
        for process in self._workers:
            process.join(5)
            if process.is_alive():
                process.kill()
        self.store.close()
