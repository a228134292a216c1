"""Extracting and caching the poses of a whole folder of videos, resumably.

Each video ``DIR/sub/clip.mp4`` gets ``CACHE/sub/clip.mp4.npz`` (a :class:`PoseTrack`),
written atomically, so a file that exists is complete. A second run skips the videos whose
cache file reads back, and retries the ones that failed or were interrupted.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from actscope.errors import ActscopeError, PoseError
from actscope.files import is_video_name
from actscope.pose.estimate import (
    DEFAULT_WORK_SIZE,
    PoseEstimator,
    PoseFrame,
    PoseTrack,
    default_estimators,
    extract_poses,
)
from actscope.pose.skeleton import load_skeletons
from actscope.video import Frame

log = logging.getLogger(__name__)

DEFAULT_CACHE_NAME = "poses"


def find_videos(root: str | os.PathLike, exclude: Path | None = None) -> list[Path]:
    """Video files under ``root`` (recursively, by suffix), sorted; ``exclude`` is skipped."""
    folder = Path(root)
    if not folder.is_dir():
        raise PoseError(f"{folder}: not a folder; give a folder of videos")
    skip = exclude.resolve() if exclude is not None else None
    found = []
    for path in folder.rglob("*"):
        if not is_video_name(path) or not path.is_file():
            continue
        if skip is not None and skip in path.resolve().parents:
            continue
        found.append(path)
    return sorted(found)


def cache_file(video: Path, root: Path, cache_dir: Path) -> Path:
    """Where the poses of ``video`` are cached: its path under ``root`` (or, for a video
    outside ``root``, its name) below ``cache_dir``."""
    try:
        relative = video.relative_to(root)
    except ValueError:
        relative = Path(video.name)
    return cache_dir / relative.parent / f"{relative.name}.npz"


def is_cached(path: Path) -> bool:
    """The cache file exists and reads back (right format and version)."""
    if not path.is_file():
        return False
    try:
        load_skeletons(path)
    except PoseError as exc:
        log.info("%s: re-extracting (%s)", path, exc)
        return False
    return True


@dataclass
class FolderReport:
    """What :func:`extract_folder` did: videos extracted now, found cached, and failed
    (with the error message)."""

    extracted: list[Path] = field(default_factory=list)
    cached: list[Path] = field(default_factory=list)
    failed: dict[Path, str] = field(default_factory=dict)


def extract_folder(
    root: str | os.PathLike,
    cache_dir: str | os.PathLike | None = None,
    *,
    videos: list[Path] | None = None,
    estimators: list[PoseEstimator] | None = None,
    workers: int | None = None,
    work_size: int | None = DEFAULT_WORK_SIZE,
    on_video: Callable[[Path, int, int], None] | None = None,
    on_frame: Callable[[Frame, PoseFrame], None] | None = None,
) -> FolderReport:
    """Extract and cache the poses of every video under ``root`` (or of ``videos``).

    ``cache_dir`` defaults to ``root/poses``. ``on_video(path, index, count)`` is called
    before each of the ``count`` videos that need extracting. A video that cannot be read
    is reported in :attr:`FolderReport.failed` and the others go on.
    """
    root = Path(root)
    cache = Path(cache_dir) if cache_dir is not None else root / DEFAULT_CACHE_NAME
    videos = videos if videos is not None else find_videos(root, exclude=cache)
    report = FolderReport()
    todo = []
    for video in videos:
        if is_cached(cache_file(video, root, cache)):
            report.cached.append(video)
        else:
            todo.append(video)
    if not todo:
        return report
    owned: list[PoseEstimator] = []
    if estimators is None:
        owned = estimators = default_estimators(workers)
    try:
        for index, video in enumerate(todo):
            if on_video is not None:
                on_video(video, index, len(todo))
            try:
                track: PoseTrack = extract_poses(
                    video, estimators, work_size=work_size, on_frame=on_frame
                )
                track.save(cache_file(video, root, cache))
            except ActscopeError as exc:
                log.info("%s: skipped: %s", video, exc)
                report.failed[video] = str(exc)
                continue
            report.extracted.append(video)
    finally:
        for estimator in owned:
            estimator.close()
    return report
