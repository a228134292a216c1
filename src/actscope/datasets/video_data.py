"""Video datasets for RGB models: lists of labelled files, splits, and a torch dataset of clips.

Two layouts are read:

* ``video-folder``: one folder per class, ``ROOT/<class>/<video>`` (UCF101, HMDB51). Class
  names are the folder names, sorted.
* ``kinetics-csv``: every ``*.csv`` file in ``ROOT`` (or the files named by the ``csv``
  option), either in Kinetics' own form ``label,youtube_id,time_start,time_end,split`` with
  videos at ``ROOT/<split>/<label>/<youtube_id>_<start:06d>_<end:06d>.mp4``, or simply
  ``path,label`` (plus an optional ``split`` column) with paths relative to ``ROOT``.
  Listed videos that are not on disk are skipped with one warning (Kinetics downloads always
  miss some).

Splits (``--protocol``): ``split=0.8`` (default without a split column): a random 80/20
split of the files of each class, seeded by ``seed`` (``split=0.8,seed=3``; default 0, so a
later ``actscope eval`` sees the same test files); ``testlist=FILE``: the files listed in a
UCF101-style ``testlist01.txt`` (paths relative to ``ROOT``, first word of each line) are
the test set; ``column`` (default when the CSV has a split column): rows whose split is
``train`` train, the others (``val``, ``validate``, ``test``) test.

:class:`VideoClipDataset` decodes through :mod:`actscope.video`. Training items are one
random clip (a dense clip at a random offset, or one random frame per segment for segment
models), the short side resized to a random length in ``[resize, jitter * resize]``, a random
``size`` crop and a random horizontal flip. Test items are ``clips`` clips spread evenly over
the video times ``crops`` spatial crops (1: centre; 3: :class:`ThreeCrop`), returned as
``(V, C, T, size, size)`` for ``evaluate(..., views=True)``, or ``(C, T, size, size)`` when
there is one view. A video that cannot be opened is dropped with one warning; one whose
frames stop decoding part-way is read as far as it decodes.

Decoding dominates when clips are small: with ``cache`` a folder, each video is decoded once
into ``cache_clips`` clips at the ``resize`` short side (uint8 ``.npy``, written atomically),
and training picks one of those clips at random instead of any offset.
"""

from __future__ import annotations

import csv
import hashlib
import inspect
import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset
from torchvision.transforms.v2 import functional as F

from actscope.datasets.base import DataConfig, TrainingData
from actscope.errors import ActscopeError, ConfigError, DatasetError
from actscope.files import VIDEO_SUFFIXES, atomic_open, is_video_name
from actscope.models.registry import InputSpec, get_entry
from actscope.video import MultiViewSampler, UniformSampler, probe, read_video
from actscope.video.sampling import DenseSampler
from actscope.video.spec import ClipSpec
from actscope.video.transforms import Normalize, ThreeCrop

log = logging.getLogger(__name__)

VIDEO_OPTIONS = (
    "frames",
    "stride",
    "size",
    "resize",
    "jitter",
    "flip",
    "test_clips",
    "test_crops",
    "cache",
    "cache_clips",
    "csv",
)
TRAIN_SPLITS = ("train", "training")


@dataclass(frozen=True)
class VideoItem:
    """One labelled video; ``split`` is the CSV's split column (empty for folders)."""

    path: Path
    label: int
    split: str = ""


@dataclass
class VideoList:
    """The labelled videos of a dataset and its class names (index = label)."""

    items: list[VideoItem]
    class_names: list[str]
    root: Path

    def __len__(self) -> int:
        return len(self.items)


# --- listing videos ---------------------------------------------------------------------------


