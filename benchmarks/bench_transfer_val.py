"""The OpenPose transfer's validation half: finished everyday runs scored on UTD-MHAD's
OpenPose keypoints of the *training* subjects (1, 3, 5, 7), so that recipes can be compared
on the Kinect-to-video gap without reading the test subjects (2, 4, 6, 8).

No run sees OpenPose keypoints in training, but these subjects' Kinect skeletons of the
same trials do train, so the figure is higher than the test subjects' in absolute terms;
it is for comparing runs, not for reporting. No training; reads each run's ``model.pt``.

    .venv/bin/python benchmarks/bench_transfer_val.py --runs runs/everyday/everyday/split1-s0 \\
        runs/everyday/everyday/split1-s1

Prints top-1 (%) over the pooled vocabulary per run, and the mean ± population std.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import numpy as np
import torch

from actscope.checkpoint import load_trained_model
from actscope.datasets.catalog import dataset_root, get_dataset, split
from actscope.datasets.everyday import load_taxonomy
from actscope.datasets.skeleton_torch import SkeletonTorchDataset
from actscope.engine.evaluate import eval_loader, predict_scores
from actscope.models.registry import input_from_dict

SOURCE = "utd-mhad-openpose"


def validation_top1(run: Path, items) -> float:
    """Top-1 (%) of ``run``'s final weights on ``items`` (labels in the source's own
    classes), over the run's whole vocabulary."""
    model, checkpoint = load_trained_model(run / "model.pt")
    classes = list(checkpoint["class_names"])
    mapping = load_taxonomy()[SOURCE]
    shared = np.array([classes.index(mapping[name]) for name in items.class_names])
    features = input_from_dict(checkpoint["input"])
    logits, labels, _ = predict_scores(
        model,
        eval_loader(SkeletonTorchDataset(items, features), 64),
        device=torch.device("cpu"),
    )
    return 100.0 * float((logits.argmax(1) == shared[labels]).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, nargs="+", required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    entry = get_dataset(SOURCE)
    items, _ = split(entry.load(dataset_root(entry)), "")
    print(f"{SOURCE}, training subjects: {len(items)} clips")
    values = []
    for run in args.runs:
        values.append(validation_top1(run, items))
        print(f"{values[-1]:6.2f}  {run}")
    if len(values) > 1:
        print(f"{statistics.fmean(values):6.2f} ± {statistics.pstdev(values):.2f}  mean ± std")


if __name__ == "__main__":
    main()
