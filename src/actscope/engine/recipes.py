"""Training recipes chosen from the data: what ``actscope train`` uses when no config says.

Two recipes, measured in docs/training.md:

- **in-domain** (:data:`IN_DOMAIN`), for 3D skeletons of a depth sensor in one joint layout
  (Kinect v1's 20 joints, Kinect v2's 25, OpenNI's 15, world coordinates in metres): a model
  that will read the same sensor. Four ``tcn`` streams (joint, bone, joint motion, bone
  motion) trained apart and fused by their mean score (``tcn_ms``), over the sensor's own
  joints, every frame centred on the pelvis and in torso lengths, real tempo (30 fps,
  96-frame window), with rotation, per-axis scale, shear, crop, noise and joint-dropout
  augmentation, 60 epochs (the recipe of
  ``configs/skeleton/utd_tcn_ensemble4_kinect_noise.yaml``). On UTKinect's segments (leave
  one subject out over its five subjects) it gave 94.0% top-1 where one ``tcn`` of the same
  recipe gave 88.7% (3 seeds each; docs/detection.md).
- **view-robust** (:data:`VIEW_ROBUST`), for everything else (2D keypoints, poses estimated
  from video, 3D of estimators such as MediaPipe, mixed layouts): the defaults, body15 joints
  seen from random cameras as 2D poses, so the model reads poses from ordinary video.

:func:`choose_recipe` looks at a few items of the dataset; :func:`apply_recipe` sets the
recipe's values on the config keys the user did not give (options, ``KEY=VALUE`` overrides
and a config file always win).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from actscope.datasets.base import DataConfig, dataset_root
from actscope.datasets.catalog import get_dataset
from actscope.datasets.recordings import RecordingSet
from actscope.datasets.skeleton_base import SkeletonDataset
from actscope.engine.config import TrainConfig, config_from_dict
from actscope.errors import ConfigError
from actscope.pose.skeleton import Skeleton

log = logging.getLogger(__name__)

SENSOR_LAYOUTS = ("kinect_v1_20", "ntu25", "openni15")
"""Joint layouts of depth sensors (Kinect v1, Kinect v2 / NTU RGB+D, OpenNI): 3D world
skeletons in one of these are a sensor's own measurements, not an estimator's guesses."""
INSPECTED = 8
"""Items looked at to choose a recipe (spread over the dataset)."""

IN_DOMAIN: dict[str, Any] = {
    "model": "tcn_ms",
    "model_kwargs.streams": ["joint", "bone", "joint_motion", "bone_motion"],
    "model_kwargs.fusion": "ensemble",
    "data.options.dims": 3,
    "data.options.normalize": "torso",
    "data.options.fps": 30.0,
    "data.options.frames": 96,
    "data.options.min_score": 0.0,
    "data.options.augment": "geometric",
    "data.options.augment_options": {
        "crop": [0.8, 1.0],
        "rotate": [11.5, 34.4, 11.5],  # degrees about x, y (vertical), z
        "scale": [0.85, 1.15],
        "shear": 0.2,
        "noise": 0.03,  # torso lengths (about 1.5 cm)
        "joint_dropout": 0.05,
    },
    "epochs": 60,
    "batch_size": 32,
    "optimizer.name": "adamw",
    "optimizer.lr": 0.003,
    "optimizer.weight_decay": 0.01,
    "schedule.name": "cosine",
    "schedule.warmup_epochs": 2.0,
    "label_smoothing": 0.1,
}
"""The in-domain recipe; ``data.options.layout`` is set to the data's own layout. Its
``model_kwargs`` go with its model only (a ``--model`` given drops them)."""
VIEW_ROBUST: dict[str, Any] = {"model": "tcn"}
"""The view-robust recipe: the defaults (body15, 2D, random-view augmentation)."""
RECIPES = ("auto", "in-domain", "view-robust", "none")


@dataclass(frozen=True)
class Recipe:
    """A named set of config values (dotted keys) and why it was chosen."""

    name: str
    reason: str
    values: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        """One line for the user: which recipe, why, and how to choose another."""
        return f"recipe: {self.name} ({self.reason}); --recipe or a config to change it"


def sample_skeletons(data: DataConfig, count: int = INSPECTED) -> tuple[list[Skeleton], bool]:
    """Up to ``count`` skeletons spread over the dataset ``data`` names (none for video
    datasets, whose items are clips), and whether they are untrimmed recordings."""
    entry = get_dataset(data.name)
    loaded = entry.load(dataset_root(entry, data.root))
    if isinstance(loaded, RecordingSet):
        items = [r.skeleton for r in loaded.recordings]
        return items[:: max(1, len(items) // count)][:count], True
    if not isinstance(loaded, SkeletonDataset):
        return [], False  # a video dataset
    step = max(1, len(loaded) // count)
    return [loaded[i].skeleton for i in range(0, len(loaded), step)][:count], False


def choose_recipe(
    skeletons: Iterable[Skeleton], name: str = "auto", *, untrimmed: bool = False
) -> Recipe:
    """The recipe for data like ``skeletons``: ``name`` if it names one, else, for
    ``auto``, in-domain for 3D world skeletons of one depth-sensor layout and view-robust
    for the rest. For ``untrimmed`` recordings (thousands of training windows) the
    in-domain recipe trains one ``tcn``: four streams were no better at detection on
    UTKinect and took four times as long."""
    if name not in RECIPES:
        raise ConfigError(f"unknown recipe {name!r}; use one of {', '.join(RECIPES)}")
    seen = list(skeletons)
    kinds = {(s.layout, s.space, s.channels) for s in seen}
    sensor = len(kinds) == 1 and next(iter(kinds)) in {(lay, "world", 3) for lay in SENSOR_LAYOUTS}
    described = ", ".join(sorted(f"{lay} {space} {c}D" for lay, space, c in kinds)) or "no items"
    if name == "none":
        return Recipe("none", "asked for: the plain defaults")
    if name == "view-robust" or (name == "auto" and not sensor):
        why = "asked for" if name != "auto" else f"data: {described}"
        return Recipe("view-robust", f"{why}: body15 2D poses from random views", VIEW_ROBUST)
    if not sensor:
        raise ConfigError(
            f"the in-domain recipe is for 3D world skeletons of one depth-sensor layout "
            f"({', '.join(SENSOR_LAYOUTS)}); this data holds {described}"
        )
    layout = next(iter(kinds))[0]
    why = "asked for" if name != "auto" else f"data: {layout} world 3D of a depth sensor"
    values = {**IN_DOMAIN, "data.options.layout": layout}
    model = "four tcn streams"
    if untrimmed:
        values = {k: v for k, v in values.items() if not k.startswith("model_kwargs.")}
        values["model"], model = "tcn", "one tcn"
    return Recipe(
        "in-domain",
        f"{why}: {model} on the sensor's own joints, torso-normalised, geometric augmentation",
        values,
    )


def apply_recipe(config: TrainConfig, recipe: Recipe, given: Iterable[str]) -> TrainConfig:
    """``config`` with ``recipe``'s values on every key not in ``given`` (the dotted keys the
    user set, e.g. ``data.options.dims``; a given key covers the keys below it, and a
    recipe's mapping, e.g. ``augment_options``, keeps the entries the user gave)."""
    given = set(given)
    values = config.to_dict()
    other_model = "model" in given and config.model != recipe.values.get("model", config.model)
    for key, value in recipe.values.items():
        if other_model and key.startswith("model_kwargs."):
            continue  # arguments of the recipe's model, not of the one given
        parts = key.split(".")
        if any(".".join(parts[: i + 1]) in given for i in range(len(parts))):
            continue
        target = values
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        if any(g.startswith(f"{key}.") for g in given):
            if not isinstance(value, dict):
                continue
            value = {**value, **(target.get(parts[-1]) or {})}
        target[parts[-1]] = value
    return config_from_dict(values)
