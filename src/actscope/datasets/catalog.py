"""Datasets by name, ready for training: ``--dataset utd-mhad --protocol cross-subject``.

:func:`training_data` turns a run's :class:`~actscope.datasets.base.DataConfig` into torch
datasets of ``(input, label)`` pairs, the class names, the input spec that checkpoints carry
for inference, and the model keyword arguments the input implies. Skeleton datasets become
:class:`~actscope.pose.features.BodyFeatures` tensors ``(C, T, 15, M)``; training items go
through :class:`~actscope.datasets.view_augment.RandomViewTransform` unless
``options.augment`` is ``"none"``.

``data.options`` keys for skeleton datasets: the fields of
:class:`~actscope.pose.features.BodyFeatures`, read by its ``from_dict`` as checkpoints are
(``dims``: 2 or 3, default 2, the form that poses from ordinary video share; ``frames``,
default the model's registered frames; ``persons``; ``min_score``, 0.3: joints scored lower
count as missing; ``layout``: ``body15``, or the dataset's own layout, e.g. ``kinect_v1_20``,
for models that will only see that sensor; ``normalize``: ``limb`` or ``torso``; ``fps``: 0
stretches each sequence over the frames, a rate keeps real tempo; ``use_scores``: false
scores every placed joint 1; ``window_seconds``: default the median training sequence), and
``augment`` (``"view"``: sensor
transfer, :class:`~actscope.datasets.view_augment.RandomViewTransform`; ``"geometric"``:
in-domain, :class:`~actscope.datasets.geometric_augment.RandomGeometricTransform`;
``"none"``), ``augment_options`` (fields of the chosen transform), ``test_datasets`` (other
dataset names whose test split is evaluated at the end of the run, e.g.
``[utd-mhad-openpose]``).
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from actscope.datasets.base import DataConfig, DatasetEntry, TrainingData, dataset_root
from actscope.datasets.skeleton_input import (  # noqa: F401 (re-exported names)
    SKELETON_OPTIONS,
    TRAINING_OPTIONS,
    model_kwargs,
    skeleton_input,
)
from actscope.errors import ConfigError, DatasetError
from actscope.models.registry import InputSpec
from actscope.pose.features import BodyFeatures

logger = logging.getLogger(__name__)


def _skeleton_loaders() -> dict[str, DatasetEntry]:
    from actscope import datasets as d
    from actscope.datasets import recordings as r

    return {
        entry.name: entry
        for entry in (
            DatasetEntry(
                "utd-mhad",
                "utd_mhad",
                d.load_utd_mhad,
                "UTD-MHAD Kinect skeletons, 27 actions, 8 subjects",
            ),
            DatasetEntry(
                "msr-action3d",
                "msr_action3d",
                d.load_msr_action3d,
                "MSR Action3D Kinect skeletons, 20 actions, 10 subjects",
            ),
            DatasetEntry(
                "msr-action3d-cvpr12",
                "msr_action3d",
                partial(d.load_msr_action3d, subset="cvpr12"),
                "MSR Action3D, the 557 sequences most papers use (files_used_in_cvpr12_paper)",
            ),
            DatasetEntry(
                "utd-mhad-openpose",
                "utd_mhad_openpose",
                d.load_utd_mhad_openpose,
                "UTD-MHAD RGB videos as OpenPose 2D keypoints, 27 actions",
            ),
            DatasetEntry(
                "ntu",
                "ntu_rgbd",
                d.load_ntu,
                "NTU RGB+D skeleton files (60/120 actions)",
            ),
            DatasetEntry(
                "nw-ucla",
                "nw_ucla",
                d.load_nw_ucla,
                "NW-UCLA Kinect skeletons, 10 everyday actions, 3 cameras; cross-view",
            ),
            DatasetEntry(
                "jhmdb",
                "jhmdb",
                d.load_jhmdb,
                "JHMDB 2D joints of movie/web clips, 14 actions; split1 (default)-split3",
            ),
            DatasetEntry(
                "penn-action",
                "penn_action",
                d.load_penn_action,
                "Penn Action 2D joints of sports/exercise clips, 15 actions; official split",
            ),
            DatasetEntry(
                "sbu",
                "sbu_interaction",
                d.load_sbu,
                "SBU Kinect Interaction, two people, 8 interactions; fold1 (default)-fold5",
            ),
            DatasetEntry(
                "utkinect",
                "utkinect_dev",
                d.load_utkinect,
                "UTKinect actions cut from untrimmed Kinect recordings, 10 actions; loso-s<N>",
            ),
            DatasetEntry(
                "everyday",
                ".",
                _load_everyday,
                "every real skeleton set above pooled under one everyday vocabulary "
                "(everyday.yaml); split1 (default)-split3 follow JHMDB's",
                options=("sources", "leave_out_classes"),
            ),
            DatasetEntry(
                "utkinect-recordings",
                "utkinect_dev",
                r.load_utkinect_recording_set,
                "UTKinect's whole recordings with their labelled actions and background between "
                "them, for detection; loso-s<N>",
                training=partial(r.recordings_training_data, r.load_utkinect_recording_set),
                evaluation=partial(r.recordings_evaluation_data, r.load_utkinect_recording_set),
            ),
            DatasetEntry(
                "recording-folder",
                "",
                r.load_recording_folder,
                "untrimmed .npz recordings with the segments listed in segments.csv, for "
                "detection (background learned between the segments)",
                training=partial(r.recordings_training_data, r.load_recording_folder),
                evaluation=partial(r.recordings_evaluation_data, r.load_recording_folder),
            ),
            DatasetEntry(
                "skeleton-folder",
                "",
                d.load_skeleton_folder,
                "a folder of .npz skeletons listed in labels.csv",
            ),
            DatasetEntry(
                "video-poses",
                "",
                d.load_video_folder,
                "a folder of videos listed in labels.csv, as MediaPipe poses",
            ),
        )
    }


DATASETS: dict[str, DatasetEntry] = {}


def dataset_names() -> list[str]:
    return sorted(_entries())


def _entries() -> dict[str, DatasetEntry]:
    if not DATASETS:
        DATASETS.update(_skeleton_loaders())
        DATASETS.update(_video_loaders())
    return DATASETS


def _video_loaders() -> dict[str, DatasetEntry]:
    from actscope.datasets import video_data as v

    common = {"training": v.video_training_data, "evaluation": v.video_evaluation_data}
    return {
        "video-folder": DatasetEntry(
            "video-folder",
            "",
            v.scan_folder,
            "videos in one folder per class, ROOT/<class>/<video> (UCF101 layout)",
            **common,
        ),
        "kinetics-csv": DatasetEntry(
            "kinetics-csv",
            "",
            v.read_csv_list,
            "videos listed in CSV files (Kinetics label,youtube_id,... or path,label)",
            **common,
        ),
    }


def get_dataset(name: str) -> DatasetEntry:
    entries = _entries()
    if name not in entries:
        raise ConfigError(f"unknown dataset {name!r}; known: {', '.join(sorted(entries))}")
    return entries[name]


def _load_everyday(
    root: Path, sources: list[str] | None = None, leave_out_classes: list[str] | None = None
) -> Any:
    """The pooled dataset of :mod:`actscope.datasets.everyday`: ``sources`` (catalog names;
    default: every source of the taxonomy) from their folders under ``root``."""
    from actscope.datasets.everyday import load_taxonomy, pool

    taxonomy = load_taxonomy()
    names = list(sources) if sources else list(taxonomy)
    unknown = [n for n in names if n not in taxonomy]
    if unknown:
        raise ConfigError(f"data option sources: {', '.join(unknown)} not in the taxonomy")
    loaded = {}
    for name in names:
        entry = get_dataset(name)
        loaded[name] = _with_motion(entry.load(Path(root) / entry.folder))
    return pool(loaded, taxonomy, split, leave_out_classes=leave_out_classes or ())


def split(dataset: Any, protocol: str) -> tuple[Any, Any]:
    """(train, test) items of a skeleton dataset under ``protocol``: one the dataset defines
    itself (JHMDB's ``split1``, SBU's ``fold1``, ...), ``cross-subject`` (its standard
    training subjects), ``cross-view`` (its standard training cameras), or ``subjects=1,3,5``
    (train on those subjects, test on the rest); empty: the dataset's default protocol."""
    from actscope.datasets import cross_subject, cross_view, known_protocols, protocol_split

    protocol = protocol or getattr(dataset, "default_protocol", "") or "cross-subject"
    known = known_protocols(dataset)
    if protocol in getattr(dataset, "protocols", ()):
        return protocol_split(dataset, protocol)
    if protocol == "cross-subject" and protocol in known:
        return cross_subject(dataset)
    if protocol == "cross-view" and protocol in known:
        return cross_view(dataset)
    if protocol.startswith("subjects="):
        try:
            chosen = [int(s) for s in protocol.split("=", 1)[1].split(",") if s.strip()]
        except ValueError:
            raise ConfigError(f"protocol {protocol!r}: give subjects=1,3,5 (numbers)") from None
        return cross_subject(dataset, chosen)
    raise ConfigError(
        f"unknown protocol {protocol!r} for {dataset.name}; known: {', '.join(known) or 'none'}"
    )