def scan_folder(root: str | os.PathLike) -> VideoList:
    """Videos laid out as ``ROOT/<class>/<video>`` (files with a video extension)."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder; give the dataset folder with --root")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    items = [
        VideoItem(path, label)
        for label, name in enumerate(classes)
        for path in sorted((root / name).iterdir())
        if path.is_file() and is_video_name(path)
    ]
    if not items:
        raise DatasetError(
            f"no videos found as {root}/<class>/<video> (extensions "
            f"{', '.join(sorted(VIDEO_SUFFIXES))}); check --root"
        )
    return VideoList(items, classes, root)


def read_csv_list(root: str | os.PathLike, csv_files: Sequence[str] = ()) -> VideoList:
    """Videos listed in CSV files (Kinetics form or ``path,label``; see the module notes).

    ``csv_files`` are paths relative to ``root`` (default: every ``*.csv`` in ``root``).
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder; give the dataset folder with --root")
    files = [root / f for f in csv_files] if csv_files else sorted(root.glob("*.csv"))
    if not files:
        raise DatasetError(f"no CSV file in {root}; give the list with data.options.csv=FILE")
    rows: list[tuple[Path, str, str]] = []
    for file in files:
        rows += _csv_rows(file, root)
    present = [row for row in rows if row[0].is_file()]
    missing = len(rows) - len(present)
    if missing:
        log.warning(
            "%d of %d listed videos are not on disk and are skipped (first: %s)",
            missing,
            len(rows),
            next(row[0] for row in rows if not row[0].is_file()),
        )
    if not present:
        raise DatasetError(f"none of the {len(rows)} videos listed in {root} is on disk")
    classes = sorted({label for _, label, _ in present})
    index = {name: i for i, name in enumerate(classes)}
    items = [VideoItem(path, index[label], split) for path, label, split in present]
    return VideoList(items, classes, root)


def _csv_rows(file: Path, root: Path) -> list[tuple[Path, str, str]]:
    """``(path, label, split)`` of each row of one CSV file."""
    try:
        with file.open(newline="") as handle:
            table = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"cannot read {file}: {exc}") from None
    columns = set(table[0]) if table else set()
    if "label" not in columns:
        log.warning("%s has no label column; skipped", file)
        return []
    kinetics = {"youtube_id", "time_start", "time_end"} <= columns
    if not kinetics and "path" not in columns:
        raise DatasetError(
            f"{file}: expected the columns label,youtube_id,time_start,time_end[,split] "
            "(Kinetics) or path,label[,split]"
        )
    rows = []
    for line, row in enumerate(table, start=2):
        split = (row.get("split") or "").strip()
        label = (row.get("label") or "").strip()
        try:
            if kinetics:
                start, end = int(float(row["time_start"])), int(float(row["time_end"]))
                name = f"{row['youtube_id']}_{start:06d}_{end:06d}.mp4"
                path = root / split / label / name
            else:
                path = root / row["path"].strip()
        except (TypeError, ValueError, AttributeError):
            raise DatasetError(f"{file}, line {line}: malformed row {row}") from None

        rows.append((path, label, split))
    return rows


# --- splits -------------------------------------------------------------------------------


def split_items(videos: VideoList, protocol: str) -> tuple[list[VideoItem], list[VideoItem]]:
    """``(train, test)`` items of ``videos`` under ``protocol`` (see the module notes)."""
    has_column = any(item.split for item in videos.items)
    protocol = protocol or ("column" if has_column else "split=0.8")
    if protocol == "column":
        if not has_column:
            raise ConfigError("protocol 'column' needs a CSV with a split column; use split=0.8")
        train = [item for item in videos.items if item.split.lower() in TRAIN_SPLITS]
        test = [item for item in videos.items if item.split.lower() not in TRAIN_SPLITS]
        return train, test
    if protocol.startswith("testlist="):
        return _testlist_split(videos, protocol.split("=", 1)[1])
    match = re.fullmatch(r"split=([0-9.]+)(?:,seed=(\d+))?", protocol)
    if match is None:
        raise ConfigError(
            f"unknown protocol {protocol!r} for a video dataset; use split=0.8 (optionally "
            "split=0.8,seed=1), testlist=FILE or column"
        )
    fraction, seed = float(match.group(1)), int(match.group(2) or 0)
    if not 0 < fraction <= 1:
        raise ConfigError(f"protocol {protocol!r}: the training fraction must be in (0, 1]")
    return _random_split(videos, fraction, seed)


