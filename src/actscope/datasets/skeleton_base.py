"""Skeleton datasets: items, lazily read sequences, and subject/camera splits.

A :class:`SkeletonDataset` knows every item's label, subject and trial from the file names
(no file is read to build it) and reads a sequence the first time it is asked for (then
keeps it: these datasets are small). Splits are plain functions returning two datasets.

Protocols: besides the generic ``cross-subject`` (the dataset's :attr:`train_subjects`),
``cross-view`` (its :attr:`train_cameras`) and ``subjects=...``, a dataset may define named
protocols of its own (JHMDB's ``split1``-``split3``, SBU's ``fold1``-``fold5``): it lists
their names in :attr:`SkeletonDataset.protocols` and each :class:`ItemRecord` names, in
``train_in``, those under which it is a training item (it is a test item under the others).
:func:`protocol_split` splits by one of them; :attr:`SkeletonDataset.default_protocol` is the
one a dataset is evaluated with when none is named.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from actscope.errors import DatasetError
from actscope.pose.cleaning import drop_empty_frames, repair_jumps
from actscope.pose.skeleton import Skeleton

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SkeletonItem:
    """One sequence: its skeleton, class index (0-based), subject, trial and file."""

    skeleton: Skeleton
    label: int
    subject: int
    trial: int
    path: Path


@dataclass(frozen=True)
class ItemRecord:
    """What a dataset knows about an item before reading it. ``camera`` and ``setup`` are
    given by multi-view datasets (NTU RGB+D) and 0 otherwise. ``train_in`` names the
    dataset-defined protocols under which the item is a training item; ``source`` names the
    dataset an item of a pooled dataset comes from (empty otherwise)."""

    path: Path
    label: int
    subject: int
    trial: int
    camera: int = 0
    setup: int = 0
    train_in: frozenset[str] = frozenset()
    source: str = ""


class SkeletonDataset(Sequence[SkeletonItem]):
    """A list of :class:`SkeletonItem`, read on first access through ``reader``.

    ``train_subjects`` are the training subjects of the dataset's standard cross-subject
    protocol (used by :func:`cross_subject`), ``train_cameras`` the training cameras of its
    cross-view protocol (:func:`cross_view`). ``protocols`` names the protocols the dataset
    defines through its records' ``train_in`` (:func:`protocol_split`); ``default_protocol``
    is the protocol used when none is named (any known to :func:`known_protocols`).
    """

    def __init__(
        self,
        name: str,
        records: Sequence[ItemRecord],
        class_names: Sequence[str],
        reader: Callable[[Path], Skeleton],
        *,
        train_subjects: Iterable[int] = (),
        train_cameras: Iterable[int] = (),
        protocols: Iterable[str] = (),
        default_protocol: str = "cross-subject",
        _cache: dict[Path, Skeleton] | None = None,
    ) -> None:
        self.name = name
        self.records = list(records)
        self.class_names = list(class_names)
        self.reader = reader
        self.train_subjects = tuple(train_subjects)
        self.train_cameras = tuple(train_cameras)
        self.protocols = tuple(protocols)
        self.default_protocol = default_protocol
        self._cache = {} if _cache is None else _cache
        defined = set(self.protocols)
        for record in self.records:
            if not 0 <= record.label < len(self.class_names):
                raise DatasetError(
                    f"{record.path}: class index {record.label} is outside the "
                    f"{len(self.class_names)} classes of {name}"
                )
            if not record.train_in <= defined:
                unknown = ", ".join(sorted(record.train_in - defined))
                raise DatasetError(f"{record.path}: protocol(s) {unknown} not defined by {name}")

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> SkeletonItem:  # type: ignore[override]
        record = self.records[index]
        skeleton = self._cache.get(record.path)
        if skeleton is None:
            skeleton = self._cache[record.path] = self.reader(record.path)
        return SkeletonItem(skeleton, record.label, record.subject, record.trial, record.path)

    def __iter__(self) -> Iterator[SkeletonItem]:
        return (self[i] for i in range(len(self)))

    def __repr__(self) -> str:
        return (
            f"SkeletonDataset({self.name!r}, {len(self)} items, {len(self.class_names)} "
            f"classes, {len(set(self.subjects.tolist()))} subjects)"
        )

    @property
    def labels(self) -> np.ndarray:
        """``(N,)`` class index of every item."""
        return np.array([r.label for r in self.records], dtype=np.int64)

    @property
    def subjects(self) -> np.ndarray:
        """``(N,)`` subject of every item."""
        return np.array([r.subject for r in self.records], dtype=np.int64)

    def subset(self, indices: Iterable[int]) -> SkeletonDataset:
        """The items at ``indices`` (sharing already read sequences)."""
        return SkeletonDataset(
            self.name,
            [self.records[i] for i in indices],
            self.class_names,
            self.reader,
            train_subjects=self.train_subjects,
            train_cameras=self.train_cameras,
            protocols=self.protocols,
            default_protocol=self.default_protocol,
            _cache=self._cache,
        )

    def where(self, keep: Callable[[ItemRecord], bool]) -> SkeletonDataset:
        """The items whose record satisfies ``keep``."""
        return self.subset(i for i, record in enumerate(self.records) if keep(record))


def _split_by(
    dataset: SkeletonDataset, field: str, chosen: Iterable[int]
) -> tuple[SkeletonDataset, SkeletonDataset]:
    """(train, test): the items whose record's ``field`` is one of ``chosen``, and the rest."""
    chosen = set(chosen)
    if not chosen:
        raise DatasetError(f"{dataset.name} has no standard training {field}s; name them")
    return (
        dataset.where(lambda r: getattr(r, field) in chosen),
        dataset.where(lambda r: getattr(r, field) not in chosen),
    )


