"""Users' own skeleton data: a folder of ``.npz`` skeletons, or of videos, plus a CSV of labels.

The CSV (default ``labels.csv`` in the folder) has a header and the columns ``file`` (path
relative to the folder) and ``label`` (class name), and optionally ``subject`` and
``trial`` (whole numbers)::

    file,label,subject,trial
    clips/wave_01.npz,wave,1,1
    clips/squat_01.npz,squat,2,1

For :func:`load_video_folder` the files are videos; their poses are extracted once with
MediaPipe and cached (see :mod:`actscope.pose.cache`), so a second load reads only the cache.
Class indices follow ``classes`` when given, else the sorted class names.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from actscope.datasets.skeleton_base import (
    ItemRecord,
    SkeletonDataset,
    check_folder,
    read_csv_rows,
)
from actscope.errors import DatasetError
from actscope.pose.skeleton import Skeleton

LABELS_FILE = "labels.csv"
_REQUIRED = ("file", "label")


def read_labels(
    csv_path: Path, classes: Sequence[str] | None = None
) -> tuple[list[tuple[Path, str, int, int]], list[str]]:
    """Rows ``(file, label, subject, trial)`` of a labels CSV, and the class names."""
    rows = read_csv_rows(csv_path, "labels", "file,label[,subject,trial]")
    if not rows:
        raise DatasetError(f"{csv_path}: empty; give a header file,label[,subject,trial]")
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in _REQUIRED if c not in header]
    if missing:
        raise DatasetError(
            f"{csv_path}:1: header lacks {', '.join(missing)}; columns must include file,label"
        )
    column = {name: header.index(name) for name in header}
    entries = []
    for number, row in enumerate(rows[1:], 2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise DatasetError(
                f"{csv_path}:{number}: {len(row)} values, the header has {len(header)}"
            )
        cells = {name: row[i].strip() for name, i in column.items()}
        entries.append(
            (
                Path(cells["file"]),
                cells["label"],
                _whole(cells.get("subject", "0"), csv_path, number, "subject"),
                _whole(cells.get("trial", "0"), csv_path, number, "trial"),
            )
        )
    if not entries:
        raise DatasetError(f"{csv_path}: no rows below the header")
    names = list(classes) if classes is not None else sorted({label for _, label, _, _ in entries})
    for number, (_, label, _, _) in enumerate(entries, 2):
        if label not in names:
            raise DatasetError(f"{csv_path}:{number}: label {label!r} is not one of the classes")
    return entries, names


def _whole(text: str, path: Path, line: int, what: str) -> int:
    try:
        return int(text or 0)
    except ValueError:
        raise DatasetError(f"{path}:{line}: {what} must be a whole number, got {text!r}") from None


def _records(
    folder: Path, entries: list[tuple[Path, str, int, int]], names: list[str], labels: Path
) -> list[ItemRecord]:
    records = []
    inside = folder.resolve()
    for number, (file, label, subject, trial) in enumerate(entries, 2):
        path = folder / file
        if file.is_absolute() or inside not in (inside / file).resolve().parents:
            raise DatasetError(
                f"{labels}:{number}: {file} is outside the dataset folder {folder}; list files "
                "by their path inside it"
            )
        if not path.is_file():
            raise DatasetError(f"{labels}:{number}: {path} does not exist")
        records.append(ItemRecord(path, names.index(label), subject, trial))
    return records


def load_skeleton_folder(
    root: str | os.PathLike,
    labels: str | os.PathLike = LABELS_FILE,
    *,
    classes: Sequence[str] | None = None,
    space: str | None = None,
) -> SkeletonDataset:
    """``.npz`` skeletons listed in ``labels`` (relative to ``root`` unless absolute).

    ``space`` picks the coordinate space in files that hold several (default: world if
    present, else image; see :meth:`Skeleton.load`).
    """
    folder = check_folder(root, "skeleton dataset")
    labels_path = folder / labels
    entries, names = read_labels(labels_path, classes)
    records = _records(folder, entries, names, labels_path)
    return SkeletonDataset(
        folder.name, records, names, lambda path: Skeleton.load(path, space=space)
    )


def load_video_folder(
    root: str | os.PathLike,
    labels: str | os.PathLike = LABELS_FILE,
    *,
    classes: Sequence[str] | None = None,
    cache_dir: str | os.PathLike | None = None,
    space: str | None = None,
    workers: int | None = None,
) -> SkeletonDataset:
    """Videos listed in ``labels``, as the skeletons MediaPipe finds in them.

    Poses are extracted once into ``cache_dir`` (default ``root/poses``) and read from
    there afterwards; extraction resumes where an interrupted one stopped.
    """
    from actscope.pose.cache import DEFAULT_CACHE_NAME, cache_file, extract_folder

    folder = check_folder(root, "video dataset")
    labels_path = folder / labels
    entries, names = read_labels(labels_path, classes)
    videos = _records(folder, entries, names, labels_path)
    cache = Path(cache_dir) if cache_dir is not None else folder / DEFAULT_CACHE_NAME
    report = extract_folder(folder, cache, videos=[r.path for r in videos], workers=workers)
    if report.failed:
        first, message = next(iter(report.failed.items()))
        raise DatasetError(
            f"poses could not be extracted from {len(report.failed)} video(s), e.g. {first}: "
            f"{message}"
        )
    records = [
        ItemRecord(cache_file(r.path, folder, cache), r.label, r.subject, r.trial) for r in videos
    ]
    return SkeletonDataset(
        folder.name, records, names, lambda path: Skeleton.load(path, space=space)
    )
