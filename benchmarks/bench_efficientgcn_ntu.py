"""EfficientGCN-B0 (NTU RGB+D 60 weights) on MediaPipe poses of real NTU RGB videos.

For each of the six NTU clips in ../shared/data (pick up, back pain, neck pain, nausea,
hugging, and the drink-water sample clip), actscope's MediaPipe path
(``actscope.pose.extract_poses``) gives the poses, :func:`actscope.pose.ntu_input.ntu_input`
makes them NTU input, and the authors' checkpoint scores them. Printed, as Markdown:

1. the default input (world landmarks placed where the image shows the hips, the mirror
   image of NTU's videos undone, zero-padded to 288 frames): per clip the true class, its rank and
   probability, and the top 3;
2. the variants measured: image keypoints lifted instead of world landmarks, the video
   taken as unmirrored, loop padding, no depth smoothing, world landmarks alone, a narrower
   assumed camera; per clip the true class's rank and probability;
3. with ``--trims``, the same variants on 9 versions of each clip (0, 6 or 12 frames cut
   from its start and from its end): a steadier comparison than six single scores.

The performers of these clips (1 and 3) are in NTU's cross-subject TRAINING split: this
shows that the pipeline feeds the model correctly, not how well it generalises.

Poses are cached in ``--cache`` (default /tmp/actscope-bench-efficientgcn), so reruns take
seconds.

Run: .venv/bin/python benchmarks/bench_efficientgcn_ntu.py [--trims]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from actscope.pose import extract_poses
from actscope.pose.estimate import PoseTrack
from actscope.pose.ntu_input import ntu_input
from actscope.weights import load_pretrained

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CLIPS = (
    *sorted((DATA / "ntu_rgb_samples").glob("*.avi")),
    DATA / "sample_clips" / "S001C001P001R001A001_rgb.avi",
)
CHECKPOINT = DATA / "weights" / "efficientgcn_b0_ntu60" / "2001_EfficientGCN-B0_ntu-xsub.pth.tar"

DEFAULT: dict[str, Any] = {"mirrored": True}
VARIANTS: dict[str, dict[str, Any]] = {
    "**default**: world landmarks, mirror undone, zero-padded": DEFAULT,
    "image keypoints lifted (lift='image')": {**DEFAULT, "lift": "image"},
    "taken as unmirrored (mirrored=False)": {},
    "image keypoints, taken as unmirrored": {"lift": "image"},
    "loop padding (pad='loop')": {**DEFAULT, "pad": "loop"},
    "no depth smoothing (depth_window=1)": {**DEFAULT, "depth_window": 1},
    "world landmarks alone (no image)": {**DEFAULT, "image": False},
    "narrower camera assumed (fov=60)": {**DEFAULT, "fov": 60.0},
}
TRIMS = (0, 6, 12)


def true_class(clip: Path) -> int:
    """0-based NTU action of a file named SsssCcccPpppRrrrAaaa_rgb.avi."""
    return int(clip.name[17:20]) - 1


def poses(clip: Path, cache: Path) -> tuple[PoseTrack, float]:
    """The clip's MediaPipe poses (cached) and the seconds the extraction took (0 if cached)."""
    path = cache / f"{clip.name}.npz"
    if path.is_file():
        return PoseTrack.load(path), 0.0
    start = time.perf_counter()
    track = extract_poses(clip, workers=1)
    seconds = time.perf_counter() - start
    cache.mkdir(parents=True, exist_ok=True)
    track.save(path)
    return track, seconds


def model_input(track: PoseTrack, options: dict[str, Any], trim: tuple[int, int] = (0, 0)):
    options = dict(options)
    start, end = trim
    stop = track.num_frames - end
    image, world = track.image.frames(start, stop), track.world.frames(start, stop)
    if not options.pop("image", True):
        return ntu_input(world, **options)
    return ntu_input(image, world=world, **options)