def _random_split(
    videos: VideoList, fraction: float, seed: int
) -> tuple[list[VideoItem], list[VideoItem]]:
    """Per class, ``round(fraction * n)`` files (a seeded permutation of the sorted files)
    train and the rest test."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in range(len(videos.class_names)):
        members = sorted(
            (item for item in videos.items if item.label == label), key=lambda i: str(i.path)
        )
        order = rng.permutation(len(members))
        cut = round(fraction * len(members))
        train += [members[i] for i in sorted(order[:cut])]
        test += [members[i] for i in sorted(order[cut:])]
    return train, test


def _testlist_split(videos: VideoList, listing: str) -> tuple[list[VideoItem], list[VideoItem]]:
    path = Path(listing) if Path(listing).is_absolute() else videos.root / listing
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise DatasetError(f"cannot read the test list {path}: {exc.strerror or exc}") from None
    listed = {Path(line.split()[0].replace("\\", "/")).as_posix() for line in lines if line.strip()}
    test = [i for i in videos.items if i.path.relative_to(videos.root).as_posix() in listed]
    if not test:
        raise DatasetError(f"none of the files in {path} is among the videos under {videos.root}")
    chosen = set(test)
    return [i for i in videos.items if i not in chosen], test


def usable(items: Sequence[VideoItem]) -> list[VideoItem]:
    """``items`` whose video opens and decodes a first frame; each other one is reported
    once (a warning naming the file and why) and dropped."""
    kept = []
    for item in items:
        try:
            probe(item.path)
        except ActscopeError as exc:
            log.warning("skipping a video that cannot be decoded: %s", exc)
            continue
        kept.append(item)
    return kept


# --- clips ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CandidateClips:
    """``count`` fixed clips per video, ``(count, frames)`` indices: dense clips spread
    evenly, or for segment sampling ``count`` evenly spaced offsets inside every segment.
    The clips a cache keeps for training."""

    count: int
    frames: int
    stride: int
    sampling: str = "dense"

    def __call__(self, num_frames: int, rng: np.random.Generator | None = None) -> np.ndarray:
        if self.sampling != "segments":
            return MultiViewSampler(self.count, self.frames, self.stride)(num_frames)
        edges = np.arange(self.frames) * num_frames / self.frames
        length = num_frames / self.frames
        offsets = (np.arange(self.count)[:, None] + 0.5) / self.count * length
        return np.minimum(np.floor(edges[None] + offsets), num_frames - 1).astype(np.int64)


class ClipCache:
    """Decoded clips on disk, one ``.npy`` (uint8 ``indices.shape + (H, W, 3)``) per video,
    sampler and short side; keyed by the file's path, size and modification time."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)

    def read(self, path: Path, sampler: Any, short_side: int) -> np.ndarray:
        stat = path.stat()
        key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{sampler!r}|{short_side}"
        file = self.folder / f"{hashlib.sha1(key.encode()).hexdigest()}.npy"
        if file.is_file():
            return np.load(file)
        frames = read_video(path, sampler, short_side=short_side, allow_partial=True).frames
        with atomic_open(file) as handle:
            np.save(handle, frames)
        return frames


