"""SBU Kinect Interaction: 282 Kinect skeleton sequences of two people interacting, 8 classes,
21 sets (ordered pairs of 7 subjects).

Files ``sXXsYY/AA/BBB/skeleton_pos.txt`` (set = subjects XX and YY, class AA, take BBB) hold
one line per frame: the frame number, then 2 people x 15 joints x (x, y, z), normalised.
The dataset's README gives the way back to OpenNI's real-world millimetres,
``X = 1280 - 2560 x``, ``Y = 960 - 1920 y``, ``Z = z * 10000 / 7.8125``; they are read in
metres (``world`` space, the axes of Kinect's camera space: x towards the sensor's left,
y up, z away). Joint order: the ``openni15`` layout (head, neck, torso, then left and right
arm, left and right leg), checked by drawing frames (docs/datasets/). Left and right are the
person's own: in "shaking hands" the two right hands meet (0.04 m apart, median closest),
and seen from above each person's left-to-right axis turns the way that makes them face
the other in 91-100% of frames (the departing class, whose people turn away: 50%).
Both people are kept, in the file's order; about 15 frames per second (the MANIFEST).

**Class order, checked on the data.** The folder numbers are not in the order of the
dataset's paper (approaching, departing, pushing, kicking, punching, exchanging objects,
hugging, shaking hands, as the MANIFEST lists them): in folder 03 a foot rises 0.69 m
(kicking), in 04 a hand reaches the other's head and the other is pushed back 0.4 m
(pushing), in 05 the right hands stay together (shaking hands), in 06 the bodies come
within 0.23 m (hugging), in 07 hands meet briefly at arm's length (exchanging objects), in
08 a fast hand stops at the other's head (punching). :data:`CLASSES` is that order.

Protocols ``fold1``-``fold5`` (default ``fold1``): the 5-fold cross-validation over sets of
the dataset's README (Yun et al.): fold k tests on its sets (:data:`FOLDS`) and trains on
the other 16-17; report the mean of the five. A record's ``subject`` is its set number
(1-21, :data:`SETS` order), so ``subjects=...`` splits by set.

Yun, Honorio, Chattopadhyay, Berg, Samaras, "Two-person interaction detection using
body-pose features and multiple instance learning", CVPR Workshops 2012.
"""

from __future__ import annotations

import os
import re

import numpy as np

from actscope.datasets.skeleton_base import (
    ItemRecord,
    SkeletonDataset,
    check_folder,
    read_number_rows,
)
from actscope.errors import DatasetError
from actscope.pose.layouts import OPENNI15
from actscope.pose.skeleton import Skeleton

CLASSES = (
    "approaching",
    "departing",
    "kicking",
    "pushing",
    "shaking hands",
    "hugging",
    "exchanging objects",
    "punching",
)
SETS = (
    "s01s02",
    "s01s03",
    "s01s07",
    "s02s01",
    "s02s03",
    "s02s06",
    "s02s07",
    "s03s02",
    "s03s04",
    "s03s05",
    "s03s06",
    "s04s02",
    "s04s03",
    "s04s06",
    "s05s02",
    "s05s03",
    "s06s02",
    "s06s03",
    "s06s04",
    "s07s01",
    "s07s03",
)
"""Set01 to Set21 of the dataset's README."""
FOLDS = (
    ("s01s02", "s03s04", "s05s02", "s06s04"),
    ("s02s03", "s02s07", "s03s05", "s05s03"),
    ("s01s03", "s01s07", "s07s01", "s07s03"),
    ("s02s01", "s02s06", "s03s02", "s03s06"),
    ("s04s02", "s04s03", "s04s06", "s06s02", "s06s03"),
)
"""The test sets of each fold, as the dataset's README lists them."""
PROTOCOLS = tuple(f"fold{k}" for k in range(1, len(FOLDS) + 1))
FPS = 15.0
_JOINTS = OPENNI15.num_joints
_VALUES = 1 + 2 * _JOINTS * 3
_PATH = re.compile(r"(s\d\ds\d\d)/(\d\d)/(\d+)/skeleton_pos\.txt$")


def read_sbu_skeleton(path: str | os.PathLike) -> Skeleton:
    """One ``skeleton_pos.txt`` as an ``openni15`` world skeleton ``(2, T, 15, 3)``, metres."""
    name = os.fspath(path)
    rows = read_number_rows(name, _VALUES, "frame, then 2 people x 15 joints x 3")
    values = rows[:, 1:].reshape(-1, 2, _JOINTS, 3)
    metres = np.stack(
        [
            (1280.0 - 2560.0 * values[..., 0]) / 1000.0,
            (960.0 - 1920.0 * values[..., 1]) / 1000.0,
            values[..., 2] * (10000.0 / 7.8125) / 1000.0,
        ],
        axis=-1,
    ).transpose(1, 0, 2, 3)  # (2 people, T, 15, 3)
    missing = (values == 0).all(axis=-1).transpose(1, 0, 2)
    metres[missing] = np.nan
    scores = (~missing).astype(np.float32)
    return Skeleton(metres, scores, OPENNI15.name, FPS, "world", name)


def load_sbu(root: str | os.PathLike) -> SkeletonDataset:
    """The SBU Kinect Interaction sequences under ``root``: class, set (as ``subject``) and
    take (as ``trial``) of each; protocols ``fold1`` (default) to ``fold5``."""
    folder = check_folder(root, "SBU Kinect Interaction")
    fold_of = {name: k for k, sets in enumerate(FOLDS) for name in sets}
    records = []
    for path in sorted(folder.glob("s*/*/*/skeleton_pos.txt")):
        match = _PATH.search(path.relative_to(folder).as_posix())
        if match is None:
            raise DatasetError(f"{path}: not at sXXsYY/AA/BBB/skeleton_pos.txt")
        pair, action, take = match.group(1), int(match.group(2)), int(match.group(3))
        if pair not in SETS:
            raise DatasetError(f"{path}: {pair} is none of SBU's 21 sets")
        if not 1 <= action <= len(CLASSES):
            raise DatasetError(f"{path}: class folder {action:02d} is not 01-08")
        train_in = frozenset(p for k, p in enumerate(PROTOCOLS) if k != fold_of[pair])
        records.append(ItemRecord(path, action - 1, SETS.index(pair) + 1, take, train_in=train_in))
    if not records:
        raise DatasetError(
            f"{folder}: no sXXsYY/AA/BBB/skeleton_pos.txt files; give the SBU folder"
        )
    return SkeletonDataset(
        "sbu",
        records,
        CLASSES,
        read_sbu_skeleton,
        protocols=PROTOCOLS,
        default_protocol=PROTOCOLS[0],
    )