def cross_subject(
    dataset: SkeletonDataset, train_subjects: Iterable[int] | None = None
) -> tuple[SkeletonDataset, SkeletonDataset]:
    """(train, test): items of ``train_subjects`` (default: the dataset's standard
    protocol) and of every other subject."""
    chosen = dataset.train_subjects if train_subjects is None else train_subjects
    return _split_by(dataset, "subject", chosen)


def cross_view(
    dataset: SkeletonDataset, train_cameras: Iterable[int] | None = None
) -> tuple[SkeletonDataset, SkeletonDataset]:
    """(train, test) by camera: items of ``train_cameras`` (default: the dataset's standard
    cross-view protocol, e.g. NTU RGB+D's cameras 2 and 3, NW-UCLA's 1 and 2) and the rest."""
    if not any(r.camera for r in dataset.records):
        raise DatasetError(f"{dataset.name} records no cameras; cross-view needs a multi-view set")
    chosen = dataset.train_cameras if train_cameras is None else train_cameras
    return _split_by(dataset, "camera", chosen)


def protocol_split(
    dataset: SkeletonDataset, protocol: str
) -> tuple[SkeletonDataset, SkeletonDataset]:
    """(train, test) under one of the dataset's own protocols (:attr:`~SkeletonDataset.protocols`):
    the items whose record names ``protocol`` in ``train_in``, and all the others."""
    if protocol not in dataset.protocols:
        known = ", ".join(dataset.protocols) or "none"
        raise DatasetError(f"{dataset.name} defines no protocol {protocol!r}; its own: {known}")
    return (
        dataset.where(lambda r: protocol in r.train_in),
        dataset.where(lambda r: protocol not in r.train_in),
    )


def known_protocols(dataset: SkeletonDataset) -> list[str]:
    """The protocol names ``dataset`` can be split by, its default first when it is one."""
    names = list(dataset.protocols)
    if dataset.train_subjects:
        names.append("cross-subject")
    if dataset.train_cameras:
        names.append("cross-view")
    if any(r.subject for r in dataset.records):
        names.append("subjects=1,3,5")
    if dataset.default_protocol in names:
        names.remove(dataset.default_protocol)
        names.insert(0, dataset.default_protocol)
    return names