class VideoClipDataset(Dataset):
    """``(clip, label)`` pairs decoded from ``items``.

    Training (``train=True``): ``clip`` is ``(C, T, size, size)`` float, randomly sampled,
    rescaled (short side in ``[resize, jitter * resize]``), cropped and (with ``flip``)
    mirrored. Test: ``clips`` x ``crops`` views, ``(V, C, T, size, size)`` when ``V > 1``.
    Randomness comes from numpy's global generator, which the training engine seeds per
    sample.
    """

    def __init__(
        self,
        items: Sequence[VideoItem],
        spec: ClipSpec,
        *,
        train: bool,
        clips: int = 1,
        crops: int = 1,
        jitter: float = 1.25,
        flip: bool = True,
        cache: ClipCache | None = None,
        cache_clips: int = 8,
    ) -> None:
        if crops not in (1, 3):
            raise ConfigError(f"test_crops must be 1 (centre) or 3 (three crops), got {crops}")
        if clips < 1 or cache_clips < 1 or jitter < 1:
            raise ConfigError("test_clips and cache_clips must be at least 1, jitter at least 1")
        self.items = list(items)
        self.spec = spec
        self.train = train
        self.clips = 1 if spec.sampling == "segments" else clips
        self.crops = crops
        self.jitter = jitter
        self.flip = flip
        self.cache = cache
        self.cache_clips = cache_clips
        self.normalize = Normalize(spec.mean, spec.std)
        self._reported: set[Path] = set()

    @property
    def views(self) -> int:
        """Views per test item (1 for training items)."""
        return 1 if self.train else self.clips * self.crops

    def single_view(self) -> VideoClipDataset:
        """The same test items with one view each (centre clip, centre crop): a cheap
        validation set for every epoch."""
        view = VideoClipDataset.__new__(VideoClipDataset)
        view.__dict__.update(self.__dict__, clips=1, crops=1, _reported=set())
        return view

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        for attempt in range(len(self.items)):
            item = self.items[(index + attempt) % len(self.items)]
            try:
                frames = self._frames(item.path)
            except ActscopeError as exc:
                if item.path not in self._reported:
                    self._reported.add(item.path)
                    log.warning("skipping a video that cannot be decoded: %s", exc)
                continue
            return self._to_input(frames), item.label
        raise DatasetError("no video of the dataset can be decoded")

    def _frames(self, path: Path) -> np.ndarray:
        """uint8 ``(T, H, W, 3)`` (training) or ``(clips, T, H, W, 3)`` (test)."""
        spec = self.spec
        if self.train and self.cache is not None:
            sampler = CandidateClips(self.cache_clips, spec.frames, spec.stride, spec.sampling)
            candidates = self.cache.read(path, sampler, spec.resize)
            return candidates[np.random.randint(len(candidates))]
        if self.train:
            rng = np.random.default_rng(np.random.randint(2**31))
            sampler = (
                UniformSampler(spec.frames, random=True)
                if spec.sampling == "segments"
                else DenseSampler(spec.frames, spec.stride, random=True)
            )
            return read_video(
                path, sampler, short_side=spec.resize, allow_partial=True, rng=rng
            ).frames
        sampler = (
            _Stacked(UniformSampler(spec.frames))
            if spec.sampling == "segments"
            else MultiViewSampler(self.clips, spec.frames, spec.stride)
        )
        if self.cache is not None:
            return self.cache.read(path, sampler, spec.resize)
        return read_video(path, sampler, short_side=spec.resize, allow_partial=True).frames

    def _to_input(self, frames: np.ndarray) -> torch.Tensor:
        clip = torch.from_numpy(np.ascontiguousarray(frames)).float().div_(255.0)
        clip = clip.movedim(-1, -4)  # (..., T, H, W, 3) -> (..., 3, T, H, W)
        size = self.spec.size
        if self.train:
            clip = _resize_short(clip, round(self.spec.resize * np.random.uniform(1, self.jitter)))
            clip = _resize_short(clip, max(size, min(clip.shape[-2:])))
            top = np.random.randint(clip.shape[-2] - size + 1)
            left = np.random.randint(clip.shape[-1] - size + 1)
            clip = clip[..., top : top + size, left : left + size]
            if self.flip and np.random.random() < 0.5:
                clip = clip.flip(-1)
            return self.normalize(clip)
        clip = _resize_short(clip, max(size, min(clip.shape[-2:])))
        if self.crops == 3:
            clip = torch.stack([ThreeCrop(size)(c) for c in clip], 1).flatten(0, 1)
        else:
            clip = F.center_crop(clip, [size, size])
        clip = self.normalize(clip)  # (V, C, T, size, size)
        return clip[0] if len(clip) == 1 else clip


@dataclass(frozen=True)
class _Stacked:
    """A sampler's indices with a leading view axis of one: ``(1, T)``."""

    sampler: Any

    def __call__(self, num_frames: int, rng: np.random.Generator | None = None) -> np.ndarray:
        return self.sampler(num_frames)[None]


def _resize_short(clip: torch.Tensor, short: int) -> torch.Tensor:
    height, width = clip.shape[-2:]
    if min(height, width) == short:
        return clip
    scale = short / min(height, width)
    target = [max(short, round(height * scale)), max(short, round(width * scale))]
    return F.resize(clip, target, antialias=True)


# --- the catalog's hooks ----------------------------------------------------------------------