def probabilities(model: torch.nn.Module, inputs: list[np.ndarray]) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(np.stack(inputs))).softmax(-1).numpy()


def rank_of(probs: np.ndarray, label: int) -> int:
    return int((probs > probs[label]).sum()) + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/actscope-bench-efficientgcn"))
    parser.add_argument("--checkpoint", type=Path, default=CHECKPOINT)
    parser.add_argument("--trims", action="store_true", help="also score 9 trims of each clip")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__}, load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    loaded = load_pretrained("efficientgcn_b0", args.checkpoint)
    model, classes = loaded.model, loaded.classes
    tracks = {}
    for clip in CLIPS:
        tracks[clip], seconds = poses(clip, args.cache)
        track = tracks[clip]
        took = f"{seconds:.1f} s" if seconds else "cached"
        print(f"poses {clip.name}: {track.num_frames} frames, {track.frames_with_person} "
              f"with a person, {track.image.num_people} person slot(s) ({took})")  # fmt: skip

    start = time.perf_counter()
    inputs = [model_input(tracks[clip], DEFAULT) for clip in CLIPS]
    prepared = time.perf_counter() - start
    start = time.perf_counter()
    probs = probabilities(model, inputs)
    scored = time.perf_counter() - start
    print(f"\ninput {1000 * prepared / len(CLIPS):.1f} ms per clip, model "
          f"{1000 * scored / len(CLIPS):.0f} ms per clip (one thread)\n")  # fmt: skip
    print("| clip | true class | rank | probability | top 3 |")
    print("|---|---|---|---|---|")
    for clip, p in zip(CLIPS, probs, strict=True):
        label = true_class(clip)
        top = ", ".join(f"{classes[i]} {p[i]:.2f}" for i in np.argsort(-p)[:3])
        print(f"| {clip.name[:20]} | A{label + 1:03d} {classes[label]} | {rank_of(p, label)} "
              f"| {p[label]:.2f} | {top} |")  # fmt: skip

    names = [f"A{true_class(clip) + 1:03d}" for clip in CLIPS]
    print(f"\n| variant | {' | '.join(names)} | top-1 | top-5 |")
    print("|---|" + "---|" * (len(names) + 2))
    for variant, options in VARIANTS.items():
        probs = probabilities(model, [model_input(tracks[c], options) for c in CLIPS])
        ranks = [rank_of(p, true_class(c)) for c, p in zip(CLIPS, probs, strict=True)]
        cells = [
            f"{r} ({p[true_class(c)]:.2f})" for c, r, p in zip(CLIPS, ranks, probs, strict=True)
        ]
        top1, top5 = sum(r == 1 for r in ranks), sum(r <= 5 for r in ranks)
        print(f"| {variant} | {' | '.join(cells)} | {top1}/6 | {top5}/6 |")

    if not args.trims:
        return
    trims = [(a, b) for a in TRIMS for b in TRIMS]
    print(f"\n{len(trims)} trims per clip: share of top-1 per clip, and over all "
          f"{len(trims) * len(CLIPS)} inputs top-1, top-5 and the mean log-probability "
          "of the true class\n")  # fmt: skip
    print(f"| variant | {' | '.join(names)} | top-1 | top-5 | mean log p |")
    print("|---|" + "---|" * (len(names) + 3))
    for variant, options in VARIANTS.items():
        per_clip, ranks, logs = [], [], []
        for clip in CLIPS:
            label = true_class(clip)
            probs = probabilities(model, [model_input(tracks[clip], options, t) for t in trims])
            clip_ranks = [rank_of(p, label) for p in probs]
            per_clip.append(f"{np.mean([r == 1 for r in clip_ranks]):.2f}")
            ranks += clip_ranks
            logs += list(np.log(probs[:, label]))
        ranks_ = np.array(ranks)
        print(f"| {variant} | {' | '.join(per_clip)} | {np.mean(ranks_ == 1):.2f} "
              f"| {np.mean(ranks_ <= 5):.2f} | {np.mean(logs):.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
