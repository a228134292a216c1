"""UTKinect-Action3D: untrimmed Kinect v1 recordings, each holding 10 actions in a row, with
the labelled start and end of each action.

Files ``joints/joints_sXX_eYY.txt`` (subject XX, execution YY) hold one line per recorded
frame: a frame id, then 20 joints x (x, y, z) in metres (Kinect camera space: x towards
the sensor's left, y up, z away; the ``kinect_v1_20`` order, checked by drawing frames and
by the feet pointing the way the body faces in 85-98% of frames, docs/datasets/).
``labels.tsv`` gives each action's first and last frame id (inclusive); rows whose
boundaries are missing (NaN: an action not performed) are skipped.

**Time.** Frame ids count a 30 Hz clock, but only about every 4th id was recorded, unevenly
(gaps of 2-16 ids, and a few holes of 1.7-10 s), and some ids repeat with other joint
positions (the first is kept, as the MANIFEST says). Skeletons keep the recorded frames with
their times as ``timestamps``: time 0 is the recording's first recorded frame, an id's time
is ``(id - first id) / 30`` s, and segment boundaries keep those exact times. Their ``fps``
is the nominal rate (default :data:`FPS` = 7.5, one frame per 4 ids, the usual spacing),
the one :meth:`~actscope.pose.skeleton.Skeleton.resample` makes by default; model inputs
and detection resample them by their times. :func:`resample` puts a recording on an even
grid (linear between recorded frames at most ``max_gap`` seconds apart, default
:data:`MAX_GAP`; missing, NaN with score 0, inside longer holes).

Two forms:

- :func:`load_utkinect`: the labelled segments as trimmed items (one per action, the
  recorded frames from its start to its end id, inclusive, with their timestamps), for
  classification. Items are named ``joints_sXX_eYY.txt#START-END`` (frame ids). Protocols:
  leave one subject out, ``loso-s1``, ``loso-s3``, ... (one per subject present, named after
  the subject tested on; default the first), or ``subjects=...``; report the mean over the
  subjects.
- :func:`load_utkinect_recordings`: the whole recordings (timestamped) with their true
  segments (:class:`~actscope.datasets.untrimmed.TrueSegment`, seconds), for temporal
  detection; the stretches between labelled actions (turning, walking between places,
  pauses) are background.

Xia, Chen, Aggarwal, "View invariant human action recognition using histograms of 3D
joints", CVPR Workshops 2012.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from actscope.datasets.skeleton_base import ItemRecord, SkeletonDataset, check_folder, read_lines
from actscope.datasets.untrimmed import TrueSegment, UntrimmedStream
from actscope.errors import DatasetError
from actscope.pose.layouts import KINECT_V1_20
from actscope.pose.skeleton import Skeleton

log = logging.getLogger(__name__)

CLASSES = (
    "walk",
    "sit down",
    "stand up",
    "pick up",
    "carry",
    "throw",
    "push",
    "pull",
    "wave hands",
    "clap hands",
)
LABEL_NAMES = (
    "walk",
    "sitDown",
    "standUp",
    "pickUp",
    "carry",
    "throw",
    "push",
    "pull",
    "waveHands",
    "clapHands",
)
"""The class names as ``labels.tsv`` writes them, in :data:`CLASSES` order."""
CLOCK = 30.0
"""Frame ids per second."""
FPS = 7.5
"""Nominal frame rate of the recordings (one frame per 4 ids, the usual spacing): the rate
of the even grid they are resampled to by default."""
MAX_GAP = 0.6
"""Seconds: grid frames inside a longer hole between recorded frames are missing. The
longest regular gap in the data is 16 ids (0.53 s); the holes are 52 ids (1.7 s) or more."""
LABEL_COLUMNS = ("joints_file", "action", "subject", "execution", "start_frame", "end_frame")
_JOINTS = KINECT_V1_20.num_joints
_ITEM = re.compile(r"^(.*)#(\d+)-(\d+)$")


@dataclass(frozen=True)
class RawRecording:
    """A recording as stored: ``frame_ids`` ``(N,)`` increasing (repeats dropped, the first
    kept) and ``coords`` ``(N, 20, 3)`` metres, ``kinect_v1_20``."""

    path: Path
    frame_ids: np.ndarray
    coords: np.ndarray

    @property
    def times(self) -> np.ndarray:
        """``(N,)`` seconds of each recorded frame since the first."""
        return (self.frame_ids - self.frame_ids[0]) / CLOCK


@dataclass(frozen=True)
class LabelledSegment:
    """One row of ``labels.tsv``: an action from ``start`` to ``end`` (frame ids, inclusive)."""

    joints_file: str
    label: int
    subject: int
    execution: int
    start: int
    end: int


@dataclass
class UTKinectRecording(UntrimmedStream):
    """A whole recording (``skeleton`` ``(1, N, 20, 3)``, timestamped), with its labelled
    ``segments`` in seconds since its first recorded frame, the ids of the frames recorded
    (:class:`RawRecording`) and ``time_offset``, the first id's time on the 30 Hz clock
    (seconds; add it to get the MANIFEST's ``id / 30``)."""

    subject: int
    execution: int
    frame_ids: np.ndarray
    time_offset: float


def read_utkinect_raw(path: str | os.PathLike) -> RawRecording:
    """The recorded frames of one ``joints_sXX_eYY.txt``, unresampled."""
    name = os.fspath(path)
    lines = read_lines(name)
    ids, rows = [], []
    for number, line in enumerate(lines, 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 1 + _JOINTS * 3:
            raise DatasetError(
                f"{name}:{number}: expected 61 values (frame id, 20 joints x 3), "
                f"found {len(fields)}"
            )
        try:
            ids.append(int(fields[0]))
            rows.append([float(f) for f in fields[1:]])
        except ValueError:
            raise DatasetError(f"{name}:{number}: not a number in {line.strip()[:60]!r}") from None
    if not rows:
        raise DatasetError(f"{name}: no frames; the file is empty")
    frame_ids = np.asarray(ids, np.int64)
    if (np.diff(frame_ids) < 0).any():
        number = int(np.flatnonzero(np.diff(frame_ids) < 0)[0]) + 2
        raise DatasetError(f"{name}: frame ids go back in time at frame {number}")
    first = np.concatenate([[True], np.diff(frame_ids) > 0])  # the first of repeated ids
    coords = np.asarray(rows, np.float32).reshape(-1, _JOINTS, 3)
    return RawRecording(Path(name), frame_ids[first], coords[first])


def raw_skeleton(raw: RawRecording, fps: float = FPS) -> Skeleton:
    """``raw`` as a ``kinect_v1_20`` world skeleton ``(1, N, 20, 3)`` of its recorded frames,
    with their ``timestamps`` (s since the first) and nominal rate ``fps``."""
    if not fps > 0:
        raise DatasetError(f"fps must be positive, got {fps}")
    scores = np.ones(raw.coords.shape[:2], np.float32)
    return Skeleton(
        raw.coords[None],
        scores[None],
        KINECT_V1_20.name,
        fps,
        "world",
        str(raw.path),
        timestamps=raw.times,
    )


def resample(
    raw: RawRecording, fps: float = FPS, max_gap: float = MAX_GAP
) -> tuple[np.ndarray, np.ndarray]:
    """``raw`` on an even grid of ``fps`` frames per second from its first frame: coords
    ``(T, 20, 3)`` (NaN inside holes longer than ``max_gap`` seconds) and scores ``(T, 20)``."""
    even = raw_skeleton(raw, fps).resample(max_gap=max_gap)
    return even.coords[0], even.scores[0]


def read_utkinect_recording(path: str | os.PathLike, fps: float = FPS) -> Skeleton:
    """One recording as a ``kinect_v1_20`` world skeleton ``(1, N, 20, 3)``: its recorded
    frames with their timestamps (nominal rate ``fps``; ``.resample()`` for an even grid)."""
    return raw_skeleton(read_utkinect_raw(path), fps)


def read_labels(root: str | os.PathLike) -> list[LabelledSegment]:
    """The rows of ``root/labels.tsv`` with both boundaries given, in file order."""
    path = check_folder(root, "UTKinect") / "labels.tsv"
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        raise DatasetError(f"{path}: missing; it gives UTKinect's action segments") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot be read as text ({exc})") from exc
    header = lines[0].split("\t") if lines else []
    if tuple(header[: len(LABEL_COLUMNS)]) != LABEL_COLUMNS:
        raise DatasetError(f"{path}: the header is not {' '.join(LABEL_COLUMNS)}")
    segments = []
    for number, line in enumerate(lines[1:], 2):
        fields = line.split("\t")
        if not line.strip():
            continue
        if len(fields) < len(LABEL_COLUMNS):
            raise DatasetError(
                f"{path}:{number}: expected {len(LABEL_COLUMNS)} tab-separated values, "
                f"found {len(fields)}"
            )
        joints_file, action, subject, execution, start, end = fields[: len(LABEL_COLUMNS)]
        if action not in LABEL_NAMES:
            raise DatasetError(f"{path}:{number}: action {action!r} is none of UTKinect's 10")
        if any(v.strip().lower() in ("", "nan") for v in (start, end)):
            log.info("%s:%d: %s has no boundaries (not performed); skipped", path, number, action)
            continue
        try:
            values = [int(float(v)) for v in (subject, execution, start, end)]
        except ValueError:
            raise DatasetError(f"{path}:{number}: not a whole number in {line!r}") from None
        if values[2] > values[3]:
            raise DatasetError(f"{path}:{number}: {action} starts after it ends")
        segments.append(LabelledSegment(joints_file, LABEL_NAMES.index(action), *values))
    if not segments:
        raise DatasetError(f"{path}: no labelled segments")
    return segments


def load_utkinect(root: str | os.PathLike, *, fps: float = FPS) -> SkeletonDataset:
    """The labelled actions of the UTKinect recordings in ``root`` as trimmed
    ``kinect_v1_20`` world skeletons ``(1, N, 20, 3)``: the recorded frames from the start
    id to the end id, inclusive, with their timestamps (nominal rate ``fps``); protocols
    ``loso-sN``."""
    folder = check_folder(root, "UTKinect")
    segments = read_labels(folder)
    subjects = sorted({s.subject for s in segments})
    protocols = tuple(f"loso-s{s}" for s in subjects)
    records = []
    for segment in segments:
        path = folder / segment.joints_file
        if not path.is_file():
            raise DatasetError(f"{path}: missing; labels.tsv names it")
        train_in = frozenset(f"loso-s{s}" for s in subjects if s != segment.subject)
        item = Path(f"{path}#{segment.start}-{segment.end}")
        records.append(
            ItemRecord(item, segment.label, segment.subject, segment.execution, train_in=train_in)
        )
    recordings: dict[str, tuple[Skeleton, int]] = {}

    def read(item: Path) -> Skeleton:
        match = _ITEM.match(os.fspath(item))
        if match is None:
            raise DatasetError(f"{item}: not a UTKinect segment (FILE#START-END)")
        name, start, end = match.group(1), int(match.group(2)), int(match.group(3))
        if name not in recordings:
            raw = read_utkinect_raw(name)
            recordings[name] = (raw_skeleton(raw, fps), int(raw.frame_ids[0]))
        whole, first_id = recordings[name]
        # ids start..end inclusive: up to half an id past the end
        part = whole.slice_time((start - first_id) / CLOCK, (end + 0.5 - first_id) / CLOCK)
        return part.replace(source=os.fspath(item))

    return SkeletonDataset(
        "utkinect",
        records,
        CLASSES,
        read,
        protocols=protocols,
        default_protocol=protocols[0],
    )


def load_utkinect_recordings(
    root: str | os.PathLike, *, fps: float = FPS
) -> list[UTKinectRecording]:
    """Every recording named in ``root/labels.tsv``, whole, as its recorded frames with their
    timestamps (nominal rate ``fps``), with its labelled segments in time order (seconds
    since its first recorded frame)."""
    folder = check_folder(root, "UTKinect")
    by_file: dict[str, list[LabelledSegment]] = {}
    for segment in read_labels(folder):
        by_file.setdefault(segment.joints_file, []).append(segment)
    recordings = []
    for joints_file, labelled in by_file.items():
        raw = read_utkinect_raw(folder / joints_file)
        skeleton = raw_skeleton(raw, fps)
        first_id = int(raw.frame_ids[0])
        true = []
        for s in sorted(labelled, key=lambda s: (s.start, s.end)):
            if s.end < raw.frame_ids[0] or s.start > raw.frame_ids[-1]:
                raise DatasetError(
                    f"{raw.path}: {LABEL_NAMES[s.label]} ({s.start}-{s.end}) lies outside the "
                    f"recorded frame ids {raw.frame_ids[0]}-{raw.frame_ids[-1]}"
                )
            true.append(
                TrueSegment(
                    (s.start - first_id) / CLOCK,
                    (s.end - first_id) / CLOCK,
                    CLASSES[s.label],
                    s.label,
                    f"{raw.path}#{s.start}-{s.end}",
                )
            )
        recordings.append(
            UTKinectRecording(
                Path(joints_file).stem,
                skeleton,
                true,
                list(CLASSES),
                labelled[0].subject,
                labelled[0].execution,
                raw.frame_ids,
                first_id / CLOCK,
            )
        )
    return recordings
