"""One registry for every model family, in the style of timm and torchvision.

A model is a plain ``nn.Module`` built by a typed function decorated with
:func:`register_model`; its entry carries the default input it expects and the trained
weights known for it. A reader follows a call, not a string: ``create_model("x3d_s")`` calls
the decorated builder with keyword arguments, nothing more. Each entry's input is a typed
spec: :class:`~actscope.video.spec.ClipSpec` for RGB models,
:class:`~actscope.pose.features.BodyFeatures` for skeleton models.

This module only describes models; reading checkpoint files happens elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from torch import nn

from actscope.errors import ActscopeError, ModelError
from actscope.pose.features import BodyFeatures
from actscope.video.spec import ClipSpec

Family = Literal["skeleton", "cnn3d", "cnn2d", "transformer"]


InputSpec = ClipSpec | BodyFeatures
"""What a model takes: a clip of frames (RGB models) or body features (skeleton models)."""

_SPEC_TYPES: dict[str, type[ClipSpec] | type[BodyFeatures]] = {
    spec.kind: spec for spec in (ClipSpec, BodyFeatures)
}


def input_from_dict(values: Mapping[str, Any]) -> InputSpec:
    """The typed input spec a checkpoint stores as a dict (see ``to_dict`` of each type).

    Its ``kind`` picks the type: this is the one place where a stored spec says whether a
    model reads frames or skeletons.
    """
    if not values:
        raise ModelError(
            "the model records no input spec (it was saved without one), so actscope cannot "
            "tell what it takes; save it with its input_spec"
        )
    kind = values.get("kind")
    if kind not in _SPEC_TYPES:
        raise ModelError(f"unknown input kind {kind!r}; known: {', '.join(_SPEC_TYPES)}")
    try:
        return _SPEC_TYPES[kind].from_dict(values)
    except ActscopeError as exc:
        raise ModelError(f"the model's input spec is malformed: {exc}") from None


@dataclass(frozen=True)
class WeightsInfo:
    """Trained weights for a model: where they come from and what they were trained for.

    ``source`` is one of ``package:<file>`` (shipped inside actscope, offline),
    ``torchvision:<Enum.MEMBER>``, ``hf:<hub id>`` or ``url:<address>`` (the last three
    need a network connection or a local copy given by path). ``sha256``, when given, is the
    hex digest a ``url:`` download must have.
    """

    name: str
    source: str
    classes: tuple[str, ...]
    licence: str
    metrics: dict[str, float] = field(default_factory=dict)
    dataset: str = ""
    sha256: str = ""

    @property
    def offline(self) -> bool:
        return self.source.startswith("package:")


@dataclass(frozen=True)
class ModelEntry:
    """A registered model: its builder, family, default input and known weights."""

    name: str
    family: Family
    builder: Callable[..., nn.Module]
    input: InputSpec
    weights: tuple[WeightsInfo, ...] = ()

    @property
    def summary(self) -> str:
        doc = (self.builder.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(
    name: str,
    *,
    family: Family,
    input: InputSpec,
    weights: tuple[WeightsInfo, ...] = (),
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator registering a builder under ``name``; the builder is returned unchanged."""

    def decorate(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is registered twice")
        _REGISTRY[name] = ModelEntry(name, family, builder, input, tuple(weights))
        return builder

    return decorate


def variant(
    make: Callable[..., nn.Module], name: str, summary: str, **fixed: Any
) -> Callable[..., nn.Module]:
    """A builder for one variant of a family: ``make(num_classes=..., **fixed, **kwargs)``
    (``num_classes`` defaults to Kinetics' 400; ``kwargs`` override ``fixed``), named
    ``name`` and documented by ``summary``, for the registry's listings."""

    def build(num_classes: int = 400, **kwargs: Any) -> nn.Module:
        return make(num_classes=num_classes, **{**fixed, **kwargs})

    build.__name__ = build.__qualname__ = name
    build.__doc__ = summary
    return build


def get_entry(name: str) -> ModelEntry:
    """The entry for ``name``; a :class:`ModelError` lists the known names when it is unknown.

    The module named after the model is tried first (``tcn_ms`` -> ``tcn_ms``, then ``tcn``),
    so that building one skeleton model does not import torchvision and every RGB family;
    any other name loads every family.
    """
    if name not in _REGISTRY:
        _load_module_named_after(name)
    if name not in _REGISTRY:
        _load_families()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise ModelError(f"unknown model {name!r}; known models: {known}") from None


def create_model(name: str, **kwargs) -> nn.Module:
    """Build model ``name`` with random weights; ``kwargs`` go to its builder
    (e.g. ``num_classes``)."""
    return get_entry(name).builder(**kwargs)


def list_models(family: Family | None = None) -> list[ModelEntry]:
    """Registered models, sorted by name, optionally of one ``family``."""
    _load_families()
    return [e for _, e in sorted(_REGISTRY.items()) if family is None or e.family == family]


def _load_module_named_after(name: str) -> None:
    import importlib
    import importlib.util

    if not name.replace("_", "").isalnum():
        return
    parts = name.split("_")
    for end in range(len(parts), 0, -1):
        module = f"{__package__}.{'_'.join(parts[:end])}"
        if module.rsplit(".", 1)[1] != "registry" and importlib.util.find_spec(module):
            importlib.import_module(module)
            return


def _load_families() -> None:
    """Import every module of :mod:`actscope.models` once, which registers its builders.

    Family modules therefore import heavy optional dependencies (transformers) inside their
    builders, never at module level.
    """
    global _LOADED
    if _LOADED:
        return
    import importlib
    import pkgutil
    from pathlib import Path

    for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if not module.name.startswith("_") and module.name != "registry":
            importlib.import_module(f"{__package__}.{module.name}")
    _LOADED = True


_LOADED = False
