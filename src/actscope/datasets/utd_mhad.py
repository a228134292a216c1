"""UTD-MHAD: 861 Kinect v1 skeleton sequences, 27 actions, 8 subjects, 4 trials.

Files ``Skeleton/a{action}_s{subject}_t{trial}_skeleton.mat`` hold ``d_skel`` of shape
``(20 joints, 3, T)`` in metres in Kinect camera space, joints in the dataset's own order
(``Skeleton_joint_order.txt``: head, shoulder centre, spine, hip centre, then the limbs as
Kinect's SDK orders them). They are reordered to the ``kinect_v1_20`` layout when read.

Caveats handled when reading (see docs/pose.md): frames that are all zeros are dropped, and
tracker glitches (a joint jumping more than 0.5 m between frames and coming back within 10
frames; 53 sequences have jumps this large) are replaced by interpolation with score 0.
The frame rate is not stored; the dataset's paper records with a Kinect at 30 fps.

Chen, Jafari, Kehtarnavaz, "UTD-MHAD: A multimodal dataset for human action recognition
utilizing a depth camera and a wearable inertial sensor", ICIP 2015.
"""

from __future__ import annotations

import logging
import os
import re
import zipfile

import numpy as np

from actscope.datasets.skeleton_base import (
    SkeletonDataset,
    check_folder,
    records_from_names,
    tidy,
)
from actscope.errors import DatasetError
from actscope.pose.layouts import KINECT_V1_20
from actscope.pose.skeleton import Skeleton

log = logging.getLogger(__name__)

CLASSES = (
    "right arm swipe to the left",
    "right arm swipe to the right",
    "right hand wave",
    "two hand front clap",
    "right arm throw",
    "cross arms in the chest",
    "basketball shooting",
    "draw x",
    "draw circle (clockwise)",
    "draw circle (counter clockwise)",
    "draw triangle",
    "bowling (right hand)",
    "front boxing",
    "baseball swing from right",
    "tennis forehand swing",
    "arm curl (two arms)",
    "tennis serve",
    "two hand push",
    "knock on door",
    "hand catch",
    "pick up and throw",
    "jogging",
    "walking",
    "sit to stand",
    "stand to sit",
    "forward lunge (left foot forward)",
    "squat",
)
TRAIN_SUBJECTS = (1, 3, 5, 7)
"""Cross-subject protocol of the dataset's paper: train on 1, 3, 5, 7; test on 2, 4, 6, 8."""
FPS = 30.0
MAX_JUMP = 0.5  # metres between consecutive frames
FILE_ORDER = (
    "head",
    "shoulder_center",
    "spine",
    "hip_center",
    *KINECT_V1_20.joints[4:],
)
"""Joint order of the ``.mat`` files (``Skeleton_joint_order.txt``)."""
_TO_LAYOUT = np.array([FILE_ORDER.index(joint) for joint in KINECT_V1_20.joints])
_NAME = re.compile(r"a(\d+)_s(\d+)_t(\d+)_skeleton\.mat$")


def read_utd_mhad_skeleton(path: str | os.PathLike) -> Skeleton:
    """One UTD-MHAD ``.mat`` file as a ``kinect_v1_20`` world skeleton ``(1, T, 20, 3)``."""
    import scipy.io

    name = os.fspath(path)
    try:
        data = scipy.io.loadmat(name, variable_names=["d_skel"])
    except FileNotFoundError:
        raise DatasetError(f"{name}: no such file") from None
    except (ValueError, OSError, TypeError, zipfile.BadZipFile, NotImplementedError) as exc:
        raise DatasetError(
            f"{name}: not a readable MATLAB .mat file ({exc}); re-download it"
        ) from exc
    if "d_skel" not in data:
        raise DatasetError(f"{name}: has no 'd_skel' variable; is it a UTD-MHAD skeleton file?")
    skel = np.asarray(data["d_skel"], dtype=np.float32)
    if skel.ndim != 3 or skel.shape[:2] != (20, 3) or skel.shape[2] < 1:
        raise DatasetError(
            f"{name}: d_skel has shape {skel.shape}, expected (20 joints, 3, frames)"
        )
    coords = skel.transpose(2, 0, 1)[:, _TO_LAYOUT][None]  # (1, T, 20, 3)
    skeleton = Skeleton(
        coords, np.ones(coords.shape[:3], np.float32), KINECT_V1_20.name, FPS, "world", name
    )
    return tidy(skeleton, MAX_JUMP)


def load_utd_mhad(root: str | os.PathLike) -> SkeletonDataset:
    """The UTD-MHAD skeletons under ``root`` (the dataset folder or its ``Skeleton/``)."""
    folder = check_folder(root, "UTD-MHAD")
    if (folder / "Skeleton").is_dir():
        folder = folder / "Skeleton"
    records = records_from_names(
        sorted(folder.glob("*_skeleton.mat")), _NAME, "a{action}_s{subject}_t{trial}_skeleton.mat"
    )
    if not records:
        raise DatasetError(f"{folder}: no *_skeleton.mat files; give the UTD-MHAD folder")
    return SkeletonDataset(
        "utd_mhad", records, CLASSES, read_utd_mhad_skeleton, train_subjects=TRAIN_SUBJECTS
    )
