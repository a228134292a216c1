"""The everyday dataset: the real skeleton datasets pooled under one vocabulary.

Each source dataset's labels map to shared action names through a taxonomy file
(``everyday.yaml`` beside this module: ``source: {label: shared name or null}``), so that
"sitDown", "sit" and "stand to sit" train one class. Items keep their source
(:attr:`ItemRecord.source`), so a model trained on the pool is also tested on each source's
own test split. Sources mix 3D sensor skeletons (NW-UCLA, UTD-MHAD, MSR Action3D, UTKinect)
and 2D joints annotated on real video (JHMDB, Penn Action); training turns them all into the
same 2D features (view augmentation sees 3D skeletons from random cameras).

Protocols: every source's items train or test as under its own default protocol
(NW-UCLA cross-view, Penn Action's official split, UTD-MHAD and MSR Action3D cross-subject,
UTKinect with subject 1 held out), except that the pool's protocols ``split1``-``split3``
(default ``split1``) follow a source that defines protocols of those names (JHMDB's three
official splits). Test-only sources (:data:`TEST_ONLY`) give their own test items only.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from actscope.datasets.skeleton_base import ItemRecord, SkeletonDataset
from actscope.errors import DatasetError

TAXONOMY = Path(__file__).with_name("everyday.yaml")
"""The vocabulary of the default model."""
PROTOCOLS = ("split1", "split2", "split3")
TEST_ONLY = frozenset({"utd-mhad-openpose"})
"""Sources of the taxonomy that are only tested on, with their own test split only: poses
of the same trials as a source that trains (UTD-MHAD's OpenPose keypoints of its RGB
videos), whose training subjects' clips would repeat trials the model trained on."""

Taxonomy = dict[str, dict[str, str | None]]
Splitter = Callable[[SkeletonDataset, str], tuple[SkeletonDataset, SkeletonDataset]]


def load_taxonomy(path: str | os.PathLike = TAXONOMY) -> Taxonomy:
    """``{source dataset: {its label: shared name, or None to leave it out}}``."""
    try:
        content = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise DatasetError(f"{path}: cannot read the taxonomy ({exc})") from None
    if not isinstance(content, dict) or not all(isinstance(v, dict) for v in content.values()):
        raise DatasetError(f"{path}: a taxonomy maps each dataset to {{label: shared name}}")
    return {
        str(source): {str(k): (None if v is None else str(v)) for k, v in labels.items()}
        for source, labels in content.items()
    }


def pool(
    sources: Mapping[str, SkeletonDataset],
    taxonomy: Taxonomy,
    split: Splitter,
    *,
    leave_out_classes: Iterable[str] = (),
) -> SkeletonDataset:
    """One dataset of the ``sources`` (by catalog name) under the ``taxonomy``'s shared
    names, sorted; ``split(dataset, protocol)`` is the catalog's splitter (a source's
    default protocol is ``""``). ``leave_out_classes`` (shared names) are dropped, e.g. to
    measure how a model meets actions it never saw."""
    dropped = set(leave_out_classes)
    names = {n for s in sources for n in taxonomy[s].values() if n is not None}
    unknown = dropped - names
    if unknown:
        raise DatasetError(f"no class {', '.join(sorted(unknown))} in the taxonomy")
    classes = sorted(names - dropped)
    index = {name: i for i, name in enumerate(classes)}
    records: list[ItemRecord] = []
    readers: dict[Path, Callable[[Path], Any]] = {}
    for source, dataset in sources.items():
        mapping = taxonomy.get(source)
        if mapping is None:
            raise DatasetError(f"the taxonomy has no entry for {source}")
        missing = [c for c in dataset.class_names if c not in mapping]
        if missing:
            raise DatasetError(f"the taxonomy does not map {source}'s {', '.join(missing)}")
        train_in = _training_protocols(source, dataset, split)
        records_of = dataset.records
        if source in TEST_ONLY:  # its own test part: the rest shows trials that train
            records_of = split(dataset, "")[1].records
        for record in records_of:
            shared = mapping[dataset.class_names[record.label]]
            if shared is None or shared in dropped:
                continue
            records.append(
                dataclasses.replace(
                    record,
                    label=index[shared],
                    train_in=train_in.get(record.path, frozenset()),
                    source=source,
                )
            )
            readers[record.path] = dataset.reader
    if not records:
        raise DatasetError("the pooled dataset is empty; check the sources and the taxonomy")
    return SkeletonDataset(
        "everyday",
        records,
        classes,
        lambda path: readers[path](path),
        protocols=PROTOCOLS,
        default_protocol=PROTOCOLS[0],
    )


def _training_protocols(
    source: str, dataset: SkeletonDataset, split: Splitter
) -> dict[Path, frozenset[str]]:
    """Under which of :data:`PROTOCOLS` each item of ``source`` trains."""
    if source in TEST_ONLY:
        return {}
    out: dict[Path, set[str]] = {}
    for protocol in PROTOCOLS:
        own = protocol if protocol in dataset.protocols else ""
        train, _ = split(dataset, own)
        for record in train.records:
            out.setdefault(record.path, set()).add(protocol)
    return {path: frozenset(protocols) for path, protocols in out.items()}
