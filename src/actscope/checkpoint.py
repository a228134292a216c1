"""Checkpoint files: written atomically, read with ``torch.load(weights_only=True)``.

A checkpoint is a dict of plain values (tensors, numbers, strings, lists, dicts):

- ``format``/``version``: marks the file as an actscope checkpoint;
- ``model``: ``{"name": registry name, "kwargs": builder keyword arguments}``;
- ``state_dict``: the model's tensors (on the CPU; float16 in a file made to ship,
  :func:`half_precision`);
- ``class_names``: the label of each output, in order;
- ``input``: what the model takes, its typed input spec as a dict
  (:meth:`~actscope.pose.features.BodyFeatures.to_dict` or
  :meth:`~actscope.video.spec.ClipSpec.to_dict`; read back with
  :func:`~actscope.models.registry.input_from_dict`);
- ``normalization``: how the training data was normalised (free-form dict);
- ``config``: the run's :class:`~actscope.engine.config.TrainConfig` as a dict;
- ``metrics``: the last evaluated epoch's metrics line;
- ``train_state`` (``last.pt`` only): optimizer, scheduler, scaler, counters, RNG states and
  early-stopping state, everything :func:`actscope.engine.train` needs to resume exactly.

Files written by earlier versions still load: :func:`load_checkpoint` brings what they hold
up to date (:func:`upgrade`), so the rest of the package reads one form only.
"""

from __future__ import annotations

import os
import pickle
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from actscope.errors import ForeignCheckpointError, ModelError
from actscope.files import atomic_open

if TYPE_CHECKING:
    from actscope.models.registry import InputSpec

DEFAULT = "default"
"""The name of the model shipped inside the package, wherever a checkpoint is taken."""
DEFAULT_CHECKPOINT = "default_skeleton.pt"


def default_checkpoint() -> Path:
    """Path of the skeleton model shipped inside the package."""
    from importlib.resources import files

    return Path(str(files("actscope") / "assets" / DEFAULT_CHECKPOINT))


FORMAT = "actscope.checkpoint"
VERSION = 1


def make_checkpoint(
    model: nn.Module,
    *,
    model_name: str,
    model_kwargs: Mapping[str, Any],
    class_names: Sequence[str],
    input_spec: InputSpec | None = None,
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
        "input": plain(input_spec.to_dict()) if input_spec is not None else {},
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
    with atomic_open(path) as handle:
        torch.save(dict(checkpoint), handle)
    return path


def half_precision(checkpoint: Mapping[str, Any]) -> dict[str, Any]:
    """``checkpoint`` as a model to ship: its floating-point tensors stored in float16 (half
    the file) and no training state. Loading casts the weights back to the model's float32
    (``load_state_dict`` copies across dtypes); the shipped default is stored this way."""
    state = {
        name: tensor.half() if tensor.is_floating_point() else tensor
        for name, tensor in checkpoint["state_dict"].items()
    }
    kept = {key: value for key, value in checkpoint.items() if key != "train_state"}
    return {**kept, "state_dict": state}


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True``.

    Raises :class:`ModelError` in one line when the file is missing, truncated, not a
    checkpoint, or holds objects other than plain values.
    """
    checkpoint = safe_load(path, map_location)
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise ForeignCheckpointError(f"{path} is a torch file but not an actscope checkpoint")
    if checkpoint.get("version", 0) > VERSION:
        raise ModelError(
            f"{path} was written by a newer actscope (checkpoint version "
            f"{checkpoint['version']} > {VERSION}); upgrade actscope"
        )
    return upgrade(checkpoint)


def safe_load(
    path: str | Path, map_location: str | torch.device = "cpu", allowed: Sequence[Any] = ()
) -> Any:
    """``torch.load(path, weights_only=True)``: tensors and plain values, never code.

    ``allowed`` lists further globals to accept (e.g. numpy scalar types). A missing file,
    one that is truncated or corrupt, a plain pickle, or one holding pickled code or objects
    is a one-line :class:`ModelError` that says which.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"checkpoint {path} does not exist")
    try:
        with warnings.catch_warnings(), torch.serialization.safe_globals(list(allowed)):
            warnings.simplefilter("ignore")  # torch's notes on pickle protocols
            return torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, zipfile.BadZipFile, ValueError) as exc:
        raise ModelError(f"{path} is not a readable checkpoint: {_load_failure(exc)}") from None


def upgrade(checkpoint: Mapping[str, Any]) -> dict[str, Any]:
    """``checkpoint`` as this version writes it; what earlier versions wrote differently:

    - an ``input`` dict without ``kind`` (a skeleton spec if it names a ``layout``), and
      skeleton specs without ``min_score``, which then meant 0 (every placed joint counts);
    - a skeleton graph given to the builder as ``num_joints``, ``edges`` and ``center``,
      now one ``graph`` argument.
    """
    out = dict(checkpoint)
    spec = dict(out.get("input") or {})
    if "layout" in spec and "kind" not in spec:  # a skeleton spec from before kinds
        spec["kind"] = "skeleton"
    if "layout" in spec:
        spec.setdefault("min_score", 0.0)
    elif spec:
        spec.setdefault("kind", "video")
    out["input"] = spec
    model = dict(out.get("model") or {})
    kwargs = dict(model.get("kwargs") or {})
    quartet = ("num_joints", "edges", "center")
    if all(key in kwargs for key in quartet):
        from actscope.models.graph import SkeletonGraph

        num_joints, edges, center = (kwargs.pop(key) for key in quartet)
        kwargs["graph"] = SkeletonGraph(num_joints, edges, center)
        out["model"] = {**model, "kwargs": kwargs}
    return out


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


def _load_failure(exc: Exception) -> str:
    """Why ``torch.load`` failed, in a few words."""
    message = str(exc)
    if "Unsupported global" in message or "unsupported GLOBAL" in message:
        return (
            "it holds pickled Python code or objects, which actscope never loads (loading "
            "them could run code: a model saved whole with torch.save(model)?); if you trust "
            "its source, save the model's state_dict instead"
        )
    if "Unsupported operand" in message:
        return (
            "it is a plain Python pickle, not a torch.save file, and actscope never loads "
            "pickles (they can run code)"
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
