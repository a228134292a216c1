"""Evaluate repetition counting against tests/data/pushup_rep_counts.csv (counts made by eye)
with actscope's MediaPipe poses and with the MoveNet keypoints shipped with the data, and on
the single-repetition Kinect trials of UTD-MHAD (squat, arm curl, lunge). Writes
docs/apps/exercise_results.json.

Poses are read from a cache folder written by ``actscope pose --dataset`` (extracted here
when missing):

    .venv/bin/python docs/apps/eval_exercise.py [--cache /work/cache/pushup_poses]
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import logging
from pathlib import Path

from actscope.apps.exercise import count_repetitions
from actscope.apps.pushup_form import read_movenet_json
from actscope.datasets.utd_mhad import read_utd_mhad_skeleton
from actscope.pose import PoseTrack
from actscope.pose.estimate import extract_poses

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("/work/cache/pushup_poses"))
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    with open(DATA / "pushup_form" / "labels.tsv") as handle:
        labels = {row["video"]: row for row in csv.DictReader(handle, delimiter="\t")}
    with open(ROOT / "tests" / "data" / "pushup_rep_counts.csv") as handle:
        rows = list(csv.DictReader(line for line in handle if not line.startswith("#")))
    clips = []
    for row in rows:
        label = labels[row["video"]]
        cached = args.cache / f"{row['video'].removeprefix('videos/')}.npz"
        if cached.is_file():
            track = PoseTrack.load(cached)
        else:
            track = extract_poses(DATA / "pushup_form" / row["video"])
            track.save(cached)
        movenet = read_movenet_json(
            DATA / "pushup_form" / label["movenet_json"], float(label["fps"])
        )
        mediapipe_report = count_repetitions(track.image, "pushup")
        clips.append(
            {
                "video": row["video"],
                "resolution": label["resolution"],
                "truth": int(row["reps"]),
                "mediapipe": mediapipe_report.count,
                "movenet": count_repetitions(movenet, "pushup").count,
                "mean_range_deg": mediapipe_report.summary()["mean_range"],
                "mean_duration_s": mediapipe_report.summary()["mean_duration"],
            }
        )
    results: dict = {"clips": clips}
    for source in ("mediapipe", "movenet"):
        errors = [c[source] - c["truth"] for c in clips]
        results[source] = {
            "exact": f"{sum(e == 0 for e in errors)}/{len(errors)}",
            "total_abs_error": sum(abs(e) for e in errors),
            "repetitions_counted_by_eye": sum(c["truth"] for c in clips),
        }
    kinect = {}
    for action, kind in ((27, "squat"), (16, "curl"), (26, "lunge")):
        counts = collections.Counter(
            count_repetitions(read_utd_mhad_skeleton(p), kind).count
            for p in sorted((DATA / "utd_mhad" / "Skeleton").glob(f"a{action}_s*_t*_skeleton.mat"))
        )
        kinect[kind] = {str(k): v for k, v in sorted(counts.items())}
    results["utd_mhad_single_repetition_trials"] = kinect
    out = ROOT / "docs" / "apps" / "exercise_results.json"
    out.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps({k: v for k, v in results.items() if k != "clips"}, indent=1))


if __name__ == "__main__":
    main()
