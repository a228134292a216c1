"""What the dataset catalog and its loaders share: a dataset's entry, what training gets from
it, and where its folder is. (Its own module so that loaders can use these types without
importing the catalog, which imports every loader.)"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actscope.errors import ConfigError

if TYPE_CHECKING:  # imported for annotations only: this module stays light (no torch)
    from torch.utils.data import Dataset

    from actscope.models.registry import InputSpec

DATA_ENV = "ACTSCOPE_DATA"
"""Environment variable naming the folder that holds the datasets (default ``../shared/data``)."""


@dataclass
class DataConfig:
    """Which dataset a run trains on: its catalog ``name``, its folder ``root`` (default:
    ``$ACTSCOPE_DATA``/its usual folder), the split ``protocol`` (default: the dataset's
    standard one) and loader ``options`` (see :mod:`actscope.datasets.catalog`)."""

    name: str = ""
    root: str = ""
    protocol: str = ""
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainingData:
    """What a training run needs from its dataset: the torch datasets of ``(input, label)``
    pairs, the class names, the input spec that checkpoints carry for inference, the model
    keyword arguments the input implies, extra test sets evaluated at the end, and held-out
    training items to calibrate the "unknown action" threshold on (``calibration``)."""

    train: Dataset
    test: Dataset | None
    class_names: list[str]
    input_spec: InputSpec
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    extra_tests: dict[str, Dataset] = field(default_factory=dict)
    calibration: Dataset | None = None


@dataclass(frozen=True)
class DatasetEntry:
    """A dataset actscope knows by name: its loader and the folder it usually sits in.

    Skeleton datasets give ``load(root, **options)``, a
    :class:`~actscope.datasets.SkeletonDataset`; ``options`` names the ``data.options`` the
    loader takes (none for most).
    Video datasets build their torch datasets themselves (decoding, clip sampling):
    ``training(data_config, model_name, root) -> TrainingData`` and
    ``evaluation(name, root, protocol, input_spec, part) -> (Dataset, class names)``.
    """

    name: str
    folder: str
    load: Callable[[Path], Any]
    summary: str
    training: Callable[[Any, str, Path], TrainingData] | None = None
    evaluation: Callable[..., tuple[Dataset, list[str]]] | None = None
    options: tuple[str, ...] = ()


def dataset_root(entry: DatasetEntry, root: str | os.PathLike = "") -> Path:
    """``root`` if given, else the entry's folder under ``$ACTSCOPE_DATA`` (default
    ``../shared/data``)."""
    if root:
        return Path(root)
    if not entry.folder:
        raise ConfigError(f"dataset {entry.name!r} needs a folder; give it with --root")
    return Path(os.environ.get(DATA_ENV, "../shared/data")) / entry.folder
