"""Regenerate the README's pictures of `actscope detect` on a real clip.

Runs detection with MediaPipe poses on the NTU RGB+D sample clip ("drink water", from
../shared/data/sample_clips), then writes next to this file:

- ``overlay_frame.jpg``: one frame of the ``--render`` video (skeleton, current action,
  confidence bar), taken in the middle of the best-scored segment (or of the clip);
- ``timeline.png``: the ``--timeline`` plot (class scores over time, motion, segments).

Run from the repository root:
  .venv/bin/python docs/predict/make_pictures.py [--model default|CHECKPOINT] [--clip PATH]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import cv2

from actscope.inference import detect, plot_timeline, render_overlay
from actscope.video import read_video

HERE = Path(__file__).resolve().parent
CLIP = HERE.parents[2] / "shared" / "data" / "sample_clips" / "S001C001P001R001A001_rgb.avi"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--clip", default=str(CLIP))
    args = parser.parse_args()
    result = detect(args.clip, args.model, keep_poses=True)
    print(
        f"{len(result.segments)} segments: "
        + ", ".join(
            f"{s.label} {s.start:.1f}-{s.end:.1f} s ({s.score:.2f})" for s in result.segments
        )
    )
    with tempfile.TemporaryDirectory() as folder:
        video = Path(folder) / "overlay.mp4"
        render_overlay(
            args.clip, video, result.scores, result.segments, result.skeleton, short_side=360
        )
        frames = read_video(video)
        best = max(result.segments, key=lambda s: s.score, default=None)
        middle = (best.start + best.end) / 2 if best else result.duration / 2
        index = min(int(abs(frames.times - middle).argmin()), len(frames.frames) - 1)
        image = cv2.cvtColor(frames.frames[index], cv2.COLOR_RGB2BGR)
        cv2.imwrite(str(HERE / "overlay_frame.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    name = Path(args.clip).name
    model = args.model if args.model == "default" else Path(args.model).name
    title = f"{name}, model {model}"
    plot_timeline(result.scores, HERE / "timeline.png", result.segments, title=title)
    print(f"wrote {HERE / 'overlay_frame.jpg'} (frame {index}) and {HERE / 'timeline.png'}")


if __name__ == "__main__":
    main()
