"""UR Fall Detection (URFD): 2D keypoints of real falls with a posture label per frame.

The CSV export (one file for many sequences) holds a header ``video, frame``, then 13
keypoints ``(x, y, score)`` in the order :data:`FILE_JOINTS`, then ``label``. ``x`` and
``y`` are normalised to the 640x480 camera frame (they can exceed 1 when a joint is
placed outside it) and are turned back into pixels here, so that angles and lengths are
those of the picture. Eyes and ears are not in the file: they are missing (NaN, score 0)
in the ``coco17`` skeleton returned. Labels: 0 not lying (upright, sitting, walking), 1
falling (a transitional pose), 2 lying on the ground.

Frames are at 30 fps; frame numbers may skip (a few ids are absent in the export): the
skeleton keeps real time by leaving those frames empty (no person, label -1). Duplicated
``(video, frame)`` rows keep the first one. Time 0 of a skeleton is its first frame in the
file (``URFallSequence.first_frame``), not the video's frame 0.

Kwolek, Kepski, "Human fall detection on embedded platform using depth maps and wireless
accelerometer", Computer Methods and Programs in Biomedicine 117(3), 2014.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from actscope.errors import DatasetError
from actscope.pose.layouts import COCO17
from actscope.pose.skeleton import Skeleton

FPS = 30.0
IMAGE_SIZE = (640, 480)
"""Width and height (pixels) of URFD's RGB frames, the unit of the normalised x and y."""
FILE_JOINTS = (
    "nose",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
POSTURES = ("not lying", "falling", "lying")
"""Label ``i`` of a frame names ``POSTURES[i]``; -1 marks a frame absent from the file."""
LYING = 2
_COLUMNS = {"_x": 0, "_y": 1, "_s": 2}
_FILE_NAMES = ("Nose", "LShoulder", "RShoulder", "LElbow", "RElbow", "LWrist", "RWrist")
_FILE_NAMES += ("LHip", "RHip", "LKnee", "RKnee", "LAnkle", "RAnkle")


@dataclass(frozen=True)
class URFallSequence:
    """One recording: ``skeleton`` (``coco17`` image keypoints in pixels, ``(1, T, 17, 2)``,
    30 fps), ``labels`` ``(T,)`` posture of each frame (see :data:`POSTURES`), the video's
    frame number of the skeleton's first frame, and the sequence's name (``fall-01``)."""

    name: str
    skeleton: Skeleton
    labels: np.ndarray
    first_frame: int

    @property
    def first_lying(self) -> float | None:
        """Time (seconds of the skeleton) of the first frame labelled lying, if any."""
        found = np.flatnonzero(self.labels == LYING)
        return float(found[0] / self.skeleton.fps) if len(found) else None

    @property
    def lying_after(self) -> float:
        """Seconds from the first lying frame to the end of the recording (0 if none)."""
        first = self.first_lying
        return 0.0 if first is None else self.skeleton.duration - first


def read_urfall_csv(path: str | os.PathLike) -> list[URFallSequence]:
    """Every sequence of a URFD keypoint CSV, in the order they first appear."""
    name = os.fspath(path)
    try:
        with open(name, newline="") as handle:
            rows = list(csv.reader(handle))
    except FileNotFoundError:
        raise DatasetError(f"{name}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{name}: cannot be read as text ({exc})") from exc
    if not rows:
        raise DatasetError(f"{name}: the file is empty")
    header = [h.strip() for h in rows[0]]
    wanted = ["video", "frame", "label"]
    wanted += [f"{joint}{suffix}" for joint in _FILE_NAMES for suffix in _COLUMNS]
    missing = [column for column in wanted if column not in header]
    if missing:
        raise DatasetError(
            f"{name}: not a URFD keypoint CSV (its header lacks {', '.join(missing[:3])}"
            f"{', ...' if len(missing) > 3 else ''})"
        )
    video_col, frame_col, label_col = (header.index(h) for h in ("video", "frame", "label"))
    columns = [[header.index(f"{joint}{suffix}") for suffix in _COLUMNS] for joint in _FILE_NAMES]
    found: dict[str, dict[int, tuple[np.ndarray, int]]] = {}
    for number, row in enumerate(rows[1:], 2):
        if not row or not "".join(row).strip():
            continue
        if len(row) != len(header):
            raise DatasetError(
                f"{name}:{number}: expected {len(header)} comma-separated values, found {len(row)}"
            )
        try:
            frame, label = int(row[frame_col]), int(float(row[label_col]))
            values = np.array([[float(row[c]) for c in joint] for joint in columns])
        except ValueError:
            raise DatasetError(f"{name}:{number}: not a number in {row[:3]}") from None
        if label not in range(len(POSTURES)):
            raise DatasetError(f"{name}:{number}: label {label} is not 0, 1 or 2")
        found.setdefault(row[video_col], {}).setdefault(frame, (values, label))
    if not found:
        raise DatasetError(f"{name}: no keypoint rows")
    return [_sequence(video, frames, name) for video, frames in found.items()]


def load_urfall(root: str | os.PathLike) -> list[URFallSequence]:
    """The sequences of every ``*.csv`` in ``root`` (a URFD keypoint folder such as
    ``urfall_dev``), sorted by name."""
    folder = Path(root)
    if not folder.is_dir():
        raise DatasetError(f"{folder}: no such folder; give the folder holding the URFD CSV")
    files = sorted(folder.glob("*.csv"))
    if not files:
        raise DatasetError(f"{folder}: no *.csv files; give the folder holding the URFD CSV")
    sequences = [s for path in files for s in read_urfall_csv(path)]
    return sorted(sequences, key=lambda s: s.name)


def _sequence(video: str, frames: dict[int, tuple[np.ndarray, int]], source: str) -> URFallSequence:
    """One video's rows as a ``coco17`` skeleton with empty frames where ids skip."""
    first, last = min(frames), max(frames)
    count = last - first + 1
    coords = np.full((1, count, COCO17.num_joints, 2), np.nan, np.float32)
    scores = np.zeros((1, count, COCO17.num_joints), np.float32)
    labels = np.full(count, -1, np.int64)
    where = [COCO17.index(joint) for joint in FILE_JOINTS]
    size = np.array(IMAGE_SIZE, np.float64)
    for frame, (values, label) in frames.items():
        t = frame - first
        finite = np.isfinite(values).all(axis=1)
        coords[0, t, where] = np.where(finite[:, None], values[:, :2] * size, np.nan)
        scores[0, t, where] = np.where(finite, values[:, 2], 0.0)
        labels[t] = label
    skeleton = Skeleton(coords, scores, COCO17.name, FPS, "image", f"{source}#{video}", IMAGE_SIZE)
    return URFallSequence(video, skeleton, labels, first)
