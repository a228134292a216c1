"""Datasets: loaders for skeleton datasets, their standard splits, and a torch wrapper.

Loaders return a :class:`SkeletonDataset` (items read lazily) with class names and its
standard protocol: training subjects (:func:`cross_subject`), training cameras
(:func:`cross_view`) or protocols of its own (:func:`protocol_split`). Video is never
decoded here: poses of videos come from :mod:`actscope.pose`. The torch wrapper is in
:mod:`actscope.datasets.skeleton_torch` (imported on its own because it needs torch).
"""

from actscope.datasets.jhmdb import load_jhmdb
from actscope.datasets.msr_action3d import load_msr_action3d, read_msr_skeleton
from actscope.datasets.ntu import load_ntu, read_ntu_skeleton
from actscope.datasets.nw_ucla import load_nw_ucla, read_nw_ucla_skeleton
from actscope.datasets.penn_action import load_penn_action, read_penn_action
from actscope.datasets.sbu import load_sbu, read_sbu_skeleton
from actscope.datasets.skeleton_base import (
    ItemRecord,
    SkeletonDataset,
    SkeletonItem,
    cross_subject,
    cross_view,
    known_protocols,
    protocol_split,
)
from actscope.datasets.skeleton_folder import load_skeleton_folder, load_video_folder
from actscope.datasets.urfall import URFallSequence, load_urfall, read_urfall_csv
from actscope.datasets.utd_mhad import load_utd_mhad, read_utd_mhad_skeleton
from actscope.datasets.utd_mhad_openpose import load_utd_mhad_openpose, read_openpose_csv
from actscope.datasets.utkinect import (
    load_utkinect,
    load_utkinect_recordings,
    read_utkinect_raw,
    read_utkinect_recording,
)

__all__ = [
    "ItemRecord",
    "SkeletonDataset",
    "SkeletonItem",
    "URFallSequence",
    "cross_subject",
    "cross_view",
    "known_protocols",
    "load_jhmdb",
    "load_msr_action3d",
    "load_ntu",
    "load_nw_ucla",
    "load_penn_action",
    "load_sbu",
    "load_skeleton_folder",
    "load_urfall",
    "load_utd_mhad",
    "load_utd_mhad_openpose",
    "load_utkinect",
    "load_utkinect_recordings",
    "load_video_folder",
    "protocol_split",
    "read_msr_skeleton",
    "read_ntu_skeleton",
    "read_nw_ucla_skeleton",
    "read_openpose_csv",
    "read_penn_action",
    "read_sbu_skeleton",
    "read_urfall_csv",
    "read_utd_mhad_skeleton",
    "read_utkinect_raw",
    "read_utkinect_recording",
]
