"""NTU RGB+D ``.skeleton`` files (Kinect v2, 25 joints, up to several bodies per frame).

The text format, line by line: the number of frames; per frame the number of bodies; per
body one line of 10 body values (body id first), the number of joints (25), then one line
per joint of 12 values: ``x y z`` (metres, camera space), ``depthX depthY``, ``colorX
colorY`` (pixels in the 1920x1080 RGB video), the joint orientation ``w x y z`` and the
tracking state (0 not tracked, 1 inferred, 2 tracked; the score is state / 2).

Bodies are followed by their id across frames; the ``max_people`` bodies seen in the most
frames (ties: the one that moves most) become the skeleton's people, in that order. Files
are named ``SsssCcccPpppRrrrAaaa.skeleton`` (setup, camera, performer, replication, action).

Shahroudy et al., "NTU RGB+D: A large scale dataset for 3D human activity analysis",
CVPR 2016.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

import numpy as np

from actscope.datasets.skeleton_base import ItemRecord, SkeletonDataset, check_folder
from actscope.errors import DatasetError
from actscope.pose.layouts import NTU25
from actscope.pose.skeleton import Skeleton

CLASSES_60 = (
    "drink water",
    "eat meal/snack",
    "brushing teeth",
    "brushing hair",
    "drop",
    "pickup",
    "throw",
    "sitting down",
    "standing up (from sitting position)",
    "clapping",
    "reading",
    "writing",
    "tear up paper",
    "wear jacket",
    "take off jacket",
    "wear a shoe",
    "take off a shoe",
    "wear on glasses",
    "take off glasses",
    "put on a hat/cap",
    "take off a hat/cap",
    "cheer up",
    "hand waving",
    "kicking something",
    "reach into pocket",
    "hopping (one foot jumping)",
    "jump up",
    "make a phone call/answer phone",
    "playing with phone/tablet",
    "typing on a keyboard",
    "pointing to something with finger",
    "taking a selfie",
    "check time (from watch)",
    "rub two hands together",
    "nod head/bow",
    "shake head",
    "wipe face",
    "salute",
    "put the palms together",
    "cross hands in front (say stop)",
    "sneeze/cough",
    "staggering",
    "falling",
    "touch head (headache)",
    "touch chest (stomachache/heart pain)",
    "touch back (backache)",
    "touch neck (neckache)",
    "nausea or vomiting condition",
    "use a fan (with hand or paper)/feeling warm",
    "punching/slapping other person",
    "kicking other person",
    "pushing other person",
    "pat on back of other person",
    "point finger at the other person",
    "hugging other person",
    "giving something to other person",
    "touch other person's pocket",
    "handshaking",
    "walking towards each other",
    "walking apart from each other",
)
TRAIN_SUBJECTS_60 = (1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38)
"""NTU RGB+D 60 cross-subject training performers."""
TRAIN_CAMERAS = (2, 3)
"""NTU RGB+D's cross-view protocol trains on cameras 2 and 3 and tests on camera 1."""
FPS = 30.0
IMAGE_SIZE = (1920, 1080)
_JOINTS = NTU25.num_joints
_NAME = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})\.skeleton$")


class _Lines:
    """Numbered lines of a text file, for error messages that name the line."""

    def __init__(self, name: str, lines: list[str]) -> None:
        self.name = name
        self.lines = lines
        self.number = 0

    def fields(self, count: int | None, what: str) -> list[str]:
        if self.number >= len(self.lines):
            raise DatasetError(
                f"{self.name}:{self.number}: the file ends where {what} was expected; "
                "it is truncated"
            )
        fields = self.lines[self.number].split()
        self.number += 1
        if count is not None and len(fields) != count:
            raise DatasetError(
                f"{self.name}:{self.number}: expected {count} values ({what}), found {len(fields)}"
            )
        return fields

    def integer(self, what: str) -> int:
        field = self.fields(1, what)[0]
        try:
            return int(field)
        except ValueError:
            raise DatasetError(
                f"{self.name}:{self.number}: expected a whole number ({what}), found {field!r}"
            ) from None

    def numbers(self, count: int, what: str) -> list[float]:
        fields = self.fields(count, what)
        try:
            return [float(f) for f in fields]
        except ValueError:
            raise DatasetError(
                f"{self.name}:{self.number}: not a number in {' '.join(fields)!r} ({what})"
            ) from None


