"""Contact sheets for counting repetitions by eye: a clip's frames over time in a grid.

Each thumbnail is labelled with its time in seconds. Used to make
tests/data/pushup_rep_counts.csv (see the header of that file):

    .venv/bin/python docs/apps/contact_sheet.py VIDEO OUT.png [--rate 6] [--width 200]
"""

from __future__ import annotations

import argparse
import math

import cv2
import numpy as np

from actscope.pose.render import save_png
from actscope.video import iter_video_frames, probe


def contact_sheet(video: str, rate: float = 6.0, width: int = 200, columns: int = 8) -> np.ndarray:
    """RGB grid of the frames of ``video`` sampled at about ``rate`` frames per second."""
    info = probe(video)
    step = max(1, round(info.fps / rate)) if info.fps > 0 else 1
    thumbs = []
    for frame in iter_video_frames(video, step=step):
        height = round(frame.image.shape[0] * width / frame.image.shape[1])
        thumb = cv2.resize(frame.image, (width, height), interpolation=cv2.INTER_AREA)
        cv2.rectangle(thumb, (0, 0), (64, 16), (0, 0, 0), -1)
        cv2.putText(
            thumb, f"{frame.time:5.2f}s", (2, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 0), 1
        )
        thumbs.append(thumb)
    rows = math.ceil(len(thumbs) / columns)
    blank = np.zeros_like(thumbs[0])
    thumbs += [blank] * (rows * columns - len(thumbs))
    grid = [np.concatenate(thumbs[r * columns : (r + 1) * columns], axis=1) for r in range(rows)]
    return np.concatenate(grid, axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video")
    parser.add_argument("output")
    parser.add_argument("--rate", type=float, default=6.0, help="thumbnails per second")
    parser.add_argument("--width", type=int, default=200, help="thumbnail width (pixels)")
    parser.add_argument("--columns", type=int, default=8)
    args = parser.parse_args()
    save_png(args.output, contact_sheet(args.video, args.rate, args.width, args.columns))


if __name__ == "__main__":
    main()
