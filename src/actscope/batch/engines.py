"""Where a batch's files are run: in this process (``local``) or on a Ray cluster (``ray``).

Each engine yields the rows of completed files, in the order they complete, a file's rows
together. The Ray engine is one Ray Data pipeline over the list of files. For the predict
task it has two stages: a pool of ``workers`` CPU actors decodes each file and finds its
poses (skeleton models) or reads and transforms its clips (RGB models)
(:class:`~actscope.batch.work.PredictReader`), and a pool of model actors, one per GPU
(or one on the CPU), scores :data:`MODEL_FILES` files a call
(:class:`~actscope.batch.work.PredictModel`). What passes between them is each file's
poses or clips, pickled into an Arrow binary column. The model actor scores each file's
windows or clips in the batches ``predict`` uses, not several files' in one: a batch's
make-up changes the last bits of float32 results, and the rows must be ``predict``'s.

Detect and pose are one stage (a pool of :class:`~actscope.batch.work.FileWorker`): the
detector's segment search rescores windows of the file it is in, so its model calls cannot
leave the file's worker, and pose has no model. Detect's actors share the cluster's GPUs.
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Iterator
from pathlib import Path

from actscope.batch.work import BatchSettings, FileWorker, PredictModel, PredictReader, Row
from actscope.errors import ConfigError, ModelError

INSTALL_HINT = "install it with `pip install 'actscope[batch]'`"
MODEL_FILES = 8
"""Files a model actor scores per call: fewer round trips, a file's rows still together."""


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


class _RayReader:
    """A Ray Data actor of the CPU stage: paths -> ``path``, ``read`` (pickled
    ``(what the model reads or an error row, seconds)``)."""

    def __init__(self, settings: BatchSettings) -> None:
        self.reader = PredictReader(settings)

    def __call__(self, batch):
        import pyarrow as pa

        paths = batch["path"].to_pylist()
        reads = [pickle.dumps(self.reader(path), pickle.HIGHEST_PROTOCOL) for path in paths]
        return pa.table({"path": paths, "read": pa.array(reads, pa.large_binary())})


class _RayModel:
    """A Ray Data actor of the model stage: what :class:`_RayReader` gives -> rows."""

    def __init__(self, settings: BatchSettings) -> None:
        self.model = PredictModel(settings)

    def __call__(self, batch):
        import pyarrow as pa

        from actscope.batch.work import schema

        pairs = zip(batch["path"].to_pylist(), batch["read"].to_pylist(), strict=True)
        rows = [self.model(path, *pickle.loads(read)) for path, read in pairs]
        return pa.Table.from_pylist(rows, schema=schema("predict"))


def run_ray(
    paths: list[str],
    settings: BatchSettings,
    poses_dir: str | None,
    *,
    workers: int = 2,
    address: str | None = None,
) -> Iterator[list[Row]]:
    """The rows of each file as Ray finishes it. ``address``: a running cluster (``"auto"``
    or ``ray://host:10001``); without it a local Ray is started and stopped, with
    ``workers`` CPUs and, for predict, one more per model actor. ``workers`` CPU actors run
    at once, one CPU each; predict's model actors take one CPU and, unless the device is
    ``cpu``, one GPU each when the cluster has GPUs."""
    require("ray", "the ray engine")
    import ray

    started = not ray.is_initialized()
    if started:
        extra = _model_actors(settings, _local_gpus(settings)) if settings.task == "predict" else 0
        _init_ray(ray, workers + extra, address)
    try:
        gpus = ray.cluster_resources().get("GPU", 0) if settings.device != "cpu" else 0
        if settings.device == "cuda" and not gpus:
            raise ModelError(
                "device 'cuda' asked for but the Ray cluster has no GPU; use auto or cpu"
            )
        context = ray.data.DataContext.get_current()  # importing ray.data sets its logging
        logging.getLogger("ray.data").setLevel(logging.ERROR)  # our own bar says how it goes
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        dataset = ray.data.from_items(
            [{"path": path} for path in paths], override_num_blocks=max(1, len(paths))
        )
        pool = ray.data.ActorPoolStrategy
        if settings.task == "predict":
            read = dataset.map_batches(
                _RayReader,
                fn_constructor_kwargs={"settings": settings},
                batch_size=1,
                batch_format="pyarrow",
                compute=pool(size=workers),
                num_cpus=1,
            )
            results = read.map_batches(
                _RayModel,
                fn_constructor_kwargs={"settings": settings},
                batch_size=MODEL_FILES,
                batch_format="pyarrow",
                compute=pool(size=_model_actors(settings, gpus)),
                num_cpus=1,
                num_gpus=min(1.0, gpus),
            )
        else:
            results = dataset.map_batches(
                _RayWorker,
                fn_constructor_kwargs={"settings": settings, "poses_dir": poses_dir},
                batch_size=1,
                batch_format="pyarrow",
                compute=pool(size=workers),
                num_cpus=1,
                num_gpus=min(1.0, gpus / workers) if settings.task == "detect" else 0,
            )
        for block in results.iter_batches(batch_size=None, batch_format="pyarrow"):
            yield block.to_pylist()
    finally:
        if started:
            ray.shutdown()


def _model_actors(settings: BatchSettings, gpus: float) -> int:
    """Predict's model actors: one per GPU (one sharing a fraction of one), or one on the
    CPU."""
    return max(1, int(gpus)) if settings.device != "cpu" else 1


def _local_gpus(settings: BatchSettings) -> int:
    """The GPUs a local Ray started here would have for the model (none for ``cpu``)."""
    if settings.device == "cpu":
        return 0
    import torch

    return torch.cuda.device_count()


def _init_ray(ray, cpus: int, address: str | None) -> None:
    """Connect to the cluster at ``address`` (its nodes need actscope installed), or start a
    local Ray with ``cpus`` CPUs whose workers import this very actscope (a source
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
        num_cpus=cpus,
        include_dashboard=False,
        runtime_env={"env_vars": env},
        **options,
    )
