"""The :class:`Skeleton`: joint coordinates of up to M people over T frames, and its files.

Files are ``.npz`` archives (no pickles) holding one or more skeletons of the same video, one
per coordinate space (e.g. MediaPipe's ``image`` keypoints beside its ``world`` keypoints),
with a format name and version. Version 2 added per-frame timestamps (for sensors that record
frames unevenly); version 1 files still load, and a file of any other version is refused
with a clear error.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from actscope.errors import PoseError
from actscope.files import atomic_path
from actscope.pose.layouts import Layout, get_layout

if TYPE_CHECKING:
    import torch

SPACES = ("image", "world", "normalized", "camera")
"""``image``: pixels of the video (or the source's image units), the layout's image axes;
``world``: metres in the source's 3D axes; ``normalized``: canonical axes, centred on the
pelvis and scaled by torso length (see :func:`actscope.pose.normalize`); ``camera``: metres
in the source's 3D axes with the origin at the camera, estimated world keypoints placed
where the camera saw them (:mod:`actscope.pose.camera`; MediaPipe's ``world`` is centred on
the hips instead)."""

FORMAT = "actscope.skeleton"
FORMAT_VERSION = 2
"""Written by this actscope: 2 stores ``timestamps`` (an empty array for evenly spaced frames)."""
READABLE_VERSIONS = (1, 2)
# Preference when a file holds several spaces and the caller names none: 3D first.
_LOAD_PREFERENCE = ("world", "camera", "image", "normalized")


@dataclass
class Skeleton:
    """Joint coordinates over time.

    ``coords`` is ``(M, T, V, C)`` float32 (M people, T frames, V joints of ``layout``,
    C = 2 or 3 coordinates), NaN where a joint is missing; ``scores`` is ``(M, T, V)`` in
    [0, 1] (0 where missing). Frame ``t`` is at ``t / fps`` seconds, unless ``timestamps``
    ``(T,)`` (seconds, strictly increasing) gives each frame's time: frames recorded unevenly
    (a sensor that drops frames), where ``fps`` is the nominal rate, the one
    :meth:`resample` makes by default. ``space`` is one of :data:`SPACES`; ``image_size``
    is the video's ``(width, height)`` in pixels where known; ``source`` names where the
    data came from (a file path, an estimator).
    """

    coords: np.ndarray
    scores: np.ndarray
    layout: str
    fps: float
    space: str
    source: str = ""
    image_size: tuple[int, int] | None = None
    timestamps: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.coords = np.ascontiguousarray(self.coords, dtype=np.float32)
        self.scores = np.ascontiguousarray(self.scores, dtype=np.float32)
        layout = get_layout(self.layout)
        self.layout = layout.name
        if self.coords.ndim != 4 or self.coords.shape[-1] not in (2, 3):
            raise PoseError(
                f"skeleton coordinates must have shape (M, T, V, 2 or 3), got {self.coords.shape}"
            )
        if self.coords.shape[2] != layout.num_joints:
            raise PoseError(
                f"layout {layout.name!r} has {layout.num_joints} joints but the coordinates "
                f"have {self.coords.shape[2]}"
            )
        if self.scores.shape != self.coords.shape[:3]:
            raise PoseError(
                f"scores must have shape (M, T, V) = {self.coords.shape[:3]}, "
                f"got {self.scores.shape}"
            )
        if self.space not in SPACES:
            raise PoseError(f"unknown coordinate space {self.space!r}; use one of {SPACES}")
        if not (self.fps > 0 and math.isfinite(self.fps)):
            raise PoseError(f"fps must be a positive number, got {self.fps}")
        self.fps = float(self.fps)
        if self.image_size is not None:
            self.image_size = (int(self.image_size[0]), int(self.image_size[1]))
        if self.timestamps is not None:
            self.timestamps = _checked_timestamps(self.timestamps, self.coords.shape[1])
        missing = np.isnan(self.coords).any(axis=-1)
        partial = missing & ~np.isnan(self.coords).all(axis=-1)
        if partial.any():  # a joint is missing as a whole, never one axis of it
            self.coords = self.coords.copy()
            self.coords[partial] = np.nan
        self.scores = np.nan_to_num(np.clip(self.scores, 0.0, 1.0), nan=0.0)
        self.scores[missing] = 0.0

    @classmethod
    def empty(
        cls,
        layout: str,
        num_frames: int,
        fps: float,
        space: str,
        channels: int = 2,
        **meta: Any,
    ) -> Skeleton:
        """A track with nobody in it: ``(0, num_frames, V, channels)``, time still aligned."""
        joints = get_layout(layout).num_joints
        return cls(
            np.zeros((0, num_frames, joints, channels), np.float32),
            np.zeros((0, num_frames, joints), np.float32),
            layout,
            fps,
            space,
            **meta,
        )

    # --- shape -----------------------------------------------------------------------

    num_people = property(lambda self: self.coords.shape[0], doc="M, people (slots).")
    num_frames = property(lambda self: self.coords.shape[1], doc="T, frames.")
    num_joints = property(lambda self: self.coords.shape[2], doc="V, joints of the layout.")
    channels = property(lambda self: self.coords.shape[3], doc="C, 2 or 3 coordinates.")

    @property
    def even(self) -> bool:
        """Frames evenly spaced at ``fps`` (no per-frame ``timestamps``)."""
        return self.timestamps is None

    @property
    def duration(self) -> float:
        """Seconds covered: from the first frame's time to one period (``1 / fps``) after
        the last frame's, i.e. ``num_frames / fps`` for evenly spaced frames."""
        if self.timestamps is None or not self.num_frames:
            return self.num_frames / self.fps
        return float(self.timestamps[-1] - self.timestamps[0]) + 1.0 / self.fps

    @property
    def times(self) -> np.ndarray:
        """``(T,)`` time of each frame in seconds (a copy of ``timestamps`` if given)."""
        if self.timestamps is not None:
            return self.timestamps.copy()
        return np.arange(self.num_frames) / self.fps

    @property
    def joints(self) -> tuple[str, ...]:
        return get_layout(self.layout).joints

    def get_layout(self) -> Layout:
        return get_layout(self.layout)

    def present(self) -> np.ndarray:
        """``(M, T)`` bool: the person has at least one joint in the frame."""
        return ~np.isnan(self.coords).all(axis=(2, 3))

    # --- derived skeletons -------------------------------------------------------------

    def replace(self, **changes: Any) -> Skeleton:
        """A copy with some fields changed (arrays are validated again)."""
        return dataclasses.replace(self, **changes)

    def frames(self, start: int, stop: int | None = None) -> Skeleton:
        """Frames ``start`` to ``stop`` (exclusive), like a slice. Evenly spaced frames
        start again at time 0; timestamped frames keep their times."""
        return self.take(slice(start, stop))

    def take(self, index: slice | np.ndarray) -> Skeleton:
        """The frames at ``index`` (a slice, a ``(T,)`` bool mask or increasing frame
        indices), with their timestamps if the skeleton has them."""
        stamps = None if self.timestamps is None else self.timestamps[index]
        return self.replace(
            coords=self.coords[:, index], scores=self.scores[:, index], timestamps=stamps
        )

    def slice_time(self, start: float, end: float | None = None) -> Skeleton:
        """Frames whose time (:attr:`times`) lies in ``[start, end)`` seconds."""
        if self.timestamps is not None:
            first = int(np.searchsorted(self.timestamps, start - 1e-9, side="left"))
            stop = None
            if end is not None:
                stop = max(first, int(np.searchsorted(self.timestamps, end - 1e-9, side="left")))
            return self.frames(first, stop)
        first = max(0, math.ceil(start * self.fps - 1e-9))
        stop = None if end is None else max(first, math.ceil(end * self.fps - 1e-9))
        return self.frames(first, stop)

    def resample(
        self,
        fps: float | None = None,
        *,
        start: float | None = None,
        max_gap: float | None = None,
    ) -> Skeleton:
        """Evenly spaced frames at ``fps`` (default: :attr:`fps`), from their times.

        Frame ``k`` of the result is at ``start + k / fps`` seconds of this skeleton's time
        (``start`` defaults to the first frame's time; ``start=0`` keeps the time line of a
        recording whose first frame is late), up to the last frame's time. Each joint is
        interpolated linearly between the frames recorded before and after that time (its
        score too); it is missing where either of them misses it, before the first frame,
        and inside gaps between frames longer than ``max_gap`` seconds (default: no limit).
        Evenly spaced frames already at ``fps`` from ``start`` come back unchanged.
        """
        rate = float(fps or self.fps)
        if not (rate > 0 and math.isfinite(rate)):
            raise PoseError(f"fps must be a positive number, got {fps}")
        if max_gap is not None and not max_gap > 0:
            raise PoseError(f"max_gap must be a positive number of seconds, got {max_gap}")
        times = self.times
        origin = float(times[0]) if start is None and len(times) else float(start or 0.0)
        if self.timestamps is None and rate == self.fps and abs(origin) < 1e-9:
            return self
        if not len(times) or times[-1] < origin - 1e-9:
            return Skeleton.empty(
                self.layout,
                0,
                rate,
                self.space,
                self.channels,
                source=self.source,
                image_size=self.image_size,
            )
        grid = origin + np.arange(math.floor((times[-1] - origin) * rate + 1e-6) + 1) / rate
        after = np.clip(np.searchsorted(times, grid - 1e-9), 0, len(times) - 1)  # first >= t
        exact = np.abs(times[after] - grid) < 1e-6
        before = np.where(exact, after, np.maximum(after - 1, 0))
        span = times[after] - times[before]
        weight = np.where(span > 0, (grid - times[before]) / np.where(span > 0, span, 1.0), 0.0)
        outside = grid < times[0] - 1e-6
        if max_gap is not None:
            outside |= ~exact & (span > max_gap)
        w = weight[None, :, None]
        coords = self.coords[:, before] * (1 - w[..., None]) + self.coords[:, after] * w[..., None]
        scores = self.scores[:, before] * (1 - w) + self.scores[:, after] * w
        coords[:, outside] = np.nan
        scores[:, outside] = 0.0
        return self.replace(coords=coords, scores=scores, fps=rate, timestamps=None)

    def people(self, indices: Iterable[int]) -> Skeleton:
        """Only the people at ``indices`` (in that order)."""
        chosen = list(indices)
        return self.replace(coords=self.coords[chosen], scores=self.scores[chosen])

    def to_2d(self) -> Skeleton:
        """The first two coordinates only (x, y): drops depth."""
        return self.replace(coords=self.coords[..., :2])

    # --- model input ---------------------------------------------------------------------

    def to_numpy(self, max_people: int | None = None, fill: float = 0.0) -> np.ndarray:
        """``(C, T, V, M)`` float32 with missing joints set to ``fill``.

        ``max_people`` pads with absent people (all ``fill``) or keeps the first ones.
        """
        people = self.num_people if max_people is None else max_people
        out = np.full((self.channels, self.num_frames, self.num_joints, people), fill, np.float32)
        kept = min(people, self.num_people)
        coords = np.nan_to_num(self.coords[:kept], nan=fill)
        out[..., :kept] = coords.transpose(3, 1, 2, 0)
        return out

    def to_tensor(self, max_people: int | None = None, fill: float = 0.0) -> torch.Tensor:
        """``(C, T, V, M)`` float32 tensor for models; see :meth:`to_numpy`."""
        import torch

        return torch.from_numpy(self.to_numpy(max_people, fill))

    # --- files ---------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> None:
        """Write this skeleton to a ``.npz`` file, atomically."""
        save_skeletons(path, [self])

    @classmethod
    def load(cls, path: str | os.PathLike, space: str | None = None) -> Skeleton:
        """Read the skeleton in ``space`` from a file :meth:`save` or :func:`save_skeletons`
        wrote; with ``space=None`` the file's only one, else world, image, normalized."""
        found = load_skeletons(path)
        if space is None:
            space = next(s for s in _LOAD_PREFERENCE if s in found)
        if space not in found:
            raise PoseError(
                f"{path}: holds no {space!r} skeleton (it holds: {', '.join(found)}); "
                "ask for one of those"
            )
        return found[space]

    def to_json_dict(self) -> dict:
        """Plain data: metadata, then per frame per person ``[x, y, (z,) score]`` per joint
        (``None`` for a missing joint)."""
        frames = []
        times = self.times
        for t in range(self.num_frames):
            people = [
                [self._joint_json(m, t, v) for v in range(self.num_joints)]
                for m in range(self.num_people)
            ]
            frames.append({"index": t, "time": round(float(times[t]), 6), "people": people})
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "layout": self.layout,
            "joints": list(self.joints),
            "space": self.space,
            "fps": self.fps,
            "image_size": list(self.image_size) if self.image_size else None,
            "source": self.source,
            "frames": frames,
        }

    def _joint_json(self, m: int, t: int, v: int) -> list[float] | None:
        point = self.coords[m, t, v]
        if np.isnan(point[0]):
            return None
        return [*(round(float(c), 4) for c in point), round(float(self.scores[m, t, v]), 4)]

    def save_json(self, path: str | os.PathLike) -> None:
        """Write :meth:`to_json_dict` to ``path``, atomically."""
        with atomic_path(path) as temp:
            temp.write_text(json.dumps(self.to_json_dict()))


