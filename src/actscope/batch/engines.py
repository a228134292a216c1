"""Where a batch's files are run: in this process (``local``) or on a Ray cluster (``ray``).

Each engine yields the rows of completed files, in the order they complete, a file's rows
together. The Ray engine is one Ray Data pipeline: the list of files is read as a dataset,
and a pool of actors, each holding a :class:`~actscope.batch.work.FileWorker` (the model is
loaded once per actor), maps it one file at a time. Decoding, pose estimation and the model
are one stage per file: :func:`actscope.inference.prediction.predict` streams poses through
the model window by window, and almost all of its time is MediaPipe on the CPU; splitting it
into a pose stage and a model stage would mean re-implementing ``predict`` around it, and
results that could drift from ``actscope predict``'s.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

from actscope.batch.work import BatchSettings, FileWorker, Row
from actscope.errors import ConfigError

INSTALL_HINT = "install it with `pip install 'actscope[batch]'`"


def require(module: str, why: str) -> None:
    """Import ``module`` or raise a one-line :class:`ConfigError` naming the extra."""
    try:
        __import__(module)
    except ImportError:
        raise ConfigError(f"{why} needs {module}; {INSTALL_HINT}") from None


def run_local(
    paths: list[str], settings: BatchSettings, poses_dir: str | None
) -> Iterator[list[Row]]:
    """The rows of each file in turn, in this process (the model is loaded only if needed)."""
    if not paths:
        return
    worker = FileWorker(settings, poses_dir)
    for path in paths:
        yield worker(path)


class _RayWorker:
    """A Ray Data actor: a :class:`FileWorker` mapped over batches of paths."""

    def __init__(self, settings: BatchSettings, poses_dir: str | None) -> None:
        self.worker = FileWorker(settings, poses_dir)

    def __call__(self, batch):
        import pyarrow as pa

        from actscope.batch.work import schema

        rows = [row for path in batch["path"].to_pylist() for row in self.worker(path)]
        return pa.Table.from_pylist(rows, schema=schema(self.worker.settings.task))


def run_ray(
    paths: list[str],
    settings: BatchSettings,
    poses_dir: str | None,
    *,
    workers: int = 2,
    address: str | None = None,
) -> Iterator[list[Row]]:
    """The rows of each file as Ray finishes it. ``address``: a running cluster (``"auto"``
    or ``ray://host:10001``); without it a local Ray with ``workers`` CPUs is started and
    stopped. ``workers`` actors run at once, one CPU each. They ask for no GPU: actscope's
    :class:`~actscope.inference.recognizer.Recognizer` runs its model on the CPU, and a GPU
    reserved for it would sit idle."""
    require("ray", "the ray engine")
    import ray

    started = not ray.is_initialized()
    if started:
        _init_ray(ray, workers, address)
    try:
        context = ray.data.DataContext.get_current()  # importing ray.data sets its logging
        logging.getLogger("ray.data").setLevel(logging.ERROR)  # our own bar says how it goes
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        dataset = ray.data.from_items(
            [{"path": path} for path in paths], override_num_blocks=max(1, len(paths))
        )
        results = dataset.map_batches(
            _RayWorker,
            fn_constructor_kwargs={"settings": settings, "poses_dir": poses_dir},
            batch_size=1,
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=workers),
            num_cpus=1,
        )
        for block in results.iter_batches(batch_size=None, batch_format="pyarrow"):
            yield block.to_pylist()
    finally:
        if started:
            ray.shutdown()


def _init_ray(ray, workers: int, address: str | None) -> None:
    """Connect to the cluster at ``address`` (its nodes need actscope installed), or start a
    local Ray with ``workers`` CPUs whose workers import this very actscope (a source
    checkout on ``PYTHONPATH`` included, made absolute: workers start in other folders)."""
    options = {"logging_level": logging.WARNING}
    if address:
        ray.init(address=address, **options)
        return
    import actscope

    given = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    paths = [str(Path(actscope.__file__).resolve().parents[1]), *given]
    env = {"PYTHONPATH": os.pathsep.join(dict.fromkeys(os.path.abspath(p) for p in paths))}
    if "OMP_NUM_THREADS" in os.environ:
        env["OMP_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"]
    ray.init(
        num_cpus=workers,
        include_dashboard=False,
        runtime_env={"env_vars": env},
        **options,
    )
