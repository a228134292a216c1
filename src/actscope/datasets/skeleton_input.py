"""What a skeleton model reads in training, from a run's ``data.options``: its
:class:`~actscope.pose.features.BodyFeatures` and the training transform (augmentation).

Shared by the trimmed skeleton datasets of :mod:`actscope.datasets.catalog` and the
untrimmed recordings of :mod:`actscope.datasets.recordings`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any

import torch

from actscope.errors import ConfigError
from actscope.models.registry import get_entry
from actscope.pose.features import BodyFeatures
from actscope.pose.layouts import BODY15
from actscope.pose.skeleton import Skeleton

TRAINING_OPTIONS = (
    "augment",
    "augment_options",
    "test_datasets",
    "shots",
    "shots_seed",
    "calibration",
)
"""``data.options`` of skeleton datasets besides the fields of
:class:`~actscope.pose.features.BodyFeatures`."""
SKELETON_OPTIONS = (*(f.name for f in fields(BodyFeatures)), *TRAINING_OPTIONS)

Transform = Callable[[Skeleton], torch.Tensor]


def skeleton_input(
    options: Mapping[str, Any], model: str, extra: tuple[str, ...] = ()
) -> tuple[BodyFeatures, Transform, dict[str, Any]]:
    """The features (the model's registered frames, the features' own defaults for the
    rest), the training transform ``options["augment"]`` names (``view``, ``geometric`` or
    ``none``), and the feature options given. Keys in ``extra`` are a dataset's own and
    left alone; any other unknown key is a :class:`ConfigError`."""
    registered = get_entry(model).input
    if not isinstance(registered, BodyFeatures):
        raise ConfigError(f"{model} is an RGB model; the dataset holds skeletons")
    given = {k: v for k, v in options.items() if k not in (*TRAINING_OPTIONS, *extra)}
    unknown = set(given) - set(SKELETON_OPTIONS)
    if unknown:
        raise ConfigError(
            f"unknown data option(s) {', '.join(sorted(unknown))}; known: "
            f"{', '.join((*SKELETON_OPTIONS, *extra))}"
        )
    features = BodyFeatures.from_dict({"frames": registered.frames, **given})
    return features, training_transform(features, options), given


def training_transform(features: BodyFeatures, options: Mapping[str, Any]) -> Transform:
    """The augmentation ``options["augment"]`` names (default ``view``) around ``features``."""
    from actscope.datasets.geometric_augment import RandomGeometricTransform
    from actscope.datasets.view_augment import RandomViewTransform

    augment = options.get("augment", "view")
    if augment == "view":
        if features.normalize != "limb":
            raise ConfigError("augment=view makes limb-normalised body15 features; use geometric")
        return RandomViewTransform(features, **augment_options(options, augment))
    if augment == "geometric":
        return RandomGeometricTransform(features, **augment_options(options, augment))
    if augment == "none":
        return features
    raise ConfigError(f"data option augment={augment!r}; use view, geometric or none")


def augment_options(options: Mapping[str, Any], augment: str) -> dict[str, Any]:
    """``options["augment_options"]`` checked against the fields of the chosen transform."""
    from actscope.datasets.geometric_augment import RandomGeometricTransform
    from actscope.datasets.view_augment import RandomViewTransform

    transform = RandomViewTransform if augment == "view" else RandomGeometricTransform
    given = dict(options.get("augment_options") or {})
    known = {f.name for f in fields(transform)} - {"features"}
    unknown = set(given) - known
    if unknown:
        raise ConfigError(
            f"unknown augment option(s) {', '.join(sorted(unknown))}; known: "
            f"{', '.join(sorted(known))}"
        )
    return {k: tuple(v) if isinstance(v, list) else v for k, v in given.items()}


def model_kwargs(features: BodyFeatures) -> dict[str, Any]:
    """The model keyword arguments ``features`` imply: channels, score channel, graph."""
    return {
        "in_channels": features.channels,
        "score_channel": features.dims,
        # body15 is the models' default graph; another layout is named
        **({"graph": features.layout} if features.layout != BODY15.name else {}),
    }