def save_skeletons(path: str | os.PathLike, skeletons: Iterable[Skeleton]) -> None:
    """Write several skeletons of one video (one per coordinate space) to one ``.npz``."""
    skeletons = list(skeletons)
    spaces = [s.space for s in skeletons]
    if not skeletons or len(set(spaces)) != len(spaces):
        raise PoseError(f"give one skeleton per coordinate space, got spaces {spaces}")
    arrays: dict[str, np.ndarray] = {
        "format": np.array(FORMAT),
        "version": np.array(FORMAT_VERSION),
        "spaces": np.array(spaces),
    }
    for skeleton in skeletons:
        key = skeleton.space
        arrays[f"{key}.coords"] = skeleton.coords
        arrays[f"{key}.scores"] = skeleton.scores
        arrays[f"{key}.layout"] = np.array(skeleton.layout)
        arrays[f"{key}.fps"] = np.array(skeleton.fps)
        arrays[f"{key}.source"] = np.array(skeleton.source)
        size = skeleton.image_size
        arrays[f"{key}.image_size"] = np.array(size if size else [], dtype=np.int64)
        stamps = skeleton.timestamps
        arrays[f"{key}.timestamps"] = np.array([] if stamps is None else stamps, np.float64)
    with atomic_path(path) as temp, open(temp, "wb") as handle:
        np.savez_compressed(handle, **arrays)