def training_data(data: DataConfig, model: str) -> TrainingData:
    """Train and test sets of ``data`` for the registered ``model``."""
    entry = get_dataset(data.name)
    if entry.training is not None:
        return entry.training(data, model, dataset_root(entry, data.root))
    return _skeleton_training_data(entry, data, model)


def _skeleton_training_data(entry: DatasetEntry, data: DataConfig, model: str) -> TrainingData:
    from actscope.datasets.skeleton_torch import SkeletonTorchDataset

    options = dict(data.options)
    features, train_transform, given = skeleton_input(options, model, extra=entry.options)
    loader_options = {k: v for k, v in options.items() if k in entry.options}
    items = _with_motion(entry.load(dataset_root(entry, data.root), **loader_options))
    train_items, test_items = split(items, data.protocol)
    if options.get("shots"):
        train_items = per_class(
            train_items, int(options["shots"]), int(options.get("shots_seed", 0))
        )
    calibration = None
    if options.get("calibration"):
        train_items, calibration = held_out(train_items, float(options["calibration"]))
    if len(train_items) == 0:
        raise DatasetError(f"{entry.name}: no training items under protocol {data.protocol!r}")
    extra = {
        # a pooled dataset is also tested on each source's own test items
        source: SkeletonTorchDataset(items, features, cache=True)
        for source, items in by_source(test_items).items()
    }
    for name in options.get("test_datasets") or []:
        other = get_dataset(name)
        other_items = _with_motion(other.load(dataset_root(other)))
        if list(other_items.class_names) != list(items.class_names):
            raise DatasetError(f"{name} has other classes than {entry.name}; cannot test on it")
        extra[name] = SkeletonTorchDataset(
            split(other_items, data.protocol)[1], features, cache=True
        )
    if "window_seconds" not in given:
        features = features.replace(window_seconds=_typical_seconds(train_items))
    return TrainingData(
        train=SkeletonTorchDataset(train_items, train_transform),
        test=SkeletonTorchDataset(test_items, features, cache=True) if len(test_items) else None,
        class_names=list(items.class_names),
        input_spec=features,
        model_kwargs=model_kwargs(features),
        extra_tests=extra,
        calibration=SkeletonTorchDataset(calibration, features, cache=True)
        if calibration is not None
        else None,
    )


