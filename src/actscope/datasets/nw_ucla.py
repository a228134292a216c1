"""NW-UCLA Multiview Action3D: 1484 Kinect v1 skeleton sequences, 10 actions, 10 subjects,
each action seen at once by 3 cameras.

Files ``a{AA}_s{SS}_e{EE}_v{VV}.json`` (the JSON export CTR-GCN's code reads) hold
``{"file_name", "skeletons": T x 20 x [x, y, z], "label": 1-10}``: metres in Kinect camera
space (x towards the sensor's left, y up, z away), joints in the Kinect v1 SDK order, i.e.
the ``kinect_v1_20`` layout as stored (checked by drawing frames, and by the feet pointing
the way the body faces in 94% of frames, docs/datasets/). ``AA`` is the action code (01-06,
08, 09, 11, 12 for the 10 classes, in that order), ``SS`` the subject, ``EE`` the
environment / repetition, ``VV`` the camera (view) 1-3.

Standard protocol (the default): **cross-view**, train on cameras 1 and 2, test on camera 3
(1020 / 464 sequences). ``subjects=...`` splits by subject.

Caveats handled when reading: joints that are exactly (0, 0, 0) are missing (NaN, score 0;
6 joint positions in 2 files), frames with no joint are dropped, and tracker glitches are
repaired as for UTD-MHAD: in 598 sequences a joint jumps more than 0.5 m between frames
(up to 4.5 m; hands, wrists and feet, most in donning and doffing), and in 352 it comes
back within 10 frames and is interpolated (score 0). Sequences run from 1 to 201 frames (the
MANIFEST's "8 to 179" is wrong): ``a02_s09_e04_v02`` and ``_v03`` have a single frame, four
have fewer than 8.

The frame rate is stated nowhere in the data. :data:`FPS` = 15 is an estimate from the
data: at 30 fps the median walking speed in "walk around" would be 1.9 m/s (a jog) and
"sit down" would take 0.9 s; at 15 fps they are 0.9 m/s and 1.7 s.

Wang, Nie, Xia, Wu, Zhu, "Cross-view action modeling, learning and recognition", CVPR 2014.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import numpy as np

from actscope.datasets.skeleton_base import (
    ItemRecord,
    SkeletonDataset,
    check_folder,
    read_json,
    tidy,
)
from actscope.errors import DatasetError
from actscope.pose.layouts import KINECT_V1_20
from actscope.pose.skeleton import Skeleton

log = logging.getLogger(__name__)

CLASSES = (
    "pick up with one hand",
    "pick up with two hands",
    "drop trash",
    "walk around",
    "sit down",
    "stand up",
    "donning",
    "doffing",
    "throw",
    "carry",
)
ACTION_CODES = (1, 2, 3, 4, 5, 6, 8, 9, 11, 12)
"""The file names' action code of each class, in class order."""
TRAIN_CAMERAS = (1, 2)
"""Cross-view protocol: train on cameras 1 and 2, test on camera 3."""
FPS = 15.0
MAX_JUMP = 0.5  # metres between consecutive frames
_NAME = re.compile(r"a(\d+)_s(\d+)_e(\d+)_v(\d+)\.json$")
_JOINTS = KINECT_V1_20.num_joints


def _parse_name(path: Path) -> tuple[int, int, int, int]:
    """(class index, subject, environment, camera) from an NW-UCLA file name."""
    match = _NAME.search(path.name)
    if match is None:
        raise DatasetError(f"{path}: name is not aAA_sSS_eEE_vVV.json")
    action, subject, environment, camera = (int(g) for g in match.groups())
    if action not in ACTION_CODES:
        raise DatasetError(
            f"{path}: action code a{action:02d} is none of NW-UCLA's "
            f"{', '.join(f'a{c:02d}' for c in ACTION_CODES)}"
        )
    return ACTION_CODES.index(action), subject, environment, camera


def read_nw_ucla_skeleton(path: str | os.PathLike) -> Skeleton:
    """One NW-UCLA JSON file as a ``kinect_v1_20`` world skeleton ``(1, T, 20, 3)``, metres."""
    name = os.fspath(path)
    data = read_json(name, "NW-UCLA")
    if not isinstance(data, dict) or "skeletons" not in data:
        raise DatasetError(f"{name}: has no 'skeletons' list; is it an NW-UCLA sequence?")
    try:
        coords = np.asarray(data["skeletons"], dtype=np.float32)
    except (TypeError, ValueError):
        raise DatasetError(f"{name}: 'skeletons' is not a T x 20 x 3 list of numbers") from None
    if coords.ndim != 3 or coords.shape[1:] != (_JOINTS, 3) or len(coords) < 1:
        raise DatasetError(
            f"{name}: 'skeletons' has shape {coords.shape}, expected (frames, 20 joints, 3)"
        )
    label = data.get("label")
    expected = _parse_name(Path(name))[0] + 1
    if label is not None and label != expected:
        raise DatasetError(f"{name}: label {label} disagrees with its name's action ({expected})")
    missing = (coords == 0).all(axis=-1)
    coords[missing] = np.nan
    skeleton = Skeleton(
        coords[None], (~missing).astype(np.float32)[None], KINECT_V1_20.name, FPS, "world", name
    )
    return tidy(skeleton, MAX_JUMP)


def load_nw_ucla(root: str | os.PathLike) -> SkeletonDataset:
    """The NW-UCLA sequences under ``root`` (the dataset folder or its ``all_sqe/``), with
    subject, environment (as trial) and camera of each; default protocol cross-view."""
    folder = check_folder(root, "NW-UCLA")
    if (folder / "all_sqe").is_dir():
        folder = folder / "all_sqe"
    records = []
    for path in sorted(folder.glob("*.json")):
        label, subject, environment, camera = _parse_name(path)
        records.append(ItemRecord(Path(path), label, subject, environment, camera))
    if not records:
        raise DatasetError(f"{folder}: no aAA_sSS_eEE_vVV.json files; give the NW-UCLA folder")
    return SkeletonDataset(
        "nw_ucla",
        records,
        CLASSES,
        read_nw_ucla_skeleton,
        train_cameras=TRAIN_CAMERAS,
        default_protocol="cross-view",
    )
