"""The shipped default model: accuracy of the weights in the package, and CPU speed.

    .venv/bin/python benchmarks/bench_default_model.py [--protocol split1] [--threads 1] \
        [--pushup-poses DIR]

Accuracy: the package's ``default_skeleton.pt`` (the everyday model, trained on the
``everyday`` pool's ``split1`` training items) on each source's own test items under the same
protocol, as training tested them: JHMDB's split-1 test clips and Penn Action's official test
half (joints annotated on real video), NW-UCLA's third camera, the test subjects of UTD-MHAD
and MSR Action3D as 2D projections of their Kinect skeletons, UTKinect's held-out subject, and
UTD-MHAD's OpenPose keypoints of its test subjects' RGB videos (the transfer figure); also
UTD-MHAD's test skeletons with the legs (knees, ankles) removed, as a webcam at a desk sees a
person. Then how often the shipped unknown-action rule lets a known test clip through.
With ``--pushup-poses``: the 261 real push-up videos of ``pushup_form`` (RGB, people at home
and in gyms) as MediaPipe poses files, cached once by ``actscope pose --dataset
../shared/data/pushup_form/videos -o DIR``: how many ``predict`` names "push-up".
Speed: one window from raw keypoints to class probabilities (features + model, batch 1;
median of 200 runs) and windows per second at batch 64.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

import actscope
from actscope.checkpoint import default_checkpoint
from actscope.datasets.catalog import per_source_tests
from actscope.pose.convert import to_body15
from actscope.pose.layouts import BODY15


def scores_of(recognizer: actscope.Recognizer, items) -> tuple[np.ndarray, np.ndarray]:
    """``(N, K)`` probabilities of ``items`` and their ``(N,)`` labels."""
    scores = recognizer.skeleton_scores([item.skeleton for item in items])
    return scores, np.array([item.label for item in items])


def without_legs(items) -> list:
    """``items`` with knees and ankles missing (NaN, score 0), in body15."""
    legs = [BODY15.index(f"{side}_{j}") for side in ("left", "right") for j in ("knee", "ankle")]
    out = []
    for item in items:
        body = to_body15(item.skeleton)
        coords, scores = body.coords.copy(), body.scores.copy()
        coords[:, :, legs], scores[:, :, legs] = np.nan, 0.0
        out.append(replace(item, skeleton=body.replace(coords=coords, scores=scores)))
    return out


def push_ups(recognizer: actscope.Recognizer, files: list[Path]) -> None:
    """How ``predict`` answers on real push-up videos' poses files."""
    results = actscope.predict(files, model=recognizer)
    seen = [r for r in results if r.top]
    named = sum(r.label == "push-up" for r in seen)
    first = sum(r.top[0][0] == "push-up" for r in seen)
    unknown = sum(bool(r.unknown) for r in seen)
    print(
        f"push-up videos (MediaPipe poses): {len(files)} files, {len(seen)} with a person; "
        f"named push-up {named}, push-up first (unknown or not) {first}, unknown {unknown}"
    )


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
    parser.add_argument("--protocol", default="split1")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--pushup-poses", type=Path, help="cached MediaPipe poses (.npz)")
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
    print(f"classes: {len(recognizer.class_names)}; unknown rule: {recognizer.unknown}")
    tests = per_source_tests("everyday", args.protocol)
    print(f"\n{'test items':<28} {'clips':>6} {'top-1':>7} {'named':>7}")
    for name, items in tests.items():
        scores, labels = scores_of(recognizer, items)
        top1 = float((scores.argmax(1) == labels).mean())
        rule = recognizer.unknown
        named = 1.0 - float(rule.is_unknown(scores).mean()) if rule is not None else 1.0
        print(f"{name:<28} {len(items):>6} {top1:>7.4f} {named:>7.4f}")
    scores, labels = scores_of(recognizer, without_legs(tests["utd-mhad"]))
    top1 = float((scores.argmax(1) == labels).mean())
    print(f"{'utd-mhad without legs':<28} {len(labels):>6} {top1:>7.4f}")

    if args.pushup_poses:
        push_ups(recognizer, sorted(args.pushup_poses.rglob("*.npz")))

    window = tests["utd-mhad"][0].skeleton
    timings(lambda: recognizer.skeleton_scores([window]), 10)  # warm-up
    times = timings(lambda: recognizer.skeleton_scores([window]), 200)
    print(
        f"\nlatency, one sequence (features + model): median {1e3 * statistics.median(times):.2f}"
        f" ms, p95 {1e3 * np.percentile(times, 95):.2f} ms"
    )
    one = recognizer.features(window)[None]
    times = timings(lambda: recognizer.scores(one), 200)
    print(f"latency, one sequence (model only): median {1e3 * statistics.median(times):.2f} ms")
    batch = [tests["utd-mhad"][i].skeleton for i in range(64)]
    times = timings(lambda: recognizer.skeleton_scores(batch), 5)
    print(f"throughput, batch 64 (features + model): {64 / statistics.median(times):.0f} seq/s")
    inputs = torch.stack([recognizer.features(s) for s in batch])
    times = timings(lambda: recognizer.scores(inputs), 5)
    print(f"throughput, batch 64 (model only): {64 / statistics.median(times):.0f} seq/s")


if __name__ == "__main__":
    main()