def clip_spec_for(model: str, options: Mapping[str, Any]) -> ClipSpec:
    """The registered input of RGB ``model`` with ``frames``/``stride``/``size``/``resize``
    taken from ``options`` where given (``resize`` follows ``size`` in proportion)."""
    registered = get_entry(model).input
    if not isinstance(registered, ClipSpec):
        raise ConfigError(f"{model} is a skeleton model; video datasets need an RGB model")
    size = int(options.get("size", registered.size))
    default_resize = round(registered.resize * size / registered.size)
    try:
        return ClipSpec(
            frames=int(options.get("frames", registered.frames)),
            stride=int(options.get("stride", registered.stride)),
            size=size,
            resize=int(options.get("resize", default_resize)),
            mean=registered.mean,
            std=registered.std,
            sampling=registered.sampling,
        )
    except ConfigError as exc:
        raise ConfigError(f"data options: {exc}") from None


def _model_kwargs(model: str, spec: ClipSpec) -> dict[str, Any]:
    """Builder arguments the clip shape implies (``num_frames``, ``image_size``), only where
    the builder takes them and the clip differs from the registered input."""
    entry = get_entry(model)
    params = inspect.signature(entry.builder).parameters
    wanted = {"num_frames": (spec.frames, entry.input.frames)}
    wanted["image_size"] = (spec.size, entry.input.size)
    return {k: new for k, (new, old) in wanted.items() if k in params and new != old}


def _load_list(name: str, root: Path, options: Mapping[str, Any]) -> VideoList:
    if name == "kinetics-csv":
        listed = options.get("csv") or []
        return read_csv_list(root, [listed] if isinstance(listed, str) else list(listed))
    return scan_folder(root)


def video_training_data(data: DataConfig, model: str, root: Path) -> TrainingData:
    """The :class:`~actscope.datasets.base.TrainingData` of a video dataset (``data`` names
    ``video-folder`` or ``kinetics-csv``; its videos are under ``root``) for RGB ``model``."""

    options = dict(data.options)
    unknown = set(options) - set(VIDEO_OPTIONS)
    if unknown:
        raise ConfigError(
            f"unknown data option(s) {', '.join(sorted(unknown))}; known: "
            f"{', '.join(VIDEO_OPTIONS)}"
        )
    spec = clip_spec_for(model, options)
    videos = _load_list(data.name, root, options)
    train_items, test_items = split_items(videos, data.protocol)
    train_items, test_items = usable(train_items), usable(test_items)
    if not train_items:
        raise DatasetError(f"{data.name}: no decodable training videos under {root}")
    cache = ClipCache(options["cache"]) if options.get("cache") else None
    common = {"cache": cache, "cache_clips": int(options.get("cache_clips", 8))}
    train = VideoClipDataset(
        train_items,
        spec,
        train=True,
        jitter=float(options.get("jitter", 1.25)),
        flip=bool(options.get("flip", True)),
        **common,
    )
    test = VideoClipDataset(
        test_items,
        spec,
        train=False,
        clips=int(options.get("test_clips", 3)),
        crops=int(options.get("test_crops", 1)),
        **common,
    )
    log.info(
        "%s: %d training and %d test videos, %d classes",
        data.name,
        len(train_items),
        len(test_items),
        len(videos.class_names),
    )
    return TrainingData(
        train=train,
        test=test if test_items else None,
        class_names=list(videos.class_names),
        input_spec=spec,
        model_kwargs=_model_kwargs(model, spec),
    )


def video_evaluation_data(
    name: str, root: Path, protocol: str, input_spec: InputSpec, part: str = "test"
) -> tuple[VideoClipDataset, list[str]]:
    """The ``part`` (``test``, ``train`` or ``all``) of video dataset ``name`` under ``root``
    as test items (3 clips x centre crop) for a model with ``input_spec``, and the class
    names."""
    if not isinstance(input_spec, ClipSpec):
        raise ConfigError("the model takes skeletons; this dataset holds videos")
    videos = _load_list(name, root, {})
    items = videos.items
    if part != "all":
        train_items, test_items = split_items(videos, protocol)
        items = test_items if part == "test" else train_items
    return VideoClipDataset(usable(items), input_spec, train=False, clips=3), list(
        videos.class_names
    )