def _read_tracks(lines: _Lines) -> tuple[int, dict[str, dict[int, np.ndarray]]]:
    """Number of frames, and per body id its ``(25, 12)`` joint values by frame."""
    frames = lines.integer("number of frames")
    tracks: dict[str, dict[int, np.ndarray]] = {}
    for frame in range(frames):
        for _ in range(lines.integer("number of bodies")):
            body_id = lines.fields(10, "body values")[0]
            joints = lines.integer("number of joints")
            if joints != _JOINTS:
                raise DatasetError(
                    f"{lines.name}:{lines.number}: {joints} joints, expected {_JOINTS} (Kinect v2)"
                )
            values = [lines.numbers(12, "joint values") for _ in range(joints)]
            tracks.setdefault(body_id, {})[frame] = np.asarray(values, np.float32)
    return frames, tracks


def read_ntu_skeleton(
    path: str | os.PathLike,
    *,
    max_people: int = 2,
    space: Literal["world", "image"] = "world",
) -> Skeleton:
    """One ``.skeleton`` file as an ``ntu25`` skeleton ``(M, T, 25, C)``.

    ``space="world"``: ``x y z`` in metres (Kinect camera space); ``"image"``: ``colorX
    colorY`` in pixels of the 1920x1080 RGB video.
    """
    name = os.fspath(path)
    try:
        with open(name) as handle:
            lines = _Lines(name, handle.read().splitlines())
    except FileNotFoundError:
        raise DatasetError(f"{name}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{name}: cannot be read as text ({exc})") from exc
    if space not in ("world", "image"):
        raise DatasetError(f"space must be 'world' or 'image', got {space!r}")
    columns = slice(0, 3) if space == "world" else slice(5, 7)
    frames, tracks = _read_tracks(lines)

    def rank(body: str) -> tuple[int, float]:
        seen = np.stack(list(tracks[body].values()))[..., :3]
        return len(tracks[body]), float(seen.var(axis=0).sum())

    chosen = sorted(tracks, key=rank, reverse=True)[:max_people]
    channels = columns.stop - columns.start
    coords = np.full((len(chosen), frames, _JOINTS, channels), np.nan, np.float32)
    scores = np.zeros((len(chosen), frames, _JOINTS), np.float32)
    for person, body in enumerate(chosen):
        for frame, values in tracks[body].items():
            coords[person, frame] = values[:, columns]
            scores[person, frame] = values[:, 11] / 2.0
    size = IMAGE_SIZE if space == "image" else None
    return Skeleton(coords, scores, NTU25.name, FPS, space, name, size)


def parse_ntu_name(path: str | os.PathLike) -> ItemRecord:
    """The record (action, performer, replication, camera, setup) in an NTU file name."""
    match = _NAME.search(Path(path).name)
    if match is None:
        raise DatasetError(f"{path}: name is not SsssCcccPpppRrrrAaaa.skeleton")
    setup, camera, performer, replication, action = (int(g) for g in match.groups())
    return ItemRecord(Path(path), action - 1, performer, replication, camera, setup)


def load_ntu(
    root: str | os.PathLike, *, max_people: int = 2, space: Literal["world", "image"] = "world"
) -> SkeletonDataset:
    """The ``.skeleton`` files under ``root`` (NTU RGB+D 60 or 120). Class names beyond the
    first 60 are given as ``action 61`` ...; :data:`TRAIN_SUBJECTS_60` is the standard
    cross-subject split of NTU 60."""
    folder = check_folder(root, "NTU RGB+D skeletons")
    records = [parse_ntu_name(path) for path in sorted(folder.rglob("*.skeleton"))]
    if not records:
        raise DatasetError(f"{folder}: no .skeleton files; give the NTU RGB+D skeleton folder")
    classes = max(60, max(r.label for r in records) + 1)
    names = [*CLASSES_60, *(f"action {i}" for i in range(61, classes + 1))]
    return SkeletonDataset(
        "ntu",
        records,
        names,
        lambda path: read_ntu_skeleton(path, max_people=max_people, space=space),
        train_subjects=TRAIN_SUBJECTS_60,
        train_cameras=TRAIN_CAMERAS,
    )
