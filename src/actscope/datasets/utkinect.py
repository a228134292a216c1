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
positions (the first is kept, as the MANIFEST says). A
:class:`~actscope.pose.skeleton.Skeleton` has one frame rate, so each recording is
resampled onto an even grid of ``fps`` frames per second (default :data:`FPS` = 7.5, one
frame per 4 ids, the usual spacing): a grid frame
between two recorded frames at most ``max_gap`` seconds apart (default :data:`MAX_GAP`) is
interpolated linearly between them (score 1); one inside a longer hole is missing (NaN,
score 0). Time 0 is the recording's first recorded frame; an id's time is
``(id - first id) / 30`` s, and segment boundaries keep those exact times (not rounded to
the grid). :func:`read_utkinect_raw` returns the recorded frames and their ids unchanged,
for per-frame timestamps.

Two forms:

- :func:`load_utkinect`: the labelled segments as trimmed items (one per action, cut from
  the resampled recording: the grid frames from its start to its end time, inclusive), for
  classification. Items are named ``joints_sXX_eYY.txt#START-END`` (frame ids). Protocols:
  leave one subject out, ``loso-s1``, ``loso-s3``, ... (one per subject present, named after
  the subject tested on; default the first), or ``subjects=...``; report the mean over the
  subjects.
- :func:`load_utkinect_recordings`: the whole recordings with their true segments
  (:class:`~actscope.datasets.untrimmed.TrueSegment`, seconds), for temporal detection;
  the stretches between labelled actions (turning, walking between places, pauses) are
  background.

Xia, Chen, Aggarwal, "View invariant human action recognition using histograms of 3D
joints", CVPR Workshops 2012.
"""

from __future__ import annotations

import logging
import math
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
"""Default rate of the even time grid recordings are resampled to."""
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
    """A whole recording, resampled (``skeleton`` ``(1, T, 20, 3)``), with its labelled
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


def resample(
    raw: RawRecording, fps: float = FPS, max_gap: float = MAX_GAP
) -> tuple[np.ndarray, np.ndarray]:
    """``raw`` on an even grid of ``fps`` frames per second from its first frame: coords
    ``(T, 20, 3)`` (NaN inside holes longer than ``max_gap`` seconds) and scores ``(T, 20)``."""
    if not fps > 0:
        raise DatasetError(f"fps must be positive, got {fps}")
    times = raw.times
    grid = np.arange(math.floor(times[-1] * fps + 1e-9) + 1) / fps
    after = np.clip(np.searchsorted(times, grid - 1e-9), 0, len(times) - 1)  # first >= t
    before = np.maximum(after - 1, 0)
    exact = np.abs(times[after] - grid) < 1e-9
    before = np.where(exact, after, before)
    span = times[after] - times[before]
    weight = np.where(span > 0, (grid - times[before]) / np.where(span > 0, span, 1.0), 0.0)
    coords = (
        raw.coords[before] * (1 - weight)[:, None, None] + raw.coords[after] * weight[:, None, None]
    )
    hole = ~exact & (span > max_gap)
    coords[hole] = np.nan
    scores = np.where(hole[:, None], 0.0, 1.0).repeat(_JOINTS, axis=1)
    return coords.astype(np.float32), scores.astype(np.float32)


def read_utkinect_recording(
    path: str | os.PathLike, fps: float = FPS, max_gap: float = MAX_GAP
) -> Skeleton:
    """One recording, resampled, as a ``kinect_v1_20`` world skeleton ``(1, T, 20, 3)``."""
    raw = read_utkinect_raw(path)
    coords, scores = resample(raw, fps, max_gap)
    return Skeleton(coords[None], scores[None], KINECT_V1_20.name, fps, "world", str(raw.path))


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


def _segment_frames(start: float, end: float, fps: float) -> tuple[int, int]:
    """``[first, stop)`` grid frames whose time lies in ``[start, end]`` seconds."""
    first = max(0, math.ceil(start * fps - 1e-9))
    return first, max(first, math.floor(end * fps + 1e-9) + 1)


def load_utkinect(
    root: str | os.PathLike, *, fps: float = FPS, max_gap: float = MAX_GAP
) -> SkeletonDataset:
    """The labelled actions of the UTKinect recordings in ``root`` as trimmed
    ``kinect_v1_20`` world skeletons ``(1, T, 20, 3)`` at ``fps``; protocols ``loso-sN``."""
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
            coords, scores = resample(raw, fps, max_gap)
            whole = Skeleton(coords[None], scores[None], KINECT_V1_20.name, fps, "world", name)
            recordings[name] = (whole, int(raw.frame_ids[0]))
        whole, first_id = recordings[name]
        frames = _segment_frames((start - first_id) / CLOCK, (end - first_id) / CLOCK, fps)
        return whole.frames(*frames).replace(source=os.fspath(item))

    return SkeletonDataset(
        "utkinect",
        records,
        CLASSES,
        read,
        protocols=protocols,
        default_protocol=protocols[0],
    )


def load_utkinect_recordings(
    root: str | os.PathLike, *, fps: float = FPS, max_gap: float = MAX_GAP
) -> list[UTKinectRecording]:
    """Every recording named in ``root/labels.tsv``, whole and resampled to ``fps``, with
    its labelled segments in time order (seconds since its first recorded frame)."""
    folder = check_folder(root, "UTKinect")
    by_file: dict[str, list[LabelledSegment]] = {}
    for segment in read_labels(folder):
        by_file.setdefault(segment.joints_file, []).append(segment)
    recordings = []
    for joints_file, labelled in by_file.items():
        raw = read_utkinect_raw(folder / joints_file)
        coords, scores = resample(raw, fps, max_gap)
        skeleton = Skeleton(
            coords[None], scores[None], KINECT_V1_20.name, fps, "world", str(raw.path)
        )
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
