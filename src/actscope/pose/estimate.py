"""Pose estimation over a video: the estimator interface and the frame loop around it.

An estimator is anything with the small :class:`PoseEstimator` interface; the MediaPipe
backend (:class:`actscope.pose.MediaPipePose`) is the default. :func:`extract_poses` decodes
the video through :mod:`actscope.video` in a background thread while the estimator works
on the previous frames (decoding releases the GIL), keeps every frame (a frame where nobody
is found stays missing, so time stays aligned) and returns a :class:`PoseTrack`.
"""

from __future__ import annotations

import collections
import logging
import os
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from actscope.errors import PoseError
from actscope.pose.estimator import Estimators, PoseEstimator, PoseFrame
from actscope.pose.layouts import get_layout
from actscope.pose.skeleton import Skeleton, load_skeletons, save_skeletons
from actscope.video import Frame, VideoInfo, iter_video_frames, probe

log = logging.getLogger(__name__)

DEFAULT_WORK_SIZE = 480
"""Frames whose short side is longer are decoded at this short side (pixels) for speed;
keypoints are still reported in the video's own pixels."""


@dataclass
class PoseTrack:
    """Poses of one video: ``image`` keypoints (pixels) and, if the estimator gives them,
    ``world`` keypoints (metres), frame-aligned with each other and with the video."""

    image: Skeleton
    world: Skeleton | None = None

    @property
    def num_frames(self) -> int:
        return self.image.num_frames

    @property
    def frames_with_person(self) -> int:
        """Frames in which at least one person was found."""
        return int(self.image.present().any(axis=0).sum()) if self.image.num_people else 0

    def save(self, path: str | os.PathLike) -> None:
        """Write both skeletons to one ``.npz``, atomically."""
        save_skeletons(path, [s for s in (self.image, self.world) if s is not None])

    @classmethod
    def load(cls, path: str | os.PathLike) -> PoseTrack:
        """Read a file :meth:`save` wrote."""
        found = load_skeletons(path)
        if "image" not in found:
            raise PoseError(
                f"{path}: holds no image keypoints (only {', '.join(found)}); "
                "it was not written by extract_poses: re-extract the poses"
            )
        return cls(found["image"], found.get("world"))


def work_short_side(info: VideoInfo, work_size: int | None) -> int | None:
    """Short side to decode at: ``work_size`` when the video is larger, else full size."""
    if work_size is None or min(info.width, info.height) <= work_size:
        return None
    return work_size


def iter_poses(
    video: str | os.PathLike,
    estimator: Estimators,
    *,
    step: int = 1,
    work_size: int | None = DEFAULT_WORK_SIZE,
    allow_partial: bool = False,
    info: VideoInfo | None = None,
    block: int = 64,
    warmup: int = 8,
) -> Iterator[tuple[Frame, PoseFrame]]:
    """Each ``step``-th frame of ``video`` with the poses found in it, in order.

    The frame's image is at the working size (short side at most ``work_size`` pixels);
    the keypoints are in the video's own pixels. Given several estimators (of the same
    kind), consecutive blocks of ``block`` frames go to them in turn, each in its own
    thread; each block is preceded by the ``warmup`` frames before it, whose results are
    discarded, so tracking and smoothing have settled when the block starts.
    """
    estimators = [estimator] if isinstance(estimator, PoseEstimator) else list(estimator)
    if not estimators:
        raise PoseError("no pose estimator given")
    if step < 1:
        raise PoseError(f"step must be at least 1, got {step}")
    info = info or probe(video)
    short_side = work_short_side(info, work_size)
    for one in estimators:
        one.reset()
    frames = _prefetch(
        lambda: iter_video_frames(
            video, step=step, short_side=short_side, allow_partial=allow_partial
        )
    )
    if len(estimators) == 1:
        found = ((frame, estimators[0].estimate(frame.image)) for frame in frames)
    else:
        found = _in_parallel(frames, estimators, block, warmup)
    for frame, people in found:
        height, width = frame.image.shape[:2]
        scale = np.array([info.width / width, info.height / height], np.float32)
        yield (
            frame,
            PoseFrame(people.keypoints * scale, people.scores, people.world, people.world_scores),
        )


