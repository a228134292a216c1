"""The typed configuration of one training run.

A :class:`TrainConfig` is a tree of dataclasses with defaults. It loads from a YAML or JSON
file (:func:`load_config`), takes ``key=value`` overrides with dotted keys for nested values
(:func:`apply_overrides`, e.g. ``optimizer.lr=0.01`` or ``model_kwargs.dropout=0.5``), and is
saved as YAML next to each run's checkpoints (:func:`save_config`). Values are checked
against the field types; an unknown key or a badly typed value is a one-line
:class:`~actscope.errors.ConfigError` naming the key.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union

import yaml

from actscope.datasets.base import DataConfig
from actscope.errors import ConfigError
from actscope.files import write_text


@dataclass
class OptimizerConfig:
    """``adamw`` or ``sgd`` (with momentum). ``lr`` is the peak learning rate."""

    name: Literal["adamw", "sgd"] = "adamw"
    lr: float = 1e-3
    weight_decay: float = 1e-2
    momentum: float = 0.9
    nesterov: bool = True
    betas: tuple[float, float] = (0.9, 0.999)


@dataclass
class ScheduleConfig:
    """Learning-rate schedule, applied per optimizer step.

    ``cosine``: linear warm-up from 0 over ``warmup_epochs`` (may be fractional), then cosine
    decay to ``min_lr_ratio * lr`` at the last step. ``step``: the same warm-up, then the rate
    is multiplied by ``gamma`` at each epoch in ``milestones``. ``constant``: warm-up only.
    """

    name: Literal["cosine", "step", "constant"] = "cosine"
    warmup_epochs: float = 0.0
    min_lr_ratio: float = 0.0
    milestones: list[int] = field(default_factory=list)
    gamma: float = 0.1


@dataclass
class EarlyStoppingConfig:
    """Stop when ``metric`` has not improved for ``patience`` evaluated epochs (0: never).

    ``metric`` names a key of the per-epoch metrics line, e.g. ``val_top1`` or ``val_loss``;
    it also decides which checkpoint is ``best.pt``.
    """

    metric: str = "val_top1"
    mode: Literal["max", "min"] = "max"
    patience: int = 0
    min_delta: float = 0.0


@dataclass
class TrainConfig:
    """Everything that defines a training run.

    ``checkpoint_every`` is in optimizer steps (0: only at epoch ends). ``threads`` fixes
    torch's intra-op thread count (``null``: leave it), which CPU bit-reproducibility needs.
    ``amp`` turns on mixed precision: bf16 autocast on a CPU, fp16 with a gradient scaler on
    CUDA. ``grad_clip`` is the maximum gradient norm (0: off). ``device`` is ``auto``
    (CUDA when available), ``cpu``, ``cuda`` or ``cuda:N``. ``pretrained`` names weights to
    start from (anything :func:`actscope.weights.load_pretrained` takes: the model's published
    weights by name or source, an upstream checkpoint file, an actscope checkpoint); the
    classifier is replaced unless the weights were trained on the run's classes.
    ``freeze_backbone`` trains only the classifier; the frozen layers' batch-norm statistics
    stay as loaded; ``backbone_lr_scale`` sets the rate of everything but the classifiers to
    that fraction of ``optimizer.lr`` (fine-tuning: the loaded features move less than the new
    classifier). ``classifier_init: class_means`` starts every classifier from the mean features
    of its classes' training clips (:mod:`actscope.engine.imprint`), a better start than random
    for a few clips per class. ``balance_sources`` (pooled datasets) draws each epoch's samples
    so that within every class each source dataset is drawn equally often, the class's share of
    the epoch unchanged. ``source_label_penalty`` (pooled datasets, in nats) lowers, in the
    training loss only, each clip's logits of the classes its own source dataset does not label,
    so that no source teaches the model that the other sources' classes never look like it (0:
    off; about 10: each source a softmax over its own classes).
    """

    model: str = ""
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    pretrained: str = ""
    freeze_backbone: bool = False
    backbone_lr_scale: float = 1.0
    classifier_init: Literal["random", "class_means"] = "random"
    data: DataConfig = field(default_factory=DataConfig)
    epochs: int = 30
    batch_size: int = 32
    eval_batch_size: int = 0
    drop_last: bool = True
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    label_smoothing: float = 0.0
    logit_adjustment: float = 0.0
    balance_sources: bool = False
    source_label_penalty: float = 0.0
    grad_clip: float = 0.0
    seed: int = 0
    amp: bool = False
    device: str = "auto"
    threads: int | None = None
    deterministic: bool = False
    workers: int = 0
    checkpoint_every: int = 0
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)
    out_dir: str = "runs/train"
    progress: bool = True

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (lists, not tuples), fit for YAML, JSON and checkpoints."""
        return _plain(dataclasses.asdict(self))

    def validate(self) -> TrainConfig:
        """Check value ranges; returns ``self``. Raises :class:`ConfigError`."""
        checks = [
            (self.epochs >= 1, "epochs", "must be at least 1"),
            (self.batch_size >= 1, "batch_size", "must be at least 1"),
            (
                self.eval_batch_size >= 0,
                "eval_batch_size",
                "must be 0 (same as batch_size) or more",
            ),
            (self.optimizer.lr > 0, "optimizer.lr", "must be positive"),
            (self.optimizer.weight_decay >= 0, "optimizer.weight_decay", "must be 0 or more"),
            (0 <= self.label_smoothing < 1, "label_smoothing", "must be in [0, 1)"),
            (self.logit_adjustment >= 0, "logit_adjustment", "must be 0 (off) or more"),
            (self.source_label_penalty >= 0, "source_label_penalty", "must be 0 (off) or more"),
            (self.grad_clip >= 0, "grad_clip", "must be 0 (off) or more"),
            (0 < self.backbone_lr_scale <= 1, "backbone_lr_scale", "must be in (0, 1]"),
            (self.workers >= 0, "workers", "must be 0 or more"),
            (self.threads is None or self.threads >= 1, "threads", "must be null or at least 1"),
            (self.checkpoint_every >= 0, "checkpoint_every", "must be 0 (epoch ends) or more"),
            (self.schedule.warmup_epochs >= 0, "schedule.warmup_epochs", "must be 0 or more"),
            (0 <= self.schedule.min_lr_ratio <= 1, "schedule.min_lr_ratio", "must be in [0, 1]"),
            (self.early_stopping.patience >= 0, "early_stopping.patience", "must be 0 or more"),
            (
                self.pretrained or not self.freeze_backbone,
                "freeze_backbone",
                "needs pretrained weights: set pretrained=PATH, or drop freeze_backbone",
            ),
        ]
        for ok, key, rule in checks:
            if not ok:
                raise ConfigError(f"config key {key!r} {rule} (got {_get(self, key)!r})")
        return self


