"""Draw one telling frame of each dataset added in issue 14/15 (NW-UCLA, JHMDB, Penn Action,
SBU, UTKinect), in its own layout (top row) and converted to body15 (bottom row).

Each picture is a front view in canonical axes (x right, y up): a body stands upright, and a
person facing the camera has their left side (blue) on the picture's right. The frames are
chosen so that the side can be read from the action: the raised hand of a throw or a wave
is the right one (orange) for most people, and two people shaking hands join their right
hands. One frame shows the order of the joints; that the sides are right over the whole of
each dataset is measured by tests/test_new_datasets.py.

Run: PYTHONPATH=src .venv/bin/python docs/datasets/draw_new_datasets.py
(writes docs/datasets/new_datasets.png)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from actscope.datasets import load_jhmdb, load_nw_ucla, load_penn_action, load_sbu, load_utkinect
from actscope.pose import to_body15
from actscope.pose.render import picture_grid, save_png, skeleton_picture
from actscope.pose.skeleton import Skeleton

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
HERE = Path(__file__).resolve().parent
SIZE = 300


def _joint(skeleton: Skeleton, name: str) -> int:
    return to_body15(skeleton).get_layout().index(name)


def highest(skeleton: Skeleton, joint: str, person: int = 0) -> int:
    """The frame in which body15 ``joint`` of ``person`` is highest (canonical y up)."""
    body = to_body15(skeleton)
    return int(np.nanargmax(body.coords[person, :, _joint(skeleton, joint), 1]))


def highest_ankle(skeleton: Skeleton) -> int:
    """The frame in which some ankle of some person is highest (canonical y up)."""
    body = to_body15(skeleton)
    ankles = [_joint(skeleton, "left_ankle"), _joint(skeleton, "right_ankle")]
    height = body.coords[:, :, ankles, 1]  # (M, T, 2)
    return int(np.unravel_index(np.nanargmax(height), height.shape)[1])


def first_item(dataset, label: str, keep=lambda record: True):
    """The first item of class ``label`` whose record satisfies ``keep``."""
    index = dataset.class_names.index(label)
    for i, record in enumerate(dataset.records):
        if record.label == index and keep(record):
            return dataset[i]
    raise LookupError(label)


def closest_right_hands(skeleton: Skeleton) -> int:
    """The frame in which the two people's right wrists are closest."""
    body = to_body15(skeleton)
    wrist = _joint(skeleton, "right_wrist")
    gap = np.linalg.norm(body.coords[0, :, wrist] - body.coords[1, :, wrist], axis=-1)
    return int(np.nanargmin(gap))


def main() -> None:
    nw_ucla = load_nw_ucla(DATA / "nw_ucla")
    jhmdb = load_jhmdb(DATA / "jhmdb")
    penn = load_penn_action(DATA / "penn_action")
    sbu = load_sbu(DATA / "sbu_interaction")
    utk = load_utkinect(DATA / "utkinect_dev")

    throw = first_item(nw_ucla, "throw", lambda r: r.camera == 1).skeleton
    wave = first_item(jhmdb, "wave").skeleton
    jacks = first_item(penn, "jumping_jacks", lambda r: r.camera == 1).skeleton
    shake = first_item(sbu, "shaking hands").skeleton
    kick = first_item(sbu, "kicking").skeleton
    utk_wave = first_item(utk, "wave hands").skeleton
    rows = [
        (throw, highest(throw, "right_wrist"), "NW-UCLA throw, camera 1"),
        (wave, highest(wave, "right_wrist"), "JHMDB wave"),
        (jacks, highest(jacks, "left_wrist"), "Penn jumping jacks, front"),
        (shake, closest_right_hands(shake), "SBU shaking hands"),
        (kick, highest_ankle(kick), "SBU kicking"),
        (utk_wave, highest(utk_wave, "right_wrist"), "UTKinect wave hands"),
    ]
    own = [skeleton_picture(s, t, size=SIZE, title=f"{title} ({t})") for s, t, title in rows]
    body = [skeleton_picture(to_body15(s), t, size=SIZE, title="as body15") for s, t, _ in rows]
    save_png(HERE / "new_datasets.png", np.concatenate([picture_grid(own), picture_grid(body)]))


if __name__ == "__main__":
    main()
