"""Datasets: loaders for skeleton datasets, their standard splits, and a torch wrapper.

Loaders return a :class:`SkeletonDataset` (items read lazily) with class names and the
standard cross-subject training subjects; :func:`cross_subject` splits it. Video is never
decoded here: poses of videos come from :mod:`actscope.pose`. The torch wrapper is in
:mod:`actscope.datasets.skeleton_torch` (imported on its own because it needs torch).
"""

from actscope.datasets.msr_action3d import load_msr_action3d, read_msr_skeleton
from actscope.datasets.ntu import load_ntu, read_ntu_skeleton
from actscope.datasets.skeleton_base import (
    ItemRecord,
    SkeletonDataset,
    SkeletonItem,
    cross_subject,
    cross_view,
)
from actscope.datasets.skeleton_folder import load_skeleton_folder, load_video_folder
from actscope.datasets.utd_mhad import load_utd_mhad, read_utd_mhad_skeleton
from actscope.datasets.utd_mhad_openpose import load_utd_mhad_openpose, read_openpose_csv

__all__ = [
    "ItemRecord",
    "SkeletonDataset",
    "SkeletonItem",
    "cross_subject",
    "cross_view",
    "load_msr_action3d",
    "load_ntu",
    "load_skeleton_folder",
    "load_utd_mhad",
    "load_utd_mhad_openpose",
    "load_video_folder",
    "read_msr_skeleton",
    "read_ntu_skeleton",
    "read_openpose_csv",
    "read_utd_mhad_skeleton",
]