def config_from_dict(values: dict[str, Any], base: TrainConfig | None = None) -> TrainConfig:
    """A :class:`TrainConfig` from nested ``values`` laid over ``base`` (default: defaults)."""
    config = _build(TrainConfig, values, prefix="", base=base or TrainConfig())
    return config.validate()


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> TrainConfig:
    """Read a YAML (``.yaml``/``.yml``) or JSON file, then apply ``key=value`` overrides."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror or exc}") from None
    try:
        values = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        reason = str(exc).splitlines()[0]
        raise ConfigError(
            f"config {path} is not valid {path.suffix[1:].upper()}: {reason}"
        ) from None
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise ConfigError(f"config {path} must hold a mapping of keys to values")
    return apply_overrides(config_from_dict(values), overrides)


def apply_overrides(config: TrainConfig, overrides: list[str] | tuple[str, ...]) -> TrainConfig:
    """A copy of ``config`` with each ``key=value`` applied in order.

    Keys are dotted paths (``optimizer.lr``); values are parsed for the field's type
    (``true``/``false``, numbers, ``null``, ``[1, 2]`` or ``1,2`` for lists). Keys under a
    free-form dict (``model_kwargs.x``, ``data.options.x``) take YAML values.
    """
    values = config.to_dict()
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"override {item!r} is not of the form key=value")
        target = values
        parts = key.split(".")
        hint = _type_at(parts)
        for part in parts[:-1]:  # the path is known to exist: _type_at checked it
            if not isinstance(target.get(part), dict):
                target[part] = {}
            target = target[part]
        target[parts[-1]] = _parse_override(key, raw.strip(), hint)
    return config_from_dict(values)


def save_config(config: TrainConfig, path: str | Path) -> None:
    """Write ``config`` as YAML, atomically."""
    write_text(path, yaml.safe_dump(config.to_dict(), sort_keys=False))


# --- typing helpers ----------------------------------------------------------------------


def _build(cls: type, values: dict[str, Any], prefix: str, base: Any) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"config key {prefix[:-1]!r} must be a mapping, got {values!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key in values:
        if key not in names:
            raise ConfigError(_unknown_key(prefix + str(key)))
    kwargs = {}
    for name in names:
        current = getattr(base, name)
        if name not in values:
            kwargs[name] = current
        elif dataclasses.is_dataclass(hints[name]):
            kwargs[name] = _build(hints[name], values[name], f"{prefix}{name}.", current)
        else:
            kwargs[name] = _coerce(prefix + name, values[name], hints[name])
    return cls(**kwargs)


def _coerce(key: str, value: Any, hint: Any) -> Any:
    """``value`` checked against (and converted to) type ``hint``."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(key, value, inner[0])
    if origin is Literal:
        if value not in args:
            choices = ", ".join(map(str, args))
            raise ConfigError(f"config key {key!r} must be one of {choices}, got {value!r}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"config key {key!r} must be a list, got {value!r}")
        if origin is tuple and len(value) != len(args):
            raise ConfigError(f"config key {key!r} must have {len(args)} items, got {value!r}")
        item_types = args if origin is tuple else args * len(value)
        items = [
            _coerce(f"{key}[{i}]", v, t)
            for i, (v, t) in enumerate(zip(value, item_types, strict=True))
        ]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"config key {key!r} must be a mapping, got {value!r}")
        return dict(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"config key {key!r} must be true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"config key {key!r} must be an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, str):  # PyYAML reads 3e-4 (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"config key {key!r} must be a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ConfigError(f"config key {key!r} must be a string, got {value!r}")
        return str(value)
    return value


