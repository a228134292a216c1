"""Checkpoint files: written atomically, read with ``torch.load(weights_only=True)``.

A checkpoint is a dict of plain values (tensors, numbers, strings, lists, dicts):

- ``format``/``version``: marks the file as an actscope checkpoint;
- ``model``: ``{"name": registry name, "kwargs": builder keyword arguments}``;
- ``state_dict``: the model's tensors (on the CPU);
- ``class_names``: the label of each output, in order;
- ``input``: what the model takes, e.g. ``{"layout": "coco17", "frames": 64, ...}``;
- ``normalization``: how the training data was normalised (free-form dict);
- ``config``: the run's :class:`~actscope.engine.config.TrainConfig` as a dict;
- ``metrics``: the last evaluated epoch's metrics line;
- ``train_state`` (``last.pt`` only): optimizer, scheduler, scaler, counters, RNG states and
  early-stopping state, everything :func:`actscope.engine.train` needs to resume exactly.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import torch
from torch import nn

from actscope.errors import ModelError

FORMAT = "actscope.checkpoint"
VERSION = 1

_UMASK = os.umask(0)
os.umask(_UMASK)


def make_checkpoint(
    model: nn.Module,
    *,
    model_name: str,
    model_kwargs: Mapping[str, Any],
    class_names: Sequence[str],
    input_spec: Mapping[str, Any] | None = None,
    normalization: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    train_state: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The checkpoint dict for ``model`` (its tensors are copied to the CPU)."""
    state = {k: v.detach().cpu() for k, v in unwrap(model).state_dict().items()}
    checkpoint = {
        "format": FORMAT,
        "version": VERSION,
        "model": {"name": model_name, "kwargs": plain(dict(model_kwargs))},
        "class_names": [str(c) for c in class_names],
        "input": plain(dict(input_spec or {})),
        "normalization": plain(dict(normalization or {})),
        "config": plain(dict(config or {})),
        "metrics": plain(dict(metrics or {})),
        "state_dict": state,
    }
    if train_state is not None:
        checkpoint["train_state"] = dict(train_state)
    return checkpoint


def save_checkpoint(checkpoint: Mapping[str, Any], path: str | Path) -> Path:
    """Write ``checkpoint`` to ``path`` atomically: a reader sees the old file or the new one."""
    path = Path(path)
    with _atomic_file(path) as handle:
        torch.save(dict(checkpoint), handle)
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True``.

    Raises :class:`ModelError` in one line when the file is missing, truncated, not a
    checkpoint, or holds objects other than plain values.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"checkpoint {path} does not exist")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, zipfile.BadZipFile, ValueError) as exc:
        raise ModelError(f"{path} is not a readable checkpoint: {_load_failure(exc)}") from None
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise ModelError(f"{path} is a torch file but not an actscope checkpoint")
    if checkpoint.get("version", 0) > VERSION:
        raise ModelError(
            f"{path} was written by a newer actscope (checkpoint version "
            f"{checkpoint['version']} > {VERSION}); upgrade actscope"
        )
    return checkpoint


def check_compatible(
    checkpoint: Mapping[str, Any],
    *,
    class_names: Sequence[str] | None = None,
    input_spec: Mapping[str, Any] | None = None,
    source: str = "checkpoint",
) -> None:
    """Refuse a checkpoint whose classes or input differ from what the caller expects.

    ``class_names`` must match exactly, in order. Every key of ``input_spec`` (e.g.
    ``layout``) must equal the checkpoint's; keys the caller does not give are not checked.
    Raises :class:`ModelError`.
    """
    if class_names is not None:
        theirs = list(checkpoint.get("class_names", []))
        ours = [str(c) for c in class_names]
        if theirs != ours:
            raise ModelError(f"{source} {_class_difference(theirs, ours)}")
    if input_spec is not None:
        theirs = checkpoint.get("input", {})
        for key, value in plain(dict(input_spec)).items():
            if key not in theirs:
                raise ModelError(f"{source} does not record input {key!r} (expected {value!r})")
            if theirs[key] != value:
                raise ModelError(
                    f"{source} was trained for input {key}={theirs[key]!r}, "
                    f"not {value!r}; convert the input or use a matching checkpoint"
                )


