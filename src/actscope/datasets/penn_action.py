"""Penn Action: 2D joints annotated by hand on 2326 real sports / exercise clips, 15 actions.

Files ``labels/NNNN.mat`` hold ``x``, ``y`` (T x 13, pixels), ``visibility`` (T x 13, 1 =
visible), ``action``, ``pose`` (the camera's view of the person: front, back, left,
right), ``train`` (1 train, -1 test: the official split, the only protocol, ``official``,
1258 / 1068 clips) and ``dimensions`` (height, width, frames). Invisible joints are missing
(NaN, score 0) when they carry the placeholder position near (1, 1) px (about a third of
them); the others are kept with a lower score (below).

**Left and right are swapped in the files.** The joint the files call the left wrist is
the one that strums in 96% of the guitar clips and throws in 72% of the pitches; in
"front" views the "left" shoulder is on the image's left in 96% of frames (a person facing
the camera has their left shoulder on the image's right). So reading swaps them
(``anatomical=True``, the default) and a skeleton's ``left_*`` is the person's left, as in
every other layout. See docs/datasets/.

Invisible joints the annotators still placed (two thirds of them: the far arm of a person
seen from the side) keep their position with score :data:`OCCLUDED_SCORE`, as a video pose
estimator places a joint it cannot see with a low confidence; without them, side views
lose the neck and pelvis (midpoints of both shoulders and hips) and read as no pose at all.

Layout ``penn13`` (the files' order), image space in pixels with the clip's ``image_size``.
The view is kept as the record's ``camera`` (:data:`VIEWS`, 1-based); there are no
subject ids. The frame rate is not stored; :data:`FPS` assumes the 30 fps of most online
video.

Zhang, Zhu, Derpanis, "From actemes to action: a strongly-supervised representation for
detailed action understanding", ICCV 2013.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from actscope.datasets.skeleton_base import ItemRecord, SkeletonDataset, check_folder
from actscope.errors import DatasetError
from actscope.pose.layouts import PENN13
from actscope.pose.skeleton import Skeleton

CLASSES = (
    "baseball_pitch",
    "baseball_swing",
    "bench_press",
    "bowl",
    "clean_and_jerk",
    "golf_swing",
    "jump_rope",
    "jumping_jacks",
    "pullup",
    "pushup",
    "situp",
    "squat",
    "strum_guitar",
    "tennis_forehand",
    "tennis_serve",
)
VIEWS = ("front", "back", "left", "right")
"""The ``pose`` field's values; a record's ``camera`` is the index here plus 1."""
PROTOCOL = "official"
FPS = 30.0
OCCLUDED_SCORE = 0.5
"""Score of a joint the annotators marked invisible but placed (a guess at where it is)."""
PLACEHOLDER = 2.0
"""Pixels: invisible joints with both coordinates at most this are unplaced placeholders."""
_JOINTS = PENN13.num_joints


def _loadmat(path: Path, variables: list[str]) -> dict:
    import scipy.io

    try:
        data = scipy.io.loadmat(os.fspath(path), variable_names=variables)
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file") from None
    except (ValueError, OSError, TypeError, IndexError, EOFError, zipfile.BadZipFile) as exc:
        raise DatasetError(
            f"{path}: not a readable MATLAB .mat file ({exc}); re-download it"
        ) from exc
    absent = [v for v in variables if v not in data]
    if absent:
        raise DatasetError(f"{path}: has no {', '.join(absent)}; is it a Penn Action label file?")
    return data


def _text(value: np.ndarray) -> str:
    return str(np.asarray(value).ravel()[0]) if np.asarray(value).size else ""


def read_penn_action(path: str | os.PathLike, *, anatomical: bool = True) -> Skeleton:
    """One Penn Action ``.mat`` file as a ``penn13`` image skeleton ``(1, T, 13, 2)`` in
    pixels; left and right swapped back to the person's own unless ``anatomical=False``."""
    path = Path(path)
    data = _loadmat(path, ["x", "y", "visibility", "dimensions"])
    x, y = np.asarray(data["x"], np.float32), np.asarray(data["y"], np.float32)
    visible = np.asarray(data["visibility"]) > 0
    if x.ndim != 2 or x.shape[1] != _JOINTS or len(x) < 1:
        raise DatasetError(f"{path}: x has shape {x.shape}, expected (frames, 13 joints)")
    if y.shape != x.shape or visible.shape != x.shape:
        raise DatasetError(
            f"{path}: x {x.shape}, y {y.shape} and visibility {visible.shape} differ in shape"
        )
    dimensions = np.asarray(data["dimensions"]).ravel()
    if dimensions.size < 2:
        raise DatasetError(f"{path}: dimensions {dimensions} is not (height, width, frames)")
    coords = np.stack([x, y], axis=-1)
    # An occluded joint keeps the position its annotator placed it at, scored as a video
    # pose estimator scores a joint it places without seeing it; an unplaced one (the files
    # park those near pixel (1, 1)) or one outside the picture is missing.
    width, height = float(dimensions[1]), float(dimensions[0])
    inside = (x > PLACEHOLDER) & (y > PLACEHOLDER) & (x < width) & (y < height)
    coords[~(visible | inside)] = np.nan
    scores = np.where(visible, 1.0, np.where(inside, OCCLUDED_SCORE, 0.0)).astype(np.float32)
    if anatomical:
        order = list(PENN13.flip_permutation)
        coords, scores = coords[:, order], scores[:, order]
    size = (int(dimensions[1]), int(dimensions[0]))
    return Skeleton(coords[None], scores[None], PENN13.name, FPS, "image", str(path), size)


def load_penn_action(root: str | os.PathLike, *, anatomical: bool = True) -> SkeletonDataset:
    """The Penn Action clips under ``root`` (the dataset folder or its ``labels/``): class,
    view (as ``camera``) and official split of each; protocol ``official``."""
    folder = check_folder(root, "Penn Action")
    if (folder / "labels").is_dir():
        folder = folder / "labels"
    records = []
    for path in sorted(folder.glob("*.mat")):
        data = _loadmat(path, ["action", "pose", "train"])
        action, view, train = _text(data["action"]), _text(data["pose"]), data["train"]
        if action not in CLASSES:
            raise DatasetError(f"{path}: action {action!r} is none of Penn Action's 15")
        if view not in VIEWS:
            raise DatasetError(f"{path}: pose {view!r} is none of {', '.join(VIEWS)}")
        split = int(np.asarray(train).ravel()[0]) if np.asarray(train).size else 0
        if split not in (1, -1):
            raise DatasetError(f"{path}: train is {split}, expected 1 (train) or -1 (test)")
        records.append(
            ItemRecord(
                path,
                CLASSES.index(action),
                0,
                0,
                camera=VIEWS.index(view) + 1,
                train_in=frozenset({PROTOCOL}) if split == 1 else frozenset(),
            )
        )
    if not records:
        raise DatasetError(f"{folder}: no .mat files; give the Penn Action folder")
    return SkeletonDataset(
        "penn_action",
        records,
        CLASSES,
        lambda path: read_penn_action(path, anatomical=anatomical),
        protocols=(PROTOCOL,),
        default_protocol=PROTOCOL,
    )