def _in_parallel(
    frames: Iterator[Frame], estimators: list[PoseEstimator], block: int, warmup: int
) -> Iterator[tuple[Frame, PoseFrame]]:
    """Blocks of frames to the estimators in turn (one thread each), results in order."""

    def run(estimator: PoseEstimator, lead: list[Frame], chunk: list[Frame]) -> list[PoseFrame]:
        for frame in lead:
            estimator.estimate(frame.image)
        return [estimator.estimate(frame.image) for frame in chunk]

    pools = [ThreadPoolExecutor(1, thread_name_prefix="actscope-pose") for _ in estimators]
    pending: collections.deque = collections.deque()
    try:
        previous: list[Frame] = []
        for index, chunk in enumerate(_chunks(frames, block)):
            worker = index % len(estimators)
            lead = previous[-warmup:] if warmup else []
            pending.append((chunk, pools[worker].submit(run, estimators[worker], lead, chunk)))
            previous = chunk
            while len(pending) > len(estimators):
                done, future = pending.popleft()
                yield from zip(done, future.result(), strict=True)
        while pending:
            done, future = pending.popleft()
            yield from zip(done, future.result(), strict=True)
    finally:
        for pool in pools:
            pool.shutdown(wait=True, cancel_futures=True)


def _chunks(items: Iterator[Frame], size: int) -> Iterator[list[Frame]]:
    chunk: list[Frame] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def default_workers() -> int:
    """Estimator threads by default: one per core, at most two (decoding needs some CPU)."""
    return max(1, min(2, os.cpu_count() or 1))


def default_estimators(workers: int | None = None) -> list[PoseEstimator]:
    """``workers`` (default :func:`default_workers`) new MediaPipe estimators; the caller
    closes them."""
    from actscope.pose.mediapipe_backend import MediaPipePose

    return [MediaPipePose() for _ in range(workers or default_workers())]


def extract_poses(
    video: str | os.PathLike,
    estimator: Estimators | None = None,
    *,
    workers: int | None = None,
    step: int = 1,
    work_size: int | None = DEFAULT_WORK_SIZE,
    allow_partial: bool = False,
    on_frame: Callable[[Frame, PoseFrame], None] | None = None,
) -> PoseTrack:
    """Estimate the poses in every ``step``-th frame of ``video``.

    ``estimator`` defaults to ``workers`` new :class:`~actscope.pose.MediaPipePose`
    instances (``workers`` defaults to :func:`default_workers`); pass one estimator or a
    list of them to use your own (see :func:`iter_poses`). ``on_frame`` is called after each
    frame (progress bars, rendering). A video in which nobody is found gives an empty track
    (no people, every frame kept) and a warning.
    """
    owned: list[PoseEstimator] = []
    if estimator is None:
        owned = estimator = default_estimators(workers)
    elif workers not in (None, 1) and isinstance(estimator, PoseEstimator):
        raise PoseError("workers > 1 needs a list of estimators, one per worker")
    first = estimator if isinstance(estimator, PoseEstimator) else estimator[0]
    try:
        info = probe(video)
        results: list[PoseFrame] = []
        for frame, found in iter_poses(
            video,
            estimator,
            step=step,
            work_size=work_size,
            allow_partial=allow_partial,
            info=info,
        ):
            results.append(found)
            if on_frame is not None:
                on_frame(frame, found)
    finally:
        for one in owned:
            one.close()
    track = _assemble(results, first, info, step, os.fspath(video))
    if track.image.num_people == 0:
        log.warning(
            "%s: no person found in any of its %d frames; the pose track is empty",
            os.fspath(video),
            len(results),
        )
    return track


def _assemble(
    results: list[PoseFrame], estimator: PoseEstimator, info: VideoInfo, step: int, source: str
) -> PoseTrack:
    """Stack per-frame results into skeletons: slot p of every frame is person p."""
    joints = get_layout(estimator.layout).num_joints
    people = max((r.num_people for r in results), default=0)
    frames = len(results)
    fps = info.fps / step if info.fps > 0 else 30.0 / step
    meta = {"source": source, "image_size": (info.width, info.height)}
    image = np.full((people, frames, joints, 2), np.nan, np.float32)
    image_scores = np.zeros((people, frames, joints), np.float32)
    world = np.full((people, frames, joints, 3), np.nan, np.float32)
    world_scores = np.zeros((people, frames, joints), np.float32)
    for t, found in enumerate(results):
        count = found.num_people
        image[:count, t] = found.keypoints
        image_scores[:count, t] = found.scores
        if found.world is not None:
            world[:count, t] = found.world
            world_scores[:count, t] = found.world_scores
    layout = estimator.layout
    image_track = Skeleton(image, image_scores, layout, fps, "image", **meta)
    world_track = (
        Skeleton(world, world_scores, layout, fps, "world", **meta) if estimator.has_world else None
    )
    return PoseTrack(image_track, world_track)


T = TypeVar("T")


@dataclass
class _End:
    error: BaseException | None = None


def _prefetch(make: Callable[[], Iterator[T]], depth: int = 8) -> Iterator[T]:
    """Run the iterator ``make()`` in a background thread, ``depth`` items ahead.

    Errors in the thread are raised here; closing this generator stops the thread.
    """
    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        source = make()
        try:
            for item in source:
                if not put(item):
                    return
            put(_End())
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(_End(exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=work, name="actscope-decode", daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item
    finally:
        stop.set()
        thread.join()