def _type_at(parts: list[str]) -> Any:
    """The declared type at a dotted path, or ``None`` inside a free-form dict."""
    cls: Any = TrainConfig
    for i, part in enumerate(parts):
        if not dataclasses.is_dataclass(cls):
            if typing.get_origin(cls) is dict:
                return None
            raise ConfigError(_unknown_key(".".join(parts)))
        hints = typing.get_type_hints(cls)
        if part not in hints:
            raise ConfigError(_unknown_key(".".join(parts[: i + 1])))
        cls = hints[part]
    return cls


def _parse_override(key: str, raw: str, hint: Any) -> Any:
    """The string ``raw`` as a value for a field of type ``hint`` (YAML-typed when unknown)."""
    if hint is str:
        return raw
    if typing.get_origin(hint) in (list, tuple) and not raw.startswith("["):
        raw = f"[{raw}]" if raw else "[]"
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        raise ConfigError(f"config key {key!r}: cannot parse value {raw!r}") from None
    if (
        hint is not None
        and typing.get_origin(hint) is Literal
        and value not in typing.get_args(hint)
    ):
        value = raw
    return value


def _unknown_key(key: str) -> str:
    top = ", ".join(f.name for f in dataclasses.fields(TrainConfig))
    return f"unknown config key {key!r} (top-level keys: {top})"


def _get(config: TrainConfig, dotted: str) -> Any:
    value: Any = config
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
