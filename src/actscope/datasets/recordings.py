"""Untrimmed recordings with labelled segments, for training a detector.

A :class:`RecordingSet` holds whole recordings (one :class:`~actscope.pose.skeleton.Skeleton`
each, timestamped or not) and the labelled segments in them; everything between labelled
segments (walking between places, turning, pauses) is background. Training reads windows of
``window_seconds`` out of the recordings (:class:`RecordingWindows`): each window is labelled
with the segment its centre falls in (the shortest, where labelled segments overlap) or, if
none, with the extra class :data:`BACKGROUND`, which the model learns like any other. So a
model learns what the stretches between actions look like, and where an action's edges are,
from the recordings themselves; :func:`actscope.detect` then reads "background" as "no action
here" (see :mod:`actscope.inference.detection`).

Windows are drawn at random every epoch (from the global generators, which the training
engine seeds per sample, so a resumed run repeats them): with probability
``background_share`` a centre in background, else a centre in a labelled segment chosen
uniformly (so short actions are seen as often as long ones). Test windows
(:class:`GridWindows`) are every ``hop`` seconds of the test recordings, labelled the same way:
their top-1 is the share of time labelled right, background included.

Two sources: UTKinect's recordings (``utkinect-recordings``; protocols ``loso-sN`` as for its
segments), and a user's folder (``recording-folder``) of ``.npz`` poses files with a
``segments.csv`` (columns ``file,label,start,end`` in seconds on the file's time line,
optionally ``subject``)::

    file,label,start,end,subject
    rec/monday.npz,wave,12.4,15.0,1
    rec/monday.npz,sit down,31.0,34.2,1
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from actscope.datasets.base import DataConfig, TrainingData
from actscope.datasets.skeleton_base import check_folder, read_csv_rows
from actscope.datasets.skeleton_input import model_kwargs, skeleton_input
from actscope.datasets.untrimmed import TrueSegment
from actscope.errors import ConfigError, DatasetError
from actscope.pose.features import BodyFeatures
from actscope.pose.skeleton import Skeleton

BACKGROUND = "background"
"""The class of windows whose centre is in no labelled segment: "no action here"."""
RECORDING_OPTIONS = ("background_share", "windows_per_second")
"""``data.options`` of recording datasets besides those of trimmed skeleton datasets."""
DEFAULT_BACKGROUND_SHARE = 0.5
DEFAULT_WINDOWS_PER_SECOND = 0.5
"""Training windows per second of recording in an epoch."""
TEST_HOP = 0.5
"""Seconds between the centres of test windows."""
SEGMENTS_FILE = "segments.csv"


@dataclass
class Recording:
    """One untrimmed recording: its ``skeleton``, its labelled ``segments`` (seconds on the
    skeleton's time line, in time order), its ``subject`` (0: unknown), and the names of the
    dataset's own protocols under which it is a training recording (``train_in``)."""

    name: str
    skeleton: Skeleton
    segments: list[TrueSegment]
    subject: int = 0
    train_in: frozenset[str] = frozenset()

    @property
    def start(self) -> float:
        """Time of the first frame (s)."""
        return float(self.skeleton.times[0]) if self.skeleton.num_frames else 0.0

    @property
    def end(self) -> float:
        """Time one nominal frame period after the last frame (s)."""
        return self.start + self.skeleton.duration

    def label_at(self, time: float, background: int) -> int:
        """The class index of the segment containing ``time`` (the shortest, where they
        overlap), or ``background``."""
        inside = [s for s in self.segments if s.start - 1e-9 <= time <= s.end + 1e-9]
        if not inside:
            return background
        return min(inside, key=lambda s: s.end - s.start).label_index


@dataclass
class RecordingSet:
    """Recordings with labelled segments of ``class_names`` (the dataset's actions; models
    trained on it add :data:`BACKGROUND`), and the protocols the dataset defines."""

    name: str
    recordings: list[Recording]
    class_names: list[str]
    protocols: tuple[str, ...] = ()
    default_protocol: str = ""
    _subjects: list[int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._subjects = sorted({r.subject for r in self.recordings if r.subject})
        for recording in self.recordings:
            for segment in recording.segments:
                if not 0 <= segment.label_index < len(self.class_names):
                    raise DatasetError(
                        f"{recording.name}: class index {segment.label_index} is outside the "
                        f"{len(self.class_names)} classes of {self.name}"
                    )

    def __len__(self) -> int:
        return len(self.recordings)

    @property
    def model_classes(self) -> list[str]:
        """The classes a model trained on these recordings has: the actions, then
        :data:`BACKGROUND`."""
        return [*self.class_names, BACKGROUND]

    def known_protocols(self) -> list[str]:
        """Protocols this set can be split by, its default first."""
        names = list(self.protocols)
        if self._subjects:
            names.append("subjects=1,3,5")
        return names

    def split(self, protocol: str) -> tuple[RecordingSet, RecordingSet]:
        """(train, test) recordings under ``protocol``: one of the set's own, or
        ``subjects=1,3`` (train on those subjects); empty: the default protocol."""
        protocol = protocol or self.default_protocol
        if protocol in self.protocols:
            chosen = [protocol in r.train_in for r in self.recordings]
        elif protocol.startswith("subjects="):
            try:
                subjects = {int(s) for s in protocol.split("=", 1)[1].split(",") if s.strip()}
            except ValueError:
                raise ConfigError(f"protocol {protocol!r}: give subjects=1,3,5 (numbers)") from None
            chosen = [r.subject in subjects for r in self.recordings]
        else:
            known = ", ".join(self.known_protocols()) or "none"
            raise ConfigError(f"unknown protocol {protocol!r} for {self.name}; known: {known}")
        return self._subset(chosen, True), self._subset(chosen, False)

    def _subset(self, chosen: list[bool], keep: bool) -> RecordingSet:
        mine = [r for r, c in zip(self.recordings, chosen, strict=True) if c == keep]
        return RecordingSet(
            self.name, mine, self.class_names, self.protocols, self.default_protocol
        )

    def segment_seconds(self) -> np.ndarray:
        """``(S,)`` duration of every labelled segment (s)."""
        return np.array([s.end - s.start for r in self.recordings for s in r.segments])


def _window(recording: Recording, center: float, seconds: float) -> Skeleton:
    """The frames of ``recording`` within ``seconds / 2`` of ``center`` (its centre moved
    inwards, where it can be, so that the window lies inside the recording)."""
    half = seconds / 2
    low, high = recording.start + half, recording.end - half
    center = min(max(center, low), high) if low <= high else (recording.start + recording.end) / 2
    return recording.skeleton.slice_time(center - half, center + half)


class RecordingWindows(Dataset):
    """Training windows drawn at random from ``recordings``: ``(transform(window), label)``.

    ``seconds`` is the window's length; an epoch has ``per_second`` windows per second of
    recording. With probability ``background_share`` a window is centred in background (a
    uniform time outside every labelled segment), else in a segment chosen uniformly (a
    uniform time inside it). Labels: the segment's class, or ``len(class_names)`` for
    background.
    """

    def __init__(
        self,
        recordings: RecordingSet,
        transform: Callable[[Skeleton], torch.Tensor],
        seconds: float,
        *,
        per_second: float = DEFAULT_WINDOWS_PER_SECOND,
        background_share: float = DEFAULT_BACKGROUND_SHARE,
    ) -> None:
        if not 0 <= background_share <= 1:
            raise ConfigError(f"background_share must be in [0, 1], got {background_share}")
        self.recordings = recordings.recordings
        self.transform = transform
        self.seconds = seconds
        self.background = len(recordings.class_names)
        self.background_share = background_share
        self.segments = [(r, s) for r in self.recordings for s in r.segments]
        durations = np.array([r.end - r.start for r in self.recordings])
        self._weights = durations / durations.sum()
        self._length = max(1, round(durations.sum() * per_second))
        if not self.segments:
            raise DatasetError(f"{recordings.name}: no labelled segments to train on")

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        recording, center = self.draw()
        window = _window(recording, center, self.seconds)
        return self.transform(window), recording.label_at(center, self.background)

    def draw(self) -> tuple[Recording, float]:
        """A recording and a window centre (s), from numpy's global generator."""
        if np.random.random_sample() >= self.background_share:
            recording, segment = self.segments[np.random.randint(len(self.segments))]
            return recording, float(np.random.uniform(segment.start, segment.end))
        for _ in range(100):  # background: a uniform time that no segment covers
            recording = self.recordings[np.random.choice(len(self.recordings), p=self._weights)]
            center = float(np.random.uniform(recording.start, recording.end))
            if recording.label_at(center, self.background) == self.background:
                return recording, center
        return recording, center  # recordings labelled end to end: whatever was drawn last


class GridWindows(Dataset):
    """Test windows every ``hop`` seconds of each recording (centres from half a window
    after its start), labelled by their centre as :class:`RecordingWindows` are; computed
    once and kept."""

    def __init__(
        self,
        recordings: RecordingSet,
        features: Callable[[Skeleton], torch.Tensor],
        seconds: float,
        hop: float = TEST_HOP,
    ) -> None:
        self.features, self.seconds = features, seconds
        background = len(recordings.class_names)
        self.items: list[tuple[Recording, float, int]] = []
        for recording in recordings.recordings:
            first = recording.start + seconds / 2
            count = max(1, math.floor((recording.end - seconds / 2 - first) / hop + 1e-9) + 1)
            for k in range(count):
                center = first + k * hop
                self.items.append((recording, center, recording.label_at(center, background)))
        self._cache: dict[int, tuple[torch.Tensor, int]] = {}

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        if index not in self._cache:
            recording, center, label = self.items[index]
            self._cache[index] = (self.features(_window(recording, center, self.seconds)), label)
        return self._cache[index]


def window_seconds(recordings: RecordingSet, given: Mapping[str, Any]) -> float:
    """The window a model of these recordings reads (s): ``window_seconds`` if given, else
    the median labelled segment's duration, rounded to 0.5 s, at least 1 s."""
    if "window_seconds" in given:
        return float(given["window_seconds"])
    seconds = recordings.segment_seconds()
    return max(1.0, round(float(np.median(seconds)) * 2) / 2) if len(seconds) else 2.5


def recordings_training_data(
    load: Callable[[Path], RecordingSet], data: DataConfig, model: str, root: Path
) -> TrainingData:
    """Train and test sets of the recordings ``load(root)`` gives, split by ``data.protocol``,
    for the registered skeleton ``model``: random windows to train on, windows every
    :data:`TEST_HOP` seconds to test on; the classes are the actions and :data:`BACKGROUND`.
    ``data.options`` are those of skeleton datasets (``window_seconds``: the windows' length,
    default the median segment's), ``background_share`` and ``windows_per_second`` (of
    recording, per epoch)."""
    options = dict(data.options)
    features, transform, given = skeleton_input(options, model, extra=RECORDING_OPTIONS)
    recordings = load(root)
    train, test = recordings.split(data.protocol)
    if not len(train):
        raise DatasetError(f"{recordings.name}: no training recordings under {data.protocol!r}")
    seconds = window_seconds(train, given)
    features = features.replace(window_seconds=seconds)  # what detection slides
    share = float(options.get("background_share", DEFAULT_BACKGROUND_SHARE))
    rate = float(options.get("windows_per_second", DEFAULT_WINDOWS_PER_SECOND))
    if not rate > 0:
        raise ConfigError(f"data option windows_per_second must be positive, got {rate}")
    return TrainingData(
        train=RecordingWindows(train, transform, seconds, per_second=rate, background_share=share),
        test=GridWindows(test, features, seconds) if len(test) else None,
        class_names=recordings.model_classes,
        input_spec=features,
        model_kwargs=model_kwargs(features),
    )


def recordings_evaluation_data(
    load: Callable[[Path], RecordingSet],
    name: str,
    root: Path,
    protocol: str,
    input_spec: Any,
    part: str = "test",
) -> tuple[Dataset, list[str]]:
    """Windows every :data:`TEST_HOP` seconds of the ``part`` (``test``, ``train`` or
    ``all``) of the recordings, as a model with ``input_spec`` reads them."""
    if not isinstance(input_spec, BodyFeatures):
        raise ConfigError(f"the model takes video clips; {name} holds skeletons")
    recordings = load(root)
    if part != "all":
        train, test = recordings.split(protocol)
        recordings = test if part == "test" else train
    return GridWindows(recordings, input_spec, input_spec.window_seconds), recordings.model_classes


# --- sources ----------------------------------------------------------------------------


def load_utkinect_recording_set(root: str | os.PathLike) -> RecordingSet:
    """UTKinect's whole recordings with their labelled actions; protocols ``loso-sN`` (leave
    subject N out, one per subject, the first by default), as for its trimmed segments."""
    from actscope.datasets.utkinect import CLASSES, load_utkinect_recordings

    found = load_utkinect_recordings(root)
    subjects = sorted({r.subject for r in found})
    protocols = tuple(f"loso-s{s}" for s in subjects)
    recordings = [
        Recording(
            r.name,
            r.skeleton,
            list(r.segments),
            r.subject,
            frozenset(f"loso-s{s}" for s in subjects if s != r.subject),
        )
        for r in found
    ]
    return RecordingSet("utkinect-recordings", recordings, list(CLASSES), protocols, protocols[0])


def load_recording_folder(
    root: str | os.PathLike,
    segments: str | os.PathLike = SEGMENTS_FILE,
    *,
    classes: Sequence[str] | None = None,
    space: str | None = None,
) -> RecordingSet:
    """``.npz`` recordings and the segments listed in ``root/segments.csv`` (columns
    ``file,label,start,end`` in seconds, optionally ``subject``); protocols ``loso-sN``
    when subjects are given. Class indices follow ``classes``, else the sorted labels.
    ``space`` picks the coordinate space in files that hold several (default: world if
    present, else image)."""
    folder = check_folder(root, "recordings")
    path = folder / segments
    rows = _segment_rows(path)
    names = list(classes) if classes is not None else sorted({row[1] for row in rows})
    if BACKGROUND in names:
        raise DatasetError(f"{path}: {BACKGROUND!r} is not a label; leave background unlabelled")
    by_file: dict[str, list[tuple[int, TrueSegment, int]]] = {}
    inside = folder.resolve()
    for number, (file, label, start, end, subject) in enumerate(rows, 2):
        if label not in names:
            raise DatasetError(f"{path}:{number}: label {label!r} is not one of the classes")
        if Path(file).is_absolute() or inside not in (inside / file).resolve().parents:
            raise DatasetError(f"{path}:{number}: {file} is outside the folder {folder}")
        segment = TrueSegment(start, end, label, names.index(label), f"{file}#{start}-{end}")
        by_file.setdefault(file, []).append((number, segment, subject))
    recordings = []
    for file, listed in by_file.items():
        subjects = {subject for _, _, subject in listed}
        if len(subjects) > 1:
            raise DatasetError(f"{path}: {file} is given subjects {sorted(subjects)}; give one")
        if not (folder / file).is_file():
            raise DatasetError(f"{path}:{listed[0][0]}: {folder / file} does not exist")
        skeleton = Skeleton.load(folder / file, space=space)
        recording = Recording(
            Path(file).stem, skeleton, sorted((s for _, s, _ in listed), key=lambda s: s.start)
        )
        recording.subject = subjects.pop()
        for number, segment, _ in listed:
            if segment.end < recording.start or segment.start > recording.end:
                raise DatasetError(
                    f"{path}:{number}: {segment.start:g}-{segment.end:g} s lies outside "
                    f"{file} ({recording.start:g}-{recording.end:g} s)"
                )
        recordings.append(recording)
    subjects = sorted({r.subject for r in recordings if r.subject})
    protocols = tuple(f"loso-s{s}" for s in subjects) if len(subjects) > 1 else ()
    for recording in recordings:
        recording.train_in = frozenset(p for p in protocols if p != f"loso-s{recording.subject}")
    return RecordingSet(
        folder.name, recordings, names, protocols, protocols[0] if protocols else ""
    )


def _segment_rows(path: Path) -> list[tuple[str, str, float, float, int]]:
    """``(file, label, start, end, subject)`` rows of a segments CSV."""
    rows = read_csv_rows(path, "segments", "file,label,start,end[,subject]")
    header = [h.strip().lower() for h in rows[0]] if rows else []
    missing = [c for c in ("file", "label", "start", "end") if c not in header]
    if missing:
        raise DatasetError(f"{path}:1: header lacks {', '.join(missing)}")
    column = {name: i for i, name in enumerate(header)}
    found = []
    for number, row in enumerate(rows[1:], 2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise DatasetError(f"{path}:{number}: {len(row)} values, the header has {len(header)}")
        cells = {name: row[i].strip() for name, i in column.items()}
        try:
            start, end = float(cells["start"]), float(cells["end"])
            subject = int(cells.get("subject") or 0)
        except ValueError:
            raise DatasetError(
                f"{path}:{number}: start and end must be seconds, subject a whole number"
            ) from None
        if not (math.isfinite(start) and math.isfinite(end) and start < end):
            raise DatasetError(f"{path}:{number}: the segment must end after it starts")
        found.append((cells["file"], cells["label"], start, end, subject))
    if not found:
        raise DatasetError(f"{path}: no segments below the header")
    return found
