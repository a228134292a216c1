"""Everything that depends on the device, in one place (several processes: ``distributed.py``).

Mixed precision: on CUDA, fp16 autocast with a gradient scaler; on a CPU, bf16 autocast and
no scaler (bf16 has fp32's exponent range). See ``docs/engine.md`` for whether bf16 helps on
a given CPU: without native bf16 instructions it is slower than fp32.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from actscope.errors import ConfigError

logger = logging.getLogger(__name__)


def resolve_device(name: str) -> torch.device:
    """``auto`` (CUDA when available, else CPU), ``cpu``, ``cuda`` or ``cuda:N``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} asked for but CUDA is not available; use cpu")
    if device.type not in ("cpu", "cuda"):
        raise ConfigError(f"device {name!r} is not supported; use auto, cpu, cuda or cuda:N")
    return device


def autocast(device: torch.device, enabled: bool) -> contextlib.AbstractContextManager:
    """Mixed-precision context for forward passes: fp16 on CUDA, bf16 on a CPU."""
    if not enabled:
        return contextlib.nullcontext()
    if device.type == "cpu" and cpu_has_bf16() is False:
        _warn_bf16()
    dtype = torch.float16 if device.type == "cuda" else torch.bfloat16
    return torch.autocast(device.type, dtype=dtype)


@functools.cache
def cpu_has_bf16() -> bool | None:
    """Whether this CPU has native bf16 instructions (AVX512-BF16 or AMX); ``None`` where
    ``/proc/cpuinfo`` cannot tell."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    return "avx512_bf16" in flags or "amx_bf16" in flags


@functools.cache  # once per process
def _warn_bf16() -> None:
    logger.warning(
        "amp on a CPU without native bf16 (AVX512-BF16/AMX) is slower than fp32 "
        "(3x to 9x measured on an AVX2 CPU); set amp=false"
    )


def make_scaler(device: torch.device, enabled: bool) -> torch.amp.GradScaler:
    """A gradient scaler, active only for fp16 on CUDA (a no-op otherwise)."""
    return torch.amp.GradScaler(device.type, enabled=enabled and device.type == "cuda")


def to_device(batch: Any, device: torch.device) -> Any:
    """``batch`` (a tensor, or lists/tuples/dicts of them) moved to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, Mapping):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        moved = [to_device(v, device) for v in batch]
        return moved if isinstance(batch, list) else tuple(moved)
    return batch


def set_determinism(threads: int | None, deterministic: bool) -> None:
    """Fix torch's intra-op thread count; optionally ask for deterministic kernels."""
    if threads is not None:
        torch.set_num_threads(threads)
    if deterministic:
        # cuBLAS needs this before its first use to give reproducible results.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
