"""JHMDB: 2D joints annotated on 609 real movie / web clips, 14 of its 21 actions, 3 splits.

Files ``split{K}_{train,test}.json`` (K = 1, 2, 3; DD-Net's ground-truth export) each hold
``{"joints": [15 names], "clips": [{"label", "pose": T x 15 x [x, y]}]}``. Every split holds
the same 609 clips, divided differently: a clip is recognised across the files by its
poses (identical in all three), so the dataset has 609 items, each knowing under which of
the protocols ``split1``, ``split2``, ``split3`` it is a training item (the official split
lists in ``splits.zip`` agree: per class, the pattern of train/test memberships matches).
The default protocol is ``split1`` (433 train / 176 test); report the mean of the three.

Coordinates are JHMDB's ``pos_world``: image axes (x right, y down), normalised and roughly
centred on the person, not pixels, so ``image_size`` is unknown. Joint order is the
``jhmdb15`` layout's (the files name it; a file naming another order is refused). Left and
right are the person's own: facing the camera (clap, wave, stand) the left shoulder is on
the image's right in 95% of frames, and the right wrist moves more in 85% of throws.
The clips keep HMDB's 30 frames per second.

There are no subject ids and no clip names (the export dropped them): items are named
``split1_{train,test}.json#N`` after their place in split 1's files.

Jhuang, Gall, Zuffi, Schmid, Black, "Towards understanding action recognition", ICCV 2013.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from actscope.datasets.skeleton_base import ItemRecord, SkeletonDataset, check_folder, read_json
from actscope.errors import DatasetError
from actscope.pose.layouts import JHMDB15
from actscope.pose.skeleton import Skeleton

CLASSES = (
    "catch",
    "clap",
    "golf",
    "jump",
    "pick",
    "pour",
    "pullup",
    "push",
    "run",
    "sit",
    "stand",
    "throw",
    "walk",
    "wave",
)
SPLITS = ("split1", "split2", "split3")
FPS = 30.0


def _read_split_file(path: Path) -> list[tuple[int, np.ndarray]]:
    """``(class index, pose (T, 15, 2))`` of every clip in one ``splitK_part.json``."""
    data = read_json(path, "JHMDB (split1-3 train and test files)")
    if not isinstance(data, dict) or not isinstance(data.get("clips"), list):
        raise DatasetError(f"{path}: has no 'clips' list; is it a JHMDB split file?")
    if data.get("joints") != list(JHMDB15.joints):
        raise DatasetError(
            f"{path}: joints {data.get('joints')} are not JHMDB's 15 in the expected order"
        )
    clips = []
    for number, clip in enumerate(data["clips"]):
        where = f"{path}#{number}"
        if not isinstance(clip, dict) or clip.get("label") not in CLASSES:
            label = clip.get("label") if isinstance(clip, dict) else clip
            raise DatasetError(f"{where}: label {label!r} is none of JHMDB's {len(CLASSES)}")
        try:
            pose = np.asarray(clip.get("pose"), dtype=np.float32)
        except (TypeError, ValueError):
            raise DatasetError(f"{where}: 'pose' is not a T x 15 x 2 list of numbers") from None
        if pose.ndim != 3 or pose.shape[1:] != (JHMDB15.num_joints, 2) or len(pose) < 1:
            raise DatasetError(f"{where}: pose has shape {pose.shape}, expected (frames, 15, 2)")
        clips.append((CLASSES.index(clip["label"]), pose))
    return clips


def load_jhmdb(root: str | os.PathLike) -> SkeletonDataset:
    """The 609 JHMDB clips in ``root`` as ``jhmdb15`` image skeletons ``(1, T, 15, 2)``, with
    protocols ``split1`` (default), ``split2``, ``split3``.

    The split files are parsed here (labels live beside the poses); each clip becomes a
    :class:`~actscope.pose.skeleton.Skeleton` when first read.
    """
    folder = check_folder(root, "JHMDB")
    poses: dict[Path, np.ndarray] = {}
    records: list[ItemRecord] = []
    place: dict[tuple[int, bytes], int] = {}  # (class, pose bytes) -> index in records
    for split in SPLITS:
        seen: set[int] = set()
        for part in ("train", "test"):
            path = folder / f"{split}_{part}.json"
            for number, (label, pose) in enumerate(_read_split_file(path)):
                key = (label, pose.tobytes())
                if split == SPLITS[0] and key not in place:
                    item = Path(f"{path}#{number}")
                    poses[item] = pose
                    place[key] = len(records)
                    records.append(ItemRecord(item, label, 0, 0))
                index = place.get(key)
                if index is None:
                    raise DatasetError(
                        f"{path}#{number}: clip not found in {SPLITS[0]}'s files; every split "
                        "must hold the same clips"
                    )
                if index in seen:
                    raise DatasetError(f"{path}#{number}: the same clip is listed twice")
                seen.add(index)
                if part == "train":
                    old = records[index]
                    records[index] = ItemRecord(
                        old.path, old.label, 0, 0, train_in=old.train_in | {split}
                    )
        if len(seen) != len(records):
            raise DatasetError(
                f"{folder}: {split} holds {len(seen)} of the {len(records)} clips of "
                f"{SPLITS[0]}; the split files disagree"
            )

    def read(path: Path) -> Skeleton:
        try:
            pose = poses[Path(path)]
        except KeyError:
            raise DatasetError(f"{path}: not a clip of this JHMDB folder") from None
        scores = np.ones(pose.shape[:2], np.float32)
        return Skeleton(pose[None], scores[None], JHMDB15.name, FPS, "image", str(path))

    return SkeletonDataset(
        "jhmdb", records, CLASSES, read, protocols=SPLITS, default_protocol=SPLITS[0]
    )
