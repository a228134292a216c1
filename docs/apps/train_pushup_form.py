"""Train and evaluate the push-up form classifier on ../shared/data/pushup_form.

Poses come from actscope's own extraction (MediaPipe), cached once outside the repository:

    .venv/bin/actscope pose --dataset ../shared/data/pushup_form/videos \\
        -o /work/cache/pushup_poses --workers 1

The MoveNet keypoints shipped with the data are the second input. Evaluation is by clip
(the data has no subject ids): repeated stratified 5-fold cross-validation, and
leave-one-resolution-out (clips of one resolution mostly come from one source, so this is
the closest thing to a split by source). Writes the shipped model
(src/actscope/assets/pushup_form.json), docs/apps/pushup_form_results.json and
docs/apps/pushup_form_confusion.png.

    .venv/bin/python docs/apps/train_pushup_form.py [--cache /work/cache/pushup_poses]
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
from pathlib import Path

import numpy as np

from actscope.apps.pushup_form import FEATURES, FormClassifier, form_features, read_movenet_json
from actscope.engine.metrics import confusion_matrix, plot_confusion
from actscope.pose import PoseTrack

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "pushup_form"
L2 = 1.0
REPEATS = 10


def load_clips(cache: Path) -> list[dict]:
    """One dict per video: label (1 = correct), resolution group, features of both inputs."""
    clips = []
    with open(DATA / "labels.tsv") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            video = row["video"].removeprefix("videos/")
            track = PoseTrack.load(cache / f"{video}.npz")
            movenet = read_movenet_json(DATA / row["movenet_json"], float(row["fps"]))
            if track.frames_with_person < 0.5 * track.num_frames:
                print(
                    f"left out {row['video']}: MediaPipe found a person in "
                    f"{track.frames_with_person} of {track.num_frames} frames"
                )
                continue
            clips.append(
                {
                    "video": row["video"],
                    "label": int(row["label"] == "correct"),
                    "group": row["resolution"]
                    if row["resolution"] in ("320x240", "640x360", "1920x1080")
                    else "other",
                    "mediapipe": form_features(track.image),
                    "movenet": form_features(movenet),
                }
            )
    return clips


def stratified_folds(labels: np.ndarray, folds: int, rng: np.random.Generator) -> np.ndarray:
    """Fold index of each sample, classes spread evenly over the folds."""
    fold = np.zeros(len(labels), int)
    for value in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == value))
        fold[members] = np.arange(len(members)) % folds
    return fold


def cross_validate(x: np.ndarray, y: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """Out-of-fold probability of correct form for every sample."""
    p = np.zeros(len(y))
    for k in np.unique(folds):
        test = folds == k
        model = FormClassifier.train(x[~test], y[~test], L2)
        p[test] = model.probability(x[test])
    return p


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("/work/cache/pushup_poses"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    clips = load_clips(args.cache)
    y = np.array([c["label"] for c in clips])
    groups = np.array([c["group"] for c in clips])
    inputs = {
        "mediapipe": np.stack([c["mediapipe"] for c in clips]),
        "movenet": np.stack([c["movenet"] for c in clips]),
    }
    inputs["both"] = np.hstack([inputs["mediapipe"], inputs["movenet"]])
    results: dict = {"clips": len(clips), "correct": int(y.sum()), "wrong": int((1 - y).sum())}
    results["majority_baseline"] = round(float(max(y.mean(), 1 - y.mean())), 4)
    # how far the resolution alone gives the label away (a shortcut a model could learn)
    by_group = {g: float(y[groups == g].mean()) for g in np.unique(groups)}
    guess = np.array([by_group[g] >= 0.5 for g in groups])
    results["resolution_only_accuracy"] = round(float((guess == y).mean()), 4)
    results["per_group"] = {
        g: {"clips": int((groups == g).sum()), "correct_share": round(by_group[g], 3)}
        for g in by_group
    }
    pooled = None
    for name, x in inputs.items():
        accuracies = []
        for repeat in range(REPEATS):
            folds = stratified_folds(y, 5, np.random.default_rng(repeat))
            p = cross_validate(x, y, folds)
            accuracies.append(float(((p >= 0.5) == y).mean()))
            if name == "mediapipe" and repeat == 0:
                pooled = confusion_matrix((p >= 0.5).astype(int), y, 2)
        group_ids = {g: i for i, g in enumerate(sorted(set(groups)))}
        p = cross_validate(x, y, np.array([group_ids[g] for g in groups]))
        per_group = {g: round(float(((p >= 0.5) == y)[groups == g].mean()), 4) for g in group_ids}
        results[name] = {
            "cv5_accuracy_mean": round(float(np.mean(accuracies)), 4),
            "cv5_accuracy_std": round(float(np.std(accuracies)), 4),
            "leave_resolution_out_accuracy": round(float(((p >= 0.5) == y).mean()), 4),
            "leave_resolution_out_per_group": per_group,
        }
        print(name, results[name])
    results["confusion_mediapipe_cv5_repeat0"] = pooled.tolist()
    final = FormClassifier.train(
        inputs["mediapipe"],
        y,
        L2,
        info={
            "data": "pushup_form (github.com/riyer8/cs231n-pushfit)",
            "clips": len(clips),
            "poses": "actscope MediaPipe (image keypoints)",
            "cv5_accuracy": results["mediapipe"]["cv5_accuracy_mean"],
            "leave_resolution_out_accuracy": results["mediapipe"]["leave_resolution_out_accuracy"],
        },
    )
    final.save(ROOT / "src" / "actscope" / "assets" / "pushup_form.json")
    results["weights"] = dict(zip(FEATURES, np.round(final.weights, 3).tolist(), strict=True))
    out = ROOT / "docs" / "apps"
    (out / "pushup_form_results.json").write_text(json.dumps(results, indent=1) + "\n")
    png = plot_confusion(
        pooled, ["wrong", "correct"], "push-up form, 5-fold CV by clip (MediaPipe poses)"
    )
    (out / "pushup_form_confusion.png").write_bytes(png)
    print(json.dumps({k: v for k, v in results.items() if k != "weights"}, indent=1))


if __name__ == "__main__":
    main()
