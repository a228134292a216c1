"""MSR Action3D: 567 skeleton sequences, 20 actions, 10 subjects, 2-3 executions.

Files ``a{AA}_s{SS}_e{EE}_skeleton3D.txt`` hold 20 rows per frame, ``x y z c``: x across
(metres, growing towards the subject's right, as Kinect's camera space), y up, z depth
(about 2.6-3 m), c a per-joint confidence in [0, 1] (used as the score). Joints are in the
dataset's own order (:data:`FILE_ORDER`), reordered to ``kinect_v1_20`` when read; the
order and the axes were checked by drawing frames and by which wrist moves in one-arm
actions (docs/pose.md).

Caveats handled when reading: frames that are all zeros (dropped tracking; 20 sequences,
740 of 936 frames in ``a13_s09_e03``) are dropped, which leaves ``a13_s09_e02`` (all zeros)
with no frames at all; glitches are repaired as for UTD-MHAD. ``subset="cvpr12"`` keeps
the 557 sequences most papers use (``files_used_in_cvpr12_paper.txt``). The dataset's paper
gives about 15 frames per second.

Li, Zhang, Liu, "Action recognition based on a bag of 3D points", CVPR Workshops 2010.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Literal

import numpy as np

from actscope.datasets.skeleton_base import (
    SkeletonDataset,
    check_folder,
    read_lines,
    records_from_names,
    tidy,
)
from actscope.errors import DatasetError
from actscope.pose.layouts import KINECT_V1_20
from actscope.pose.skeleton import Skeleton

log = logging.getLogger(__name__)

CLASSES = (
    "high arm wave",
    "horizontal arm wave",
    "hammer",
    "hand catch",
    "forward punch",
    "high throw",
    "draw x",
    "draw tick",
    "draw circle",
    "hand clap",
    "two hand wave",
    "side boxing",
    "bend",
    "forward kick",
    "side kick",
    "jogging",
    "tennis swing",
    "tennis serve",
    "golf swing",
    "pickup and throw",
)
TRAIN_SUBJECTS = (1, 3, 5, 7, 9)
"""Cross-subject protocol on all 20 classes: train on odd subjects, test on even ones."""
FPS = 15.0
MAX_JUMP = 0.5
FILE_ORDER = (
    "left_shoulder",
    "right_shoulder",
    "shoulder_center",
    "spine",
    "left_hip",
    "right_hip",
    "hip_center",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hand",
    "right_hand",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_foot",
    "right_foot",
    "head",
)
_TO_LAYOUT = np.array([FILE_ORDER.index(joint) for joint in KINECT_V1_20.joints])
_NAME = re.compile(r"a(\d+)_s(\d+)_e(\d+)_skeleton3D\.txt$")
CVPR12_LIST = "files_used_in_cvpr12_paper.txt"


def read_msr_skeleton(path: str | os.PathLike) -> Skeleton:
    """One MSR Action3D text file as a ``kinect_v1_20`` world skeleton ``(1, T, 20, 3)``."""
    name = os.fspath(path)
    lines = read_lines(name)
    rows = [line.split() for line in lines]
    for number, fields in enumerate(rows, 1):
        if fields and len(fields) != 4:
            raise DatasetError(
                f"{name}:{number}: expected 4 numbers (x y z confidence), found {len(fields)}"
            )
    rows = [fields for fields in rows if fields]
    if not rows or len(rows) % 20:
        raise DatasetError(
            f"{name}: {len(rows)} rows is not a whole number of frames of 20 joints; "
            "the file is truncated or not an MSR Action3D skeleton"
        )
    try:
        values = np.array(rows, dtype=np.float32)  # parses the text in C
    except ValueError:
        number = next(i for i, f in enumerate(lines, 1) if f.split() and not _numeric(f))
        raise DatasetError(f"{name}:{number}: not a number in {lines[number - 1]!r}") from None
    data = values.reshape(-1, 20, 4)[:, _TO_LAYOUT]
    skeleton = Skeleton(
        data[None, ..., :3], data[None, ..., 3], KINECT_V1_20.name, FPS, "world", name
    )
    return tidy(skeleton, MAX_JUMP)


def _numeric(line: str) -> bool:
    try:
        [float(f) for f in line.split()]
    except ValueError:
        return False
    return True


def load_msr_action3d(
    root: str | os.PathLike, subset: Literal["all", "cvpr12"] = "all"
) -> SkeletonDataset:
    """The MSR Action3D skeletons in ``root``: all 567, or the 557 of ``subset="cvpr12"``."""
    folder = check_folder(root, "MSR Action3D")
    keep: set[str] | None = None
    if subset == "cvpr12":
        listing = folder / CVPR12_LIST
        if not listing.is_file():
            raise DatasetError(f"{listing}: missing; it lists the cvpr12 subset's sequences")
        keep = set(listing.read_text().split())
    elif subset != "all":
        raise DatasetError(f"unknown MSR Action3D subset {subset!r}; use 'all' or 'cvpr12'")
    files = sorted(folder.glob("*_skeleton3D.txt"))
    if keep is not None:
        files = [f for f in files if f.name.removesuffix("_skeleton3D.txt") in keep]
    records = records_from_names(files, _NAME, "aAA_sSS_eEE_skeleton3D.txt")
    if not records:
        raise DatasetError(f"{folder}: no *_skeleton3D.txt files; give the MSR Action3D folder")
    return SkeletonDataset(
        "msr_action3d", records, CLASSES, read_msr_skeleton, train_subjects=TRAIN_SUBJECTS
    )