def load_skeletons(path: str | os.PathLike) -> dict[str, Skeleton]:
    """All skeletons in a file written by :func:`save_skeletons`, keyed by space."""
    name = os.fspath(path)
    if not os.path.isfile(name):
        raise PoseError(f"{name}: no such skeleton file; check the path")
    expected = "a .npz that `actscope pose` or Skeleton.save writes"
    try:
        loaded = np.load(name, allow_pickle=False)
    except ValueError:
        with open(name, "rb") as handle:
            pickled = handle.read(1) == b"\x80"  # the opcode every binary pickle starts with
        what = "a Python pickle, which is never loaded" if pickled else "not .npz data"
        raise PoseError(f"{name}: not a skeleton file ({what}); give {expected}") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise PoseError(
            f"{name}: not a readable skeleton file ({exc}); give {expected}, or re-extract "
            "the poses"
        ) from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise PoseError(f"{name}: a single .npy array, not a skeleton file; give {expected}")
    try:
        with loaded as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        reason = (
            "it holds Python objects, which are never loaded"
            if "allow_pickle" in str(exc)
            else str(exc)
        )
        raise PoseError(
            f"{name}: not a readable skeleton file ({reason}); give {expected}"
        ) from None
    if "format" not in arrays or str(arrays["format"]) != FORMAT:
        raise PoseError(f"{name}: not an actscope skeleton file (no {FORMAT!r} format tag)")
    version = int(arrays["version"]) if "version" in arrays else -1
    if version not in READABLE_VERSIONS:
        raise PoseError(
            f"{name}: skeleton file format version {version}, but this actscope reads versions "
            f"{' and '.join(map(str, READABLE_VERSIONS))}; re-extract the poses with this "
            "version of actscope"
        )
    found = {}
    try:
        for space in (str(s) for s in arrays["spaces"]):
            size = arrays[f"{space}.image_size"]
            stamps = arrays.get(f"{space}.timestamps") if version >= 2 else None
            if version >= 2 and stamps is None:
                raise KeyError(f"{space}.timestamps")
            found[space] = Skeleton(
                coords=arrays[f"{space}.coords"],
                scores=arrays[f"{space}.scores"],
                layout=str(arrays[f"{space}.layout"]),
                fps=float(arrays[f"{space}.fps"]),
                space=space,
                source=str(arrays[f"{space}.source"]),
                image_size=(int(size[0]), int(size[1])) if size.size == 2 else None,
                timestamps=stamps if stamps is not None and stamps.size else None,
            )
    except KeyError as exc:
        raise PoseError(f"{name}: incomplete skeleton file, {exc} is missing; re-extract") from exc
    except PoseError as exc:
        raise PoseError(f"{name}: {exc}") from exc
    return found


def _checked_timestamps(timestamps: object, frames: int) -> np.ndarray:
    """``timestamps`` as ``(frames,)`` float64 seconds, finite and strictly increasing."""
    try:
        stamps = np.array(timestamps, dtype=np.float64)
    except (TypeError, ValueError):
        raise PoseError(f"timestamps must be numbers (seconds), got {timestamps!r:.60}") from None
    if stamps.shape != (frames,):
        raise PoseError(f"timestamps must have shape (T,) = ({frames},), got {stamps.shape}")
    if not np.isfinite(stamps).all():
        raise PoseError("timestamps must be finite numbers of seconds")
    if (np.diff(stamps) <= 0).any():
        at = int(np.flatnonzero(np.diff(stamps) <= 0)[0]) + 1
        raise PoseError(
            f"timestamps must increase strictly: frame {at} is at {stamps[at]:g} s, not after "
            f"frame {at - 1} at {stamps[at - 1]:g} s"
        )
    return stamps
