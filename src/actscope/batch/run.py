"""``run_batch``: resolve the inputs, skip what is done, run the rest on an engine with a
progress bar, write parts as files complete and combine them into the output."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from actscope.batch.engines import require, run_local, run_ray
from actscope.batch.inputs import batch_inputs
from actscope.batch.parts import ResultStore
from actscope.batch.work import BatchSettings
from actscope.errors import ConfigError

ENGINES = ("local", "ray")


@dataclass(frozen=True)
class BatchSummary:
    """What a run did: ``files`` in the inputs, ``skipped`` (done by an earlier run), ``ok``
    and ``failed`` in this run, ``rows`` in the output, ``seconds`` taken."""

    output: Path
    files: int
    skipped: int
    ok: int
    failed: int
    rows: int
    seconds: float


def run_batch(
    inputs: Iterable[str | os.PathLike],
    output: str | os.PathLike,
    *,
    task: str = "predict",
    model: str = "default",
    backend: str = "torch",
    device: str = "auto",
    top_k: int = 5,
    step: int = 1,
    engine: str = "local",
    workers: int = 2,
    address: str | None = None,
    part_seconds: float = 5.0,
    on_progress: Callable[[int, int], None] | None = None,
) -> BatchSummary:
    """Run ``task`` (``predict``, ``detect`` or ``pose``) on every video of ``inputs`` (files,
    folders, ``@list.txt`` files) into the Parquet file ``output``; one row per file, or per
    segment for ``detect``. Files already done (``ok``) in ``output`` or its parts are
    skipped; failed ones are run again. ``device``: where the model runs (``auto``: a GPU
    where there is one, ``cpu``, ``cuda``). ``engine``: ``local`` (this process) or ``ray``
    (``workers`` CPU actors; ``address`` a running cluster, else a local one). A part is
    written at most every ``part_seconds``. ``on_progress(done, total)`` is called as files
    finish.
    """
    started = time.perf_counter()
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}; use local or ray")
    if not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers must be an integer of at least 1, got {workers!r}")
    require("pyarrow", "actscope batch")
    settings = BatchSettings(task, model, backend, top_k, step, device).check()
    paths = batch_inputs(inputs)
    store = ResultStore(output, settings)
    statuses = store.statuses()
    pending = [path for path in paths if statuses.get(path) != "ok"]
    skipped = len(paths) - len(pending)
    poses_dir = str(store.output.with_suffix(".poses")) if task == "pose" else None
    if engine == "ray" and pending:
        batches = run_ray(pending, settings, poses_dir, workers=workers, address=address)
    else:
        batches = run_local(pending, settings, poses_dir)
    done: dict[str, str] = {}
    if on_progress is not None:
        on_progress(skipped, len(paths))
    with store.writer(part_seconds) as writer:
        for rows in batches:
            writer.add(rows)
            done.update((row["path"], row["status"]) for row in rows)
            if on_progress is not None:
                on_progress(skipped + len(done), len(paths))
    table = store.combine()
    failed = sum(status != "ok" for status in done.values())
    return BatchSummary(
        output=store.output,
        files=len(paths),
        skipped=skipped,
        ok=len(done) - failed,
        failed=failed,
        rows=table.num_rows,
        seconds=time.perf_counter() - started,
    )
