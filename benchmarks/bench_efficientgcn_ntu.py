"""EfficientGCN-B0 (NTU RGB+D 60 weights) on six real NTU videos, through ``actscope.predict``.

The six NTU clips in ../shared/data (pick up, back pain, neck pain, nausea, hugging, and the
drink-water sample clip) go through the path that ``actscope predict VIDEO --model
efficientgcn_b0 --weights FILE`` takes: MediaPipe poses frame by frame, world landmarks
placed in the camera's frame (``actscope.pose.camera``), 9.6 s windows of NTU input
(``ntu_input``), the authors' checkpoint. It runs twice: as ordinary (unmirrored) video, the
default, and with ``mirrored=True`` (``--mirrored``), which NTU's Kinect videos are.
Printed, as Markdown, per run: each clip's true class, its rank and probability, the top 3,
and the windows scored; then top-1 and top-5 over the six, and the time taken.

The performers of these clips (1 and 3) are in NTU's cross-subject TRAINING split: this
shows that the pipeline feeds the model what it was trained on, not how well it generalises.

Run: .venv/bin/python benchmarks/bench_efficientgcn_ntu.py [--workers N]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

import actscope
from actscope.inference import Recognizer

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CLIPS = (
    *sorted((DATA / "ntu_rgb_samples").glob("*.avi")),
    DATA / "sample_clips" / "S001C001P001R001A001_rgb.avi",
)
CHECKPOINT = DATA / "weights" / "efficientgcn_b0_ntu60" / "2001_EfficientGCN-B0_ntu-xsub.pth.tar"


def true_class(clip: Path) -> int:
    """0-based NTU action of a file named SsssCcccPpppRrrrAaaa_rgb.avi."""
    return int(clip.name[17:20]) - 1


def rank_of(probs: np.ndarray, label: int) -> int:
    return int((probs > probs[label]).sum()) + 1


def run(model: Recognizer, mirrored: bool, workers: int | None) -> tuple[int, int]:
    """Predict the six clips; print the table; return top-1 and top-5 counts."""
    start = time.perf_counter()
    results = actscope.predict(CLIPS, model, top_k=3, mirrored=mirrored, workers=workers)
    seconds = time.perf_counter() - start
    classes = model.class_names
    print(f"\n{'mirrored (--mirrored)' if mirrored else 'default (unmirrored)'}: "
          f"{seconds:.1f} s for the six clips\n")  # fmt: skip
    print("| clip | true class | rank | probability | top 3 | windows | seconds |")
    print("|---|---|---|---|---|---|---|")
    top1 = top5 = 0
    for clip, result in zip(CLIPS, results, strict=True):
        if not result.ok or result.scores is None or not result.top:
            print(f"| {clip.name[:20]} | failed: {result.error or result.warnings} |")
            continue
        label = true_class(clip)
        probs = result.scores.mean_probs()
        rank = rank_of(probs, label)
        top1, top5 = top1 + (rank == 1), top5 + (rank <= 5)
        top = ", ".join(f"{name} {p:.2f}" for name, p in result.top)
        cells = [clip.name[:20], f"A{label + 1:03d} {classes[label]}", str(rank)]
        cells += [f"{probs[label]:.2f}", top, str(result.windows), f"{result.seconds:.1f}"]
        print(f"| {' | '.join(cells)} |")
    print(f"\ntop-1 {top1}/{len(CLIPS)}, top-5 {top5}/{len(CLIPS)}")
    return top1, top5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=CHECKPOINT)
    parser.add_argument("--workers", type=int, help="MediaPipe threads (predict's default: 2)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__}, load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    model = Recognizer.from_pretrained("efficientgcn_b0", args.checkpoint)
    for mirrored in (False, True):
        run(model, mirrored, args.workers)


if __name__ == "__main__":
    main()
