"""Several processes training one model (data-parallel): launching them, the process group,
and the few collectives the training loop needs.

A process learns its place from torchrun's environment (``WORLD_SIZE``, ``RANK``,
``LOCAL_RANK``); without ``WORLD_SIZE`` (or with 1) it is alone, and nothing here touches
``torch.distributed``. Each rank trains on its share of every global batch
(:class:`~actscope.engine.data.EpochBatchSampler`'s ``shard``), the model is wrapped in
``DistributedDataParallel``, and rank 0 alone writes files and validates.

Teardown: every rank passes a barrier, then destroys the process group, so that no rank leaves
while a peer still waits in a collective (gloo aborts that peer with "Connection closed by
peer"). After an error that only some ranks may have met, the barrier is skipped (the peers
may be anywhere) and the launcher stops the others.
"""

from __future__ import annotations

import logging
import os
import signal
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from actscope.errors import ConfigError

logger = logging.getLogger(__name__)

# Long enough for rank 0 to validate or test while the others wait at a barrier.
TIMEOUT = timedelta(hours=2)


@dataclass(frozen=True)
class World:
    """This process's place among ``size`` training processes."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Whether this process writes the run's files (rank 0)."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    def device(self, device: torch.device) -> torch.device:
        """``device`` for this rank: CUDA ranks use GPU ``LOCAL_RANK``."""
        if self.distributed and device.type == "cuda":
            return torch.device("cuda", self.local_rank)
        return device

    def wrap(self, model: nn.Module, device: torch.device) -> nn.Module:
        """``model`` in ``DistributedDataParallel`` (gradients averaged over the ranks, rank
        0's buffers broadcast at each forward); ``model`` itself when alone."""
        if not self.distributed:
            return model
        ids = [device.index] if device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(model, device_ids=ids)

    def sum(self, values: Sequence[float], device: torch.device) -> list[float]:
        """``values`` summed over the ranks (float64)."""
        if not self.distributed:
            return list(values)
        tensor = torch.tensor(values, dtype=torch.float64, device=_collective_device(device))
        dist.all_reduce(tensor)
        return tensor.tolist()

    def any(self, flag: bool, device: torch.device) -> bool:
        """Whether ``flag`` is true on any rank: every rank gets the same answer."""
        return self.sum([float(flag)], device)[0] > 0 if self.distributed else flag

    def broadcast(self, value: Any) -> Any:
        """Rank 0's ``value`` (any picklable object) on every rank."""
        if not self.distributed:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def gather(self, value: Any) -> list[Any]:
        """Every rank's ``value``, in rank order, on every rank."""
        if not self.distributed:
            return [value]
        values: list[Any] = [None] * self.size
        dist.all_gather_object(values, value)
        return values

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()


def current_world() -> World:
    """This process's :class:`World`, from torchrun's environment variables."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return World()
    return World(int(os.environ["RANK"]), size, int(os.environ.get("LOCAL_RANK", "0")))


def _collective_device(device: torch.device) -> torch.device:
    # gloo reduces CPU tensors, nccl CUDA ones
    return device if dist.get_backend() == "nccl" else torch.device("cpu")


@contextmanager
def process_group(device: torch.device) -> Iterator[World]:
    """The process group of this run (gloo on a CPU, nccl on CUDA) while the block runs, then
    a barrier and its destruction on every rank. Nested uses share the outer group; alone,
    nothing is set up."""
    world = current_world()
    if not world.distributed or dist.is_initialized():
        yield world
        return
    if device.type == "cuda":
        torch.cuda.set_device(world.local_rank)
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend, timeout=TIMEOUT)
    if not world.main:  # one copy of each log line and progress bar
        logging.getLogger("actscope").setLevel(logging.ERROR)
    agreed = False
    try:
        yield world
        agreed = True
    except (KeyboardInterrupt, ConfigError):
        # The loop stops every rank at the same step (an agreed interrupt, a NaN loss), and
        # config errors are met by every rank alike: all ranks reach the barrier below.
        agreed = True
        raise
    finally:
        if agreed:
            dist.barrier()
        dist.destroy_process_group()


def check_nproc(nproc: int, device: str) -> None:
    """Refuse a process count the machine cannot run: more than its GPUs (CUDA) or its CPU
    cores."""
    cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    limit = torch.cuda.device_count() if cuda else os.cpu_count() or 1
    what = f"{limit} GPUs" if cuda else f"{limit} CPU cores"
    if not 1 <= nproc <= limit:
        raise ConfigError(f"--nproc {nproc} is not possible here: use 1 to {limit} ({what})")


def check_batch(batch_size: int, nproc: int) -> None:
    """Each rank takes ``batch_size / nproc`` samples of every batch."""
    if batch_size % nproc:
        raise ConfigError(
            f"batch_size {batch_size} does not split evenly over {nproc} processes; use a "
            f"multiple of {nproc}"
        )


def launch(nproc: int, command: Sequence[str]) -> int:
    """Run ``command`` (``[program, *args]``) in ``nproc`` processes on this machine under
    torchrun's elastic agent (standalone rendezvous, no restarts) and return the exit code of
    rank 0 (of the first failed rank when rank 0 succeeded).

    SIGINT and SIGTERM to this process are forwarded once to every rank, which stop at the
    same step; the agent kills ranks still alive after 60 s.
    """
    from torch.distributed.elastic.multiprocessing import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    config = LaunchConfig(
        min_nodes=1,
        max_nodes=1,
        nproc_per_node=nproc,
        run_id=str(uuid.uuid4()),
        rdzv_backend="c10d",
        rdzv_endpoint="localhost:0",
        max_restarts=0,
        monitor_interval=0.1,
        signals_to_handle="SIGTERM,SIGINT",
        shutdown_timeout=60,
    )
    quiet = logging.getLogger("torch.distributed.elastic")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        elastic_launch(config, command[0])(*command[1:])
        return 0
    except ChildFailedError as exc:
        codes = {rank: failure.exitcode for rank, failure in exc.failures.items()}
        code = codes.get(0) or next(iter(codes.values()))
        return 128 - code if code < 0 else code  # killed by a signal: -N
    except SignalException as exc:
        return 128 + int(exc.sigval)
    finally:
        quiet.setLevel(level)
        for number, handler in handlers.items():  # the agent's handlers raise SignalException
            signal.signal(number, handler)
