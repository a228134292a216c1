"""Poses: the :class:`Skeleton` type, joint layouts and conversion, estimation, rendering.

Nothing here knows about action classes. MediaPipe is imported only when an estimator is
created, and rendering (OpenCV) only when :mod:`actscope.pose.render` is imported.
"""

from actscope.pose.cleaning import drop_empty_frames, interpolate_missing, repair_jumps
from actscope.pose.convert import convert, from_body15, normalize, to_body15
from actscope.pose.estimate import (
    PoseEstimator,
    PoseFrame,
    PoseTrack,
    extract_poses,
    iter_poses,
)
from actscope.pose.layouts import BODY15_JOINTS, LAYOUTS, Layout, get_layout
from actscope.pose.skeleton import Skeleton, load_skeletons, save_skeletons


def __getattr__(name: str):
    if name == "MediaPipePose":  # imports nothing heavy until asked for
        from actscope.pose.mediapipe_backend import MediaPipePose

        return MediaPipePose
    raise AttributeError(f"module 'actscope.pose' has no attribute {name!r}")


__all__ = [
    "BODY15_JOINTS",
    "LAYOUTS",
    "Layout",
    "MediaPipePose",  # provided lazily by __getattr__
    "PoseEstimator",
    "PoseFrame",
    "PoseTrack",
    "Skeleton",
    "convert",
    "drop_empty_frames",
    "extract_poses",
    "from_body15",
    "get_layout",
    "interpolate_missing",
    "iter_poses",
    "load_skeletons",
    "normalize",
    "repair_jumps",
    "save_skeletons",
    "to_body15",
]