def load_model_state(
    model: nn.Module, state_dict: Mapping[str, torch.Tensor], *, source: str = "checkpoint"
) -> None:
    """Copy ``state_dict`` into ``model``; a :class:`ModelError` names every missing,
    unexpected and mis-shaped key when they do not fit."""
    target = unwrap(model)
    expected = target.state_dict()
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    misshaped = [
        f"{k} (checkpoint {_shape(state_dict[k])}, model {_shape(expected[k])})"
        for k in expected
        if k in state_dict and state_dict[k].shape != expected[k].shape
    ]
    problems = [
        f"{label}: {_listing(keys)}"
        for label, keys in (
            ("missing keys", missing),
            ("unexpected keys", unexpected),
            ("mis-shaped", misshaped),
        )
        if keys
    ]
    if problems:
        raise ModelError(
            f"{source} does not fit the model ({'; '.join(problems)}); build the model with "
            "the checkpoint's model name and kwargs"
        )
    target.load_state_dict(state_dict)


def load_trained_model(
    path: str | Path,
    *,
    class_names: Sequence[str] | None = None,
    input_spec: Mapping[str, Any] | None = None,
    map_location: str | torch.device = "cpu",
) -> tuple[nn.Module, dict[str, Any]]:
    """Build the registered model a checkpoint names, load its weights, set it to eval mode.

    Returns ``(model, checkpoint)``. ``class_names``/``input_spec`` are checked with
    :func:`check_compatible` when given.
    """
    from actscope.models import create_model

    checkpoint = load_checkpoint(path, map_location=map_location)
    check_compatible(checkpoint, class_names=class_names, input_spec=input_spec, source=str(path))
    spec = checkpoint["model"]
    kwargs = dict(spec.get("kwargs", {}))
    kwargs.setdefault("num_classes", len(checkpoint["class_names"]))
    model = create_model(spec["name"], **kwargs)
    load_model_state(model, checkpoint["state_dict"], source=str(path))
    return model.eval(), checkpoint


def unwrap(model: nn.Module) -> nn.Module:
    """The plain module inside a DataParallel/DistributedDataParallel or compiled wrapper."""
    while True:
        inner = getattr(model, "module", None) or getattr(model, "_orig_mod", None)
        if not isinstance(inner, nn.Module):
            return model
        model = inner


def plain(value: Any) -> Any:
    """``value`` as types ``torch.load(weights_only=True)`` accepts: tuples become lists,
    paths and other scalars strings; raises ``TypeError`` for anything else."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str, torch.Tensor)):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:  # numpy scalar
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__} in a checkpoint: {value!r}")


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temp file in the same folder, then rename)."""
    with _atomic_file(path) as handle:
        handle.write(text.encode())


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, then rename)."""
    with _atomic_file(path) as handle:
        handle.write(data)


@contextmanager
def _atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A binary handle on a temp file beside ``path`` that replaces ``path`` on a clean exit
    and is removed on an error (or a kill: it never has ``path``'s name)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes it private; give it a normal file's mode
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _load_failure(exc: Exception) -> str:
    """Why ``torch.load`` failed, in a few words."""
    message = str(exc)
    if "Unsupported global" in message:
        return (
            "it holds pickled Python objects, which weights_only loading refuses (a model "
            "saved whole with torch.save(model)?); save its state_dict in a checkpoint instead"
        )
    first = message.strip().split(". ")[0].splitlines()[0] if message.strip() else ""
    return f"truncated, corrupt or not a torch file ({first or type(exc).__name__})"


def _class_difference(theirs: list[str], ours: list[str]) -> str:
    if len(theirs) != len(ours):
        return (
            f"was trained for {len(theirs)} classes ({_listing(theirs)}), "
            f"not the {len(ours)} expected ({_listing(ours)})"
        )
    if sorted(theirs) == sorted(ours):
        return "has the expected class names in another order; the outputs would be mislabelled"
    diff = [
        f"{i}: {a!r} vs {b!r}" for i, (a, b) in enumerate(zip(theirs, ours, strict=True)) if a != b
    ]
    return f"was trained for other classes (checkpoint vs expected at {_listing(diff)})"


def _listing(items: Sequence[str], limit: int = 6) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _shape(tensor: torch.Tensor) -> str:
    return "x".join(map(str, tensor.shape)) or "scalar"
