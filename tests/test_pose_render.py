"""Drawing skeletons: colours by side, missing joints, atomic mp4 and PNG output."""

from __future__ import annotations

import numpy as np
import pytest

from actscope.errors import PoseError
from actscope.pose import Skeleton
from actscope.pose.render import (
    LEFT,
    RIGHT,
    VideoWriter,
    draw_skeleton,
    save_png,
    skeleton_picture,
)
from actscope.video import probe, read_video
from test_layouts import standing_body15


def colour_columns(image: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    """Column indices of pixels close to ``colour``."""
    close = np.abs(image.astype(int) - colour).sum(axis=-1) < 40
    return np.nonzero(close)[1]


def test_picture_shows_a_person_facing_the_camera_with_left_on_the_right():
    picture = skeleton_picture(standing_body15(), 0, size=300)
    left, right = colour_columns(picture, LEFT), colour_columns(picture, RIGHT)
    assert left.size > 100 and right.size > 100
    assert left.min() > 150 > right.max()  # the person's left is on the viewer's right
    rows = np.nonzero(np.abs(picture.astype(int) - LEFT).sum(axis=-1) < 40)[0]
    assert rows.max() > 250  # legs reach the bottom: drawn upright, not upside down


def test_missing_joints_are_not_drawn():
    points = np.array([[10, 10], [50, 50], [np.nan, np.nan]] + [[np.nan, np.nan]] * 12)
    image = np.zeros((64, 64, 3), np.uint8)
    draw_skeleton(image, points.astype(np.float32), "body15", thickness=1)
    drawn = image.sum(axis=-1) > 0
    assert drawn[10, 10] and drawn[50, 50] and drawn[30, 30]  # head-neck bone
    rows, cols = np.nonzero(drawn)
    assert (np.abs(rows - cols) / np.sqrt(2) < 5).all()  # nothing but the head-neck bone


def test_video_writer_is_atomic(tmp_path):
    frames = [np.full((48, 64, 3), 40 * i, np.uint8) for i in range(5)]
    with VideoWriter(tmp_path / "ok.mp4", 10) as writer:
        for frame in frames:
            writer.write(frame)
    info = probe(tmp_path / "ok.mp4")
    assert (info.frame_count, info.width, info.height) == (5, 64, 48)
    assert read_video(tmp_path / "ok.mp4").frames[4].mean() == pytest.approx(160, abs=3)
    with pytest.raises(RuntimeError, match="stop"), VideoWriter(tmp_path / "bad.mp4", 10) as w:
        w.write(frames[0])
        raise RuntimeError("stop")
    with pytest.raises(PoseError, match="no frames"), VideoWriter(tmp_path / "none.mp4", 10):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.mp4"]


def test_save_png(tmp_path):
    save_png(tmp_path / "p.png", skeleton_picture(standing_body15(), 0, size=120))
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


def test_picture_of_an_empty_frame_is_blank_but_labelled():
    empty = Skeleton.empty("coco17", 3, 30, "image")
    picture = skeleton_picture(empty, 0, size=100)
    assert picture.shape == (100, 100, 3) and picture.min() < 255  # only the labels
