"""Jobs and their state in SQLite (WAL) in the data folder: the one record that the server
and its worker processes share, and that survives a crash of either.

Each process opens its own connection; a worker claims the oldest queued job in one
``BEGIN IMMEDIATE`` transaction, so two workers never take the same job. Times are Unix
seconds (float); ``options``, ``result`` and ``files`` are JSON text.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STATES = ("queued", "running", "done", "failed", "cancelled")
ACTIVE = ("queued", "running")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    task TEXT NOT NULL,
    options TEXT NOT NULL,
    filename TEXT NOT NULL,
    input TEXT NOT NULL,
    state TEXT NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    done REAL NOT NULL DEFAULT 0,
    total REAL,
    unit TEXT NOT NULL DEFAULT 'frames',
    error TEXT,
    result TEXT,
    files TEXT NOT NULL DEFAULT '[]',
    worker INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, priority, created);
"""


@dataclass
class Job:
    """One row of the store. ``input`` is the server-chosen file name of the upload inside
    the job's folder; ``filename`` the client's name, kept for display only."""

    id: str
    task: str
    options: dict[str, Any]
    filename: str
    input: str
    state: str
    priority: int = 0
    created: float = 0.0
    started: float | None = None
    finished: float | None = None
    done: float = 0.0
    total: float | None = None
    unit: str = "frames"
    error: str | None = None
    result: dict[str, Any] | None = None
    files: list[str] = field(default_factory=list)
    worker: int | None = None
    attempts: int = 0

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Job:
        values = dict(row)
        values["options"] = json.loads(values["options"])
        values["result"] = json.loads(values["result"]) if values["result"] else None
        values["files"] = json.loads(values["files"])
        return cls(**values)

    @property
    def terminal(self) -> bool:
        return self.state not in ACTIVE


def new_id() -> str:
    """A job id: 32 random hex digits, unguessable (ids are the only key to a job)."""
    return secrets.token_hex(16)


class JobStore:
    """The jobs table of ``path`` (created on first use)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            self.path, timeout=30, isolation_level=None, check_same_thread=False
        )
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def add(
        self,
        job_id: str,
        task: str,
        options: dict[str, Any],
        filename: str,
        input_name: str,
        priority: int = 0,
    ) -> Job:
        """Queue a new job whose input file is already in place."""
        job = Job(
            id=job_id,
            task=task,
            options=options,
            filename=filename,
            input=input_name,
            state="queued",
            priority=priority,
            created=time.time(),
        )
        self._db.execute(
            "INSERT INTO jobs (id, task, options, filename, input, state, priority, created) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                job.id,
                task,
                json.dumps(options),
                filename,
                input_name,
                "queued",
                priority,
                job.created,
            ),
        )
        return job

    def get(self, job_id: str) -> Job | None:
        row = self._db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return Job.from_row(row) if row else None

    def list(self, limit: int, offset: int) -> tuple[list[Job], int]:
        """Newest first, and the count of all jobs."""
        rows = self._db.execute(
            "SELECT * FROM jobs ORDER BY created DESC, id LIMIT ? OFFSET ?", (limit, offset)
        ).fetchall()
        total = self._db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]
        return [Job.from_row(r) for r in rows], total

    def claim(self, worker: int) -> Job | None:
        """The most urgent, oldest queued job, now ``running`` on ``worker`` (a pid)."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT id FROM jobs WHERE state = 'queued' ORDER BY priority DESC, created LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE jobs SET state = 'running', started = ?, worker = ?, done = 0, "
                "total = NULL, attempts = attempts + 1 WHERE id = ?",
                (time.time(), worker, row["id"]),
            )
        return self.get(row["id"])

    def progress(self, job_id: str, done: float, total: float | None, unit: str) -> str | None:
        """Record progress of a running job; its state now (``cancelled`` tells the worker to
        stop), or None when it is gone."""
        self._db.execute(
            "UPDATE jobs SET done = ?, total = ?, unit = ? WHERE id = ? AND state = 'running'",
            (done, total, unit, job_id),
        )
        row = self._db.execute("SELECT state FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return row["state"] if row else None

    def finish(
        self,
        job_id: str,
        state: str,
        *,
        result: dict[str, Any] | None = None,
        files: list[str] | None = None,
        error: str | None = None,
    ) -> bool:
        """Mark a running job ``done`` or ``failed``; False if it was cancelled meanwhile."""
        cursor = self._db.execute(
            "UPDATE jobs SET state = ?, finished = ?, result = ?, files = ?, error = ?, "
            "done = CASE WHEN total IS NOT NULL AND ? THEN total ELSE done END "
            "WHERE id = ? AND state = 'running'",
            (
                state,
                time.time(),
                json.dumps(result) if result is not None else None,
                json.dumps(files or []),
                error,
                state == "done",
                job_id,
            ),
        )
        return cursor.rowcount == 1

    def cancel(self, job_id: str) -> str | None:
        """Mark a queued or running job ``cancelled``; the state it had (``queued``: no
        worker has it, ``running``: its worker will stop and clean up), or None if it was
        not active. One transaction, so no worker claims it in between."""
        with self._transaction() as db:
            row = db.execute("SELECT state FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None or row["state"] not in ACTIVE:
                return None
            db.execute(
                "UPDATE jobs SET state = 'cancelled', finished = ? WHERE id = ?",
                (time.time(), job_id),
            )
        return row["state"]

    def delete(self, job_id: str) -> None:
        self._db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    def fail_running_on(self, worker: int, error: str) -> list[str]:
        """Fail the jobs ``running`` on a worker that died; their ids."""
        with self._transaction() as db:
            ids = [
                r["id"]
                for r in db.execute(
                    "SELECT id FROM jobs WHERE state = 'running' AND worker = ?", (worker,)
                )
            ]
            db.execute(
                "UPDATE jobs SET state = 'failed', finished = ?, error = ? "
                "WHERE state = 'running' AND worker = ?",
                (time.time(), error, worker),
            )
        return ids

    def overdue(self, seconds: float) -> list[tuple[str, int]]:
        """``(id, worker)`` of the jobs running for more than ``seconds``."""
        rows = self._db.execute(
            "SELECT id, worker FROM jobs WHERE state = 'running' AND started < ?",
            (time.time() - seconds,),
        )
        return [(r["id"], r["worker"]) for r in rows]

    def requeue_interrupted(self) -> list[str]:
        """At start-up: jobs left ``running`` by a server that stopped are queued again."""
        with self._transaction() as db:
            ids = [r["id"] for r in db.execute("SELECT id FROM jobs WHERE state = 'running'")]
            db.execute(
                "UPDATE jobs SET state = 'queued', worker = NULL, done = 0, total = NULL "
                "WHERE state = 'running'"
            )
        return ids

    def counts(self) -> dict[str, int]:
        """Jobs by state (every state, 0 included)."""
        rows = self._db.execute("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
        found = {r["state"]: r["n"] for r in rows}
        return {state: found.get(state, 0) for state in STATES}

    def durations(self) -> list[tuple[str, float]]:
        """``(task, seconds run)`` of every finished job."""
        rows = self._db.execute(
            "SELECT task, finished - started AS seconds FROM jobs "
            "WHERE state = 'done' AND started IS NOT NULL"
        )
        return [(r["task"], r["seconds"]) for r in rows]
