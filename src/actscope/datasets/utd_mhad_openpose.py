"""OpenPose 2D keypoints of UTD-MHAD's RGB videos: 195 CSV files, 7 of its 27 actions.

Files ``a{action}_s{subject}_t{trial}_color.avi.csv`` hold one row per frame of 36 values,
18 OpenPose COCO keypoints ``(x, y)`` in image axes (y down), neck at the origin and the
shoulder distance as unit. Rows skip the frames where any keypoint was missing, so they are
not one-to-one with video frames; ``fps`` is the video's nominal 30.

**The videos were mirrored.** In 30 of the 32 "right arm swipe to the left" files the
keypoint OpenPose labelled *left* wrist moves, while the Kinect skeletons of the same trials
move their right wrist, and the moving arm starts on the image's right. OpenPose labels a
mirrored person consistently as a person whose left and right are swapped, so reading the
file undoes the mirror: x is negated and left/right joints are swapped (``unmirror=True``,
the default). After that the labelled right wrist is the one that moves, on the viewer's
left, as in an unmirrored view. See docs/pose.md.

Classes use UTD-MHAD's 27 indices, so a model trained on :func:`load_utd_mhad` scores these
directly (the Kinect-to-video transfer test: train on subjects 1, 3, 5, 7 of the Kinect
skeletons, test on subjects 2, 4, 6, 8 here).
"""

from __future__ import annotations

import os
import re

import numpy as np

from actscope.datasets.skeleton_base import (
    SkeletonDataset,
    check_folder,
    read_number_rows,
    records_from_names,
)
from actscope.datasets.utd_mhad import CLASSES, TRAIN_SUBJECTS
from actscope.errors import DatasetError
from actscope.pose.layouts import OPENPOSE18
from actscope.pose.skeleton import Skeleton

FPS = 30.0
_NAME = re.compile(r"a(\d+)_s(\d+)_t(\d+)_color\.avi\.csv$")
_VALUES = 2 * OPENPOSE18.num_joints


def read_openpose_csv(path: str | os.PathLike, *, unmirror: bool = True) -> Skeleton:
    """One CSV as an ``openpose18`` image-axes skeleton ``(1, T, 18, 2)`` (units: shoulder
    widths, neck-centred), mirrored back unless ``unmirror=False``."""
    name = os.fspath(path)
    rows = read_number_rows(name, _VALUES, "18 keypoints x, y")
    coords = rows.reshape(1, -1, OPENPOSE18.num_joints, 2)
    if unmirror:
        coords = coords[:, :, list(OPENPOSE18.flip_permutation)] * np.array([-1, 1], np.float32)
    scores = np.ones(coords.shape[:3], np.float32)
    return Skeleton(coords, scores, OPENPOSE18.name, FPS, "image", name)


def load_utd_mhad_openpose(root: str | os.PathLike, *, unmirror: bool = True) -> SkeletonDataset:
    """The OpenPose CSVs in ``root``, labelled with UTD-MHAD's 27 classes."""
    folder = check_folder(root, "utd_mhad_openpose")
    records = records_from_names(
        sorted(folder.glob("*.csv")), _NAME, "a{action}_s{subject}_t{trial}_color.avi.csv"
    )
    if not records:
        raise DatasetError(f"{folder}: no *_color.avi.csv files; give the utd_mhad_openpose folder")
    return SkeletonDataset(
        "utd_mhad_openpose",
        records,
        CLASSES,
        lambda path: read_openpose_csv(path, unmirror=unmirror),
        train_subjects=TRAIN_SUBJECTS,
    )
