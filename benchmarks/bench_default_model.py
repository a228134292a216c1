"""The shipped default model: accuracy of the weights in the package, and CPU speed.

    .venv/bin/python benchmarks/bench_default_model.py [--data ../shared/data] [--threads 1]

Accuracy: the package's ``default_skeleton.pt`` on UTD-MHAD's test subjects (2, 4, 6, 8) as
Kinect skeletons projected to 2D, and as OpenPose keypoints from their RGB videos (the
transfer figure). Speed: one 2.5 s window from raw keypoints to class probabilities
(features + model, batch 1; median of 200 runs) and windows per second at batch 64.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

import actscope
from actscope.datasets import cross_subject, load_utd_mhad, load_utd_mhad_openpose
from actscope.inference.recognizer import default_checkpoint


def accuracy(recognizer: actscope.Recognizer, items) -> float:
    scores = recognizer.skeleton_scores([item.skeleton for item in items])
    labels = np.array([item.label for item in items])
    return float((scores.argmax(1) == labels).mean())


def timings(run: Callable[[], object], repeats: int) -> list[float]:
    """Wall seconds of ``repeats`` calls of ``run``."""
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("ACTSCOPE_DATA", "../shared/data"))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    recognizer = actscope.load_model("default")
    params = sum(p.numel() for p in recognizer.model.parameters())
    size_mb = default_checkpoint().stat().st_size / 1e6
    print(
        f"# {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"threads {args.threads}, load average {os.getloadavg()[0]:.1f}"
    )
    print(f"model: {recognizer.source}  {params / 1e6:.2f}M parameters, file {size_mb:.2f} MB")
    print(f"input: {recognizer.input}")

    _, kinect = cross_subject(load_utd_mhad(f"{args.data}/utd_mhad"))
    _, openpose = cross_subject(load_utd_mhad_openpose(f"{args.data}/utd_mhad_openpose"))
    print(
        f"UTD-MHAD test subjects, Kinect projected to 2D: top-1 {accuracy(recognizer, kinect):.4f}"
        f" ({len(kinect)} sequences)"
    )
    print(
        f"UTD-MHAD test subjects, OpenPose from RGB video: top-1 "
        f"{accuracy(recognizer, openpose):.4f} ({len(openpose)} sequences)"
    )

    window = kinect[0].skeleton
    timings(lambda: recognizer.skeleton_scores([window]), 10)  # warm-up
    times = timings(lambda: recognizer.skeleton_scores([window]), 200)
    print(
        f"latency, one sequence (features + model): median {1e3 * statistics.median(times):.2f} ms,"
        f" p95 {1e3 * np.percentile(times, 95):.2f} ms"
    )
    one = recognizer.features(window)[None]
    times = timings(lambda: recognizer.scores(one), 200)
    print(f"latency, one sequence (model only): median {1e3 * statistics.median(times):.2f} ms")
    batch = [kinect[i].skeleton for i in range(64)]
    times = timings(lambda: recognizer.skeleton_scores(batch), 5)
    print(f"throughput, batch 64 (features + model): {64 / statistics.median(times):.0f} seq/s")
    inputs = torch.stack([recognizer.features(s) for s in batch])
    times = timings(lambda: recognizer.scores(inputs), 5)
    print(f"throughput, batch 64 (model only): {64 / statistics.median(times):.0f} seq/s")


if __name__ == "__main__":
    main()