def check_folder(root: str | os.PathLike, what: str) -> Path:
    """``root`` as a Path; a :class:`DatasetError` if it is not a folder."""
    folder = Path(root)
    if not folder.is_dir():
        raise DatasetError(f"{folder}: no such folder; give the {what} folder")
    return folder


def tidy(skeleton: Skeleton, max_jump: float) -> Skeleton:
    """``skeleton`` without frames where no joint was tracked, and with joints that jump
    more than ``max_jump`` between frames (tracker glitches) interpolated; each repair is
    logged with the skeleton's source."""
    name = skeleton.source
    skeleton, dropped = drop_empty_frames(skeleton)
    if dropped:
        log.info("%s: dropped %d frames with no joint", name, dropped)
    if not skeleton.num_frames:
        log.warning("%s: no frame has a joint; the sequence has no frames left", name)
    skeleton, repaired = repair_jumps(skeleton, max_jump)
    if repaired:
        log.info("%s: interpolated %d glitched joint positions", name, repaired)
    return skeleton


def read_lines(path: str | os.PathLike) -> list[str]:
    """The lines of a text file; a one-line :class:`DatasetError` if it cannot be read."""
    name = os.fspath(path)
    try:
        with open(name) as handle:
            return handle.read().splitlines()
    except FileNotFoundError:
        raise DatasetError(f"{name}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{name}: cannot be read as text ({exc})") from None


def read_csv_rows(path: str | os.PathLike, what: str, columns: str) -> list[list[str]]:
    """The rows of a CSV file that lists a dataset's ``what`` (e.g. ``"labels"``); a missing
    file is a :class:`DatasetError` saying to write one with ``columns``."""
    try:
        with open(path, newline="") as handle:
            return list(csv.reader(handle))
    except FileNotFoundError:
        raise DatasetError(f"{path}: no {what} file; write one with columns {columns}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot be read ({exc})") from None


def read_number_rows(path: str | os.PathLike, values: int, layout: str) -> np.ndarray:
    """The comma-separated numbers of a text file, ``values`` per non-blank line (``layout``
    describes them in errors), as ``(rows, values)`` float32."""
    name = os.fspath(path)
    rows = []
    for number, line in enumerate(read_lines(name), 1):
        if not line.strip():
            continue
        fields = line.split(",")
        if len(fields) != values:
            raise DatasetError(
                f"{name}:{number}: expected {values} comma-separated values ({layout}), "
                f"found {len(fields)}"
            )
        try:
            rows.append([float(f) for f in fields])
        except ValueError:
            raise DatasetError(f"{name}:{number}: not a number in {line.strip()[:60]!r}") from None
    if not rows:
        raise DatasetError(f"{name}: no rows of numbers; the file is empty")
    return np.asarray(rows, np.float32)


def read_json(path: str | os.PathLike, what: str) -> Any:
    """The JSON content of a file of a dataset (``what`` names it in errors); a one-line
    :class:`DatasetError` if it is missing or not JSON."""
    name = os.fspath(path)
    try:
        with open(name) as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise DatasetError(f"{name}: missing; give the {what} folder") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{name}: not readable JSON ({exc}); re-download it") from None


def records_from_names(
    files: Iterable[Path], pattern: re.Pattern[str], form: str
) -> list[ItemRecord]:
    """One record per file whose name ``pattern`` matches with three numbers, action
    (1-based), subject and trial, as in UTD-MHAD's ``a3_s1_t2``; ``form`` describes the
    name for the error when a file does not match."""
    records = []
    for path in files:
        match = pattern.search(path.name)
        if match is None:
            raise DatasetError(f"{path}: name is not {form}")
        action, subject, trial = (int(g) for g in match.groups())
        records.append(ItemRecord(Path(path), action - 1, subject, trial))
    return records