def per_class(items: Any, shots: int, seed: int) -> Any:
    """``shots`` items of every class of ``items`` (all of a class that has fewer), drawn
    with a generator seeded by ``seed``: few-shot training sets."""
    if shots < 1:
        raise ConfigError(f"data option shots must be at least 1, got {shots}")
    rng = np.random.default_rng(seed)
    labels = items.labels
    chosen = [
        int(i)
        for label in np.unique(labels)
        for i in sorted(rng.permutation(np.flatnonzero(labels == label))[:shots])
    ]
    return items.subset(sorted(chosen))


def held_out(items: Any, fraction: float) -> tuple[Any, Any]:
    """``items`` split into what trains and a ``fraction`` of every class held out (at
    least one item of each class with two or more), the same for every seed: data to
    calibrate on that neither trains the model nor is its test split."""
    if not 0 < fraction < 1:
        raise ConfigError(f"data option calibration must be in (0, 1), got {fraction}")
    rng = np.random.default_rng(12345)
    labels = items.labels
    kept = []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        count = max(1, round(fraction * len(members))) if len(members) > 1 else 0
        kept += members[:count].tolist()
    chosen = set(kept)
    rest = [i for i in range(len(items)) if i not in chosen]
    return items.subset(rest), items.subset(sorted(chosen))


def per_source_tests(name: str, protocol: str = "", root: str = "") -> dict[str, Any]:
    """The test items of the skeleton dataset ``name`` under ``protocol`` (its default when
    empty), as training tests them: ``{name: items}``, and for a pooled dataset one entry
    per source as well."""
    entry = get_dataset(name)
    _, test = split(_with_motion(entry.load(dataset_root(entry, root))), protocol)
    return {name: test, **by_source(test)}


def by_source(items: Any) -> dict[str, Any]:
    """A pooled dataset's items split by the source dataset they came from, sorted by name
    (empty for a dataset that is not pooled)."""
    sources = sorted({r.source for r in items.records if r.source})
    return {s: items.where(lambda r, s=s: r.source == s) for s in sources}


def _with_motion(items: Any) -> Any:
    """``items`` without sequences of fewer than 2 frames (e.g. MSR Action3D's
    ``a13_s09_e02``, all zeros, i.e. no tracked frame), each named in a log line."""
    empty = [i for i, item in enumerate(items) if item.skeleton.num_frames < 2]
    for i in empty:
        logger.warning("%s: fewer than 2 frames; left out", items.records[i].path)
    left_out = set(empty)
    return items.subset(i for i in range(len(items)) if i not in left_out) if empty else items


def _typical_seconds(items: Any) -> float:
    """Median duration of the training sequences (s), rounded to 0.1 s: the window a
    detector slides over long recordings."""
    seconds = [item.skeleton.duration for item in items]
    return round(float(np.median(seconds)), 1)


def evaluation_data(
    name: str, root: str, protocol: str, input_spec: InputSpec, part: str = "test"
) -> tuple[Dataset, list[str]]:
    """The ``part`` (``test``, ``train`` or ``all``) of dataset ``name`` as a model with
    ``input_spec`` reads it, and the dataset's class names."""
    from actscope.datasets.skeleton_torch import SkeletonTorchDataset

    entry = get_dataset(name)
    if entry.evaluation is not None:
        return entry.evaluation(name, dataset_root(entry, root), protocol, input_spec, part)
    if not isinstance(input_spec, BodyFeatures):
        raise ConfigError(f"the model takes video clips; {name} holds skeletons")
    items = _with_motion(entry.load(dataset_root(entry, root)))
    if part != "all":
        train_items, test_items = split(items, protocol)
        items = test_items if part == "test" else train_items
    return SkeletonTorchDataset(items, input_spec), list(items.class_names)
