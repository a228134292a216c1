"""Evaluate fall detection: synthetic sequences from real standing poses, and real sequences
of sitting, squatting, bending and everything else in UTD-MHAD and MSR Action3D.

Synthetic: each sequence starts from a UTD-MHAD or MSR Action3D recording of a person
standing (actions performed on the spot with the arms), and ``actscope.apps.fall_synth``
makes it fall, lie down slowly, sit down or bend over; each is scored in 3D (metres) and as
2D COCO-17 keypoints with scores seen from a random camera. Bases of the two datasets are
drawn alternately; thresholds were set on UTD-MHAD bases, so the MSR Action3D rows are
closer to held-out. Real: every sequence of both datasets, and every push-up video (people
going down to the floor on purpose; 2D poses from MediaPipe and MoveNet). None holds a fall,
so any alarm is a false alarm. Writes docs/apps/fall_results.json.

    .venv/bin/python docs/apps/eval_fall.py [--per-scenario 100]
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import logging
import time
from pathlib import Path

import numpy as np

from actscope.apps.fall import detect_falls
from actscope.apps.fall_synth import SCENARIOS, project_to_image, synthesize
from actscope.apps.pushup_form import read_movenet_json
from actscope.datasets.msr_action3d import CLASSES as MSR_CLASSES
from actscope.datasets.msr_action3d import read_msr_skeleton
from actscope.datasets.utd_mhad import CLASSES as UTD_CLASSES
from actscope.datasets.utd_mhad import read_utd_mhad_skeleton
from actscope.pose import PoseTrack

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"


def standing_bases() -> dict[str, list]:
    """Recordings of people standing on the spot: UTD-MHAD actions 1-20 (arm actions) and
    MSR Action3D actions 1-12 (arm actions)."""
    utd = [
        read_utd_mhad_skeleton(p)
        for a in range(1, 21)
        for p in sorted((DATA / "utd_mhad" / "Skeleton").glob(f"a{a}_s*_t1_skeleton.mat"))
    ]
    msr = [
        read_msr_skeleton(p)
        for a in range(1, 13)
        for p in sorted((DATA / "msr_action3d").glob(f"a{a:02d}_s*_e01_skeleton3D.txt"))
    ]
    return {"utd_mhad": utd, "msr_action3d": [s for s in msr if s.num_frames > 10]}


def synthetic(per_scenario: int) -> dict:
    bases = standing_bases()
    rng = np.random.default_rng(2024)
    counts: dict = collections.defaultdict(lambda: [0, 0])  # (alerts, sequences)
    timing = []
    for i in range(per_scenario):
        source = "utd_mhad" if i % 2 == 0 else "msr_action3d"
        for scenario in SCENARIOS:
            base = bases[source][rng.integers(len(bases[source]))]
            made = synthesize(base, scenario, rng)
            for view in ("3d", "2d_coco"):
                skeleton = made.skeleton if view == "3d" else project_to_image(made.skeleton, rng)
                alerts = detect_falls(skeleton)
                counts[(source, scenario, view)][0] += bool(alerts)
                counts[(source, scenario, view)][1] += 1
                if scenario == "fall" and alerts:
                    timing.append(alerts[0].time - made.ends)
    rows = {}
    for view in ("3d", "2d_coco"):
        for source in bases:
            falls, total = counts[(source, "fall", view)]
            alarms = sum(counts[(source, s, view)][0] for s in SCENARIOS[1:])
            negatives = sum(counts[(source, s, view)][1] for s in SCENARIOS[1:])
            rows[f"{view}/{source}"] = {
                "falls_detected": f"{falls}/{total}",
                "recall": round(falls / total, 4),
                "false_alarms": f"{alarms}/{negatives}",
                "precision": round(falls / max(1, falls + alarms), 4),
                **{s: counts[(source, s, view)][0] for s in SCENARIOS[1:]},
            }
    timing = np.abs(np.asarray(timing))
    return {
        "per_scenario": per_scenario,
        "rows": rows,
        "alert_time_error_s": {
            "median": round(float(np.median(timing)), 3),
            "p95": round(float(np.percentile(timing, 95)), 3),
        },
    }


def real() -> dict:
    alarms = collections.Counter()
    totals = collections.Counter()
    frames = 0
    for path in sorted((DATA / "utd_mhad" / "Skeleton").glob("*_skeleton.mat")):
        action = int(path.name.split("_")[0][1:])
        skeleton = read_utd_mhad_skeleton(path)
        frames += skeleton.num_frames
        key = f"utd_mhad/{UTD_CLASSES[action - 1]}"
        totals[key] += 1
        alarms[key] += bool(detect_falls(skeleton))
    for path in sorted((DATA / "msr_action3d").glob("a*_skeleton3D.txt")):
        action = int(path.name[1:3])
        skeleton = read_msr_skeleton(path)
        if skeleton.num_frames <= 10:
            continue
        frames += skeleton.num_frames
        key = f"msr_action3d/{MSR_CLASSES[action - 1]}"
        totals[key] += 1
        alarms[key] += bool(detect_falls(skeleton))
    return {
        "sequences": sum(totals.values()),
        "frames": frames,
        "false_alarms": sum(alarms.values()),
        "alarms_by_action": {k: v for k, v in alarms.items() if v},
        "selected": {
            k: f"{alarms[k]}/{totals[k]}"
            for k in totals
            if any(w in k for w in ("sit", "squat", "bend", "pick", "lunge"))
        },
    }


def real_pushups(cache: Path) -> dict:
    """People getting down to the floor on purpose, filmed: every push-up clip, with
    actscope's MediaPipe poses (when cached) and with the MoveNet keypoints of the data."""
    with open(DATA / "pushup_form" / "labels.tsv") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    out = {}
    movenet = [
        read_movenet_json(DATA / "pushup_form" / r["movenet_json"], float(r["fps"])) for r in rows
    ]
    out["movenet"] = {"clips": len(rows), "alarms": sum(bool(detect_falls(s)) for s in movenet)}
    cached = [cache / f"{r['video'].removeprefix('videos/')}.npz" for r in rows]
    if all(path.is_file() for path in cached):
        tracks = [PoseTrack.load(path).image for path in cached]
        out["mediapipe"] = {
            "clips": len(tracks),
            "frames": sum(t.num_frames for t in tracks),
            "alarms": sum(bool(detect_falls(t)) for t in tracks if t.num_people),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-scenario", type=int, default=100)
    parser.add_argument("--cache", type=Path, default=Path("/work/cache/pushup_poses"))
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    started = time.perf_counter()
    results = {
        "synthetic": synthetic(args.per_scenario),
        "real_non_falls": real(),
        "real_pushup_videos": real_pushups(args.cache),
    }
    results["seconds"] = round(time.perf_counter() - started, 1)
    (ROOT / "docs" / "apps" / "fall_results.json").write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
