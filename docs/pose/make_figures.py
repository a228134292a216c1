"""Draw the figures of docs/pose.md from the real data in ../shared/data.

Each picture is a front view in canonical axes (x right, y up): a body should stand upright,
facing the camera, with its left side (blue) on the picture's right.

Run: .venv/bin/python docs/pose/make_figures.py
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from actscope.datasets import read_msr_skeleton, read_openpose_csv, read_utd_mhad_skeleton
from actscope.pose import extract_poses, to_body15
from actscope.pose.render import draw_frame, picture_grid, save_png, skeleton_picture
from actscope.video import read_video

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
HERE = Path(__file__).resolve().parent


def dataset_frames() -> None:
    """One frame of each skeleton dataset in its own layout, and the same frame in body15."""
    utd = read_utd_mhad_skeleton(DATA / "utd_mhad/Skeleton/a3_s1_t1_skeleton.mat")
    msr = read_msr_skeleton(DATA / "msr_action3d/a01_s01_e01_skeleton3D.txt")
    openpose = read_openpose_csv(DATA / "utd_mhad_openpose/a1_s1_t1_color.avi.csv")
    rows = [
        (utd, _highest_right_wrist(utd), "UTD-MHAD a3_s1_t1 right hand wave"),
        (msr, _highest_right_wrist(msr), "MSR Action3D a01_s01_e01 high arm wave"),
        (openpose, 10, "UTD-MHAD OpenPose a1_s1_t1 swipe left"),
    ]
    own = [skeleton_picture(s, t, size=360, title=f"{title} ({t})") for s, t, title in rows]
    body = [skeleton_picture(to_body15(s), t, size=360, title="converted") for s, t, _ in rows]
    save_png(HERE / "datasets.png", np.concatenate([picture_grid(own), picture_grid(body)]))


def _highest_right_wrist(skeleton) -> int:
    """The frame in which the right wrist is highest (canonical y is up)."""
    body = to_body15(skeleton)
    return int(np.nanargmax(body.coords[0, :, body.get_layout().index("right_wrist"), 1]))


def mediapipe_frames() -> None:
    """MediaPipe's skeleton over a frame of the NTU clip and of a push-up clip (cropped)."""
    pictures = []
    clips = (
        ("sample_clips/S001C001P001R001A001_rgb.avi", 50),
        ("pushup_form/videos/correct/correct1.mp4", 30),
    )
    for name, frame in clips:
        track = extract_poses(DATA / name, workers=1)
        image = read_video(DATA / name, [frame], short_side=480).frames[0]
        drawn = draw_frame(image, track.image, frame)
        pictures.append(_crop_around(drawn, track.image.coords[0, frame], track.image.image_size))
        world = skeleton_picture(track.world, frame, size=360, title="world landmarks")
        pictures.append(world)
    save_png(HERE / "mediapipe.png", picture_grid(pictures))


def _crop_around(image: np.ndarray, points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The person's box (keypoints in video pixels, 25% margin) cut from ``image`` and
    scaled to 360 pixels high."""
    scale = image.shape[1] / size[0]
    low, high = np.nanmin(points, axis=0) * scale, np.nanmax(points, axis=0) * scale
    margin = 0.25 * (high - low).max()
    x0, y0 = np.maximum(low - margin, 0).astype(int)
    x1, y1 = np.minimum(high + margin, image.shape[1::-1]).astype(int)
    crop = image[y0:y1, x0:x1]
    width = round(crop.shape[1] * 360 / crop.shape[0])
    return cv2.resize(crop, (width, 360), interpolation=cv2.INTER_AREA)


if __name__ == "__main__":
    dataset_frames()
    mediapipe_frames()
