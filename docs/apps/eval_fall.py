"""Evaluate fall detection on real falls, real non-falls and synthetic sequences.

Real falls: the 15 sequences of UR Fall's ``urfall_dev`` half (2D AlphaPose-style keypoints
of real falls; the other 15 are kept apart). Scored per sequence: did it alert, and how
long after the first frame labelled "lying" (the alert's ``confirmed`` time, when it was
given; negative when it came before that frame). **The detector's thresholds were
checked on these same 15 sequences**, so their figures are not held-out (see
``fall_leave_out.py`` for the leave-some-out check).

Real non-falls, where any alarm is a false alarm, each in 3D and in 2D:

- every UTD-MHAD and MSR Action3D sequence (Kinect v1 skeletons; sitting down, standing
  up, squats, lunges, bending, picking up, ...);
- the UTKinect recordings of ``utkinect_dev`` (whole untrimmed recordings: walking,
  sitting down, standing up, picking up, carrying, ...); the recorded frames are laid on
  their 30 Hz clock by :func:`read_utkinect`;
- 2D for the Kinect sets is the skeleton seen by the Kinect's own camera (pinhole,
  f = 525 px at 640x480, :func:`kinect_image`): the view the recordings were made from;
- every push-up video (people going down to the floor on purpose, filmed from every
  side): MoveNet keypoints shipped with the data, and actscope's MediaPipe poses when they
  are cached (``actscope pose --dataset .../pushup_form/videos -o CACHE``).

Synthetic: UTD-MHAD and MSR Action3D recordings of people standing, made to fall, lie
down slowly, sit down or bend over by :mod:`actscope.apps.fall_synth`, in 3D and as 2D
COCO keypoints from a random camera.

Writes docs/apps/fall_results.json.

    .venv/bin/python docs/apps/eval_fall.py [--per-scenario 100] [--cache DIR]
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import logging
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from actscope.apps.fall import FallConfig, detect_falls
from actscope.apps.fall_synth import SCENARIOS, project_to_image, synthesize
from actscope.apps.pushup_form import read_movenet_json
from actscope.datasets.msr_action3d import CLASSES as MSR_CLASSES
from actscope.datasets.msr_action3d import read_msr_skeleton
from actscope.datasets.urfall import load_urfall
from actscope.datasets.utd_mhad import CLASSES as UTD_CLASSES
from actscope.datasets.utd_mhad import read_utd_mhad_skeleton
from actscope.datasets.utkinect import read_utkinect_raw
from actscope.pose import PoseTrack, Skeleton
from actscope.pose.convert import from_body15, to_body15
from actscope.pose.layouts import KINECT_V1_20

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
KINECT_FOCAL = 525.0
"""Focal length (pixels) of the Kinect v1 colour camera at 640x480."""


# --- readers ------------------------------------------------------------------------------


def read_utkinect(path: Path) -> Skeleton:
    """A UTKinect ``joints_sXX_eYY.txt`` recording as a ``kinect_v1_20`` world skeleton on a
    30 Hz grid (frame ids are 30 Hz clock ticks; only every 4th-5th frame was recorded, the
    others are left empty so that time stays right)."""
    raw = read_utkinect_raw(path)
    coords = np.full((1, raw.frame_ids[-1] - raw.frame_ids[0] + 1, 20, 3), np.nan, np.float32)
    coords[0, raw.frame_ids - raw.frame_ids[0]] = raw.coords
    scores = np.isfinite(coords[..., 0]).astype(np.float32)
    return Skeleton(coords, scores, KINECT_V1_20.name, 30.0, "world", str(path))


def kinect_image(skeleton: Skeleton) -> Skeleton:
    """A Kinect world skeleton as the Kinect's own camera saw it: ``coco17`` pixels of a
    640x480 picture (pinhole, focal :data:`KINECT_FOCAL`), with the joints' scores; joints
    more than 10% of the picture outside it are missing."""
    body = to_body15(skeleton)
    x, y, z = np.moveaxis(body.coords.astype(np.float64), -1, 0)  # canonical: z to camera
    depth = np.where(-z > 0.1, -z, np.nan)
    image = np.stack([KINECT_FOCAL * x / depth + 320, KINECT_FOCAL * y / depth - 240], axis=-1)
    # a 2D estimator finds no joint far outside the picture (UR Fall's reach 10% past it)
    outside = (np.abs(image[..., 0] - 320) > 352) | (np.abs(image[..., 1] + 240) > 264)
    image[outside] = np.nan
    flat = body.replace(coords=image.astype(np.float32), space="image", image_size=(640, 480))
    return from_body15(flat, "coco17")


# --- real falls -------------------------------------------------------------------------------


def urfall(config: FallConfig | None = None) -> dict:
    """Per-sequence alerts on ``urfall_dev`` and the figures over them."""
    rows = {}
    for sequence in load_urfall(DATA / "urfall_dev"):
        alerts = detect_falls(sequence.skeleton, config)
        lying = sequence.first_lying
        row = {
            "frames": sequence.skeleton.num_frames,
            "first_lying_s": round(lying, 3),
            "lying_after_s": round(sequence.lying_after, 3),
            "alerts": len(alerts),
        }
        if alerts:
            first = alerts[0]
            row |= {
                "delay_s": round(first.confirmed - lying, 3),
                "impact_minus_lying_s": round(first.time - lying, 3),
                "complete": first.complete,
                "confidence": round(first.confidence, 3),
                "fall_time_s": round(first.fall_time, 3),
                "height": round(first.height, 3),
            }
        rows[sequence.name] = row
    return {"summary": urfall_summary(rows), "sequences": rows}


def urfall_summary(rows: dict) -> dict:
    """Recall (all, and with at least 1 s of lying after the fall) and alert delays."""
    long = {k: r for k, r in rows.items() if r["lying_after_s"] >= 1.0}
    delays = [r["delay_s"] for r in rows.values() if r["alerts"]]
    long_delays = [r["delay_s"] for r in long.values() if r["alerts"]]
    return {
        "sequences": len(rows),
        "recall": _ratio(sum(bool(r["alerts"]) for r in rows.values()), len(rows)),
        "with_1s_lying": len(long),
        "recall_with_1s_lying": _ratio(sum(bool(r["alerts"]) for r in long.values()), len(long)),
        "median_delay_s": round(statistics.median(delays), 3) if delays else None,
        "max_delay_s": round(max(delays), 3) if delays else None,
        "median_delay_with_1s_lying_s": (
            round(statistics.median(long_delays), 3) if long_delays else None
        ),
        "alerts_at_end_of_recording": sum(
            1 for r in rows.values() if r["alerts"] and not r["complete"]
        ),
        "more_than_one_alert": sum(1 for r in rows.values() if r["alerts"] > 1),
    }


def _ratio(hits: int, total: int) -> dict:
    return {"hits": hits, "total": total, "value": round(hits / total, 4) if total else None}


# --- real non-falls ----------------------------------------------------------------------------


def utd_mhad() -> Iterator[tuple[str, Skeleton]]:
    for path in sorted((DATA / "utd_mhad" / "Skeleton").glob("*_skeleton.mat")):
        action = int(path.name.split("_")[0][1:])
        yield UTD_CLASSES[action - 1], read_utd_mhad_skeleton(path)


def msr_action3d() -> Iterator[tuple[str, Skeleton]]:
    for path in sorted((DATA / "msr_action3d").glob("a*_skeleton3D.txt")):
        skeleton = read_msr_skeleton(path)
        if skeleton.num_frames > 10:
            yield MSR_CLASSES[int(path.name[1:3]) - 1], skeleton


def utkinect() -> Iterator[tuple[str, Skeleton]]:
    for path in sorted((DATA / "utkinect_dev" / "joints").glob("joints_s*_e*.txt")):
        yield path.stem, read_utkinect(path)


def pushups_movenet() -> Iterator[tuple[str, Skeleton]]:
    for row in _pushup_rows():
        yield (
            row["label"],
            read_movenet_json(DATA / "pushup_form" / row["movenet_json"], float(row["fps"])),
        )


def pushups_mediapipe(cache: Path) -> Iterator[tuple[str, Skeleton]]:
    for row in _pushup_rows():
        path = cache / f"{row['video'].removeprefix('videos/')}.npz"
        if path.is_file():
            yield row["label"], PoseTrack.load(path).image


def _pushup_rows() -> list[dict]:
    with open(DATA / "pushup_form" / "labels.tsv") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def non_falls(cache: Path) -> dict[str, Callable[[], Iterator[tuple[str, Skeleton]]]]:
    """Every real non-fall set, by name (``/3d`` or ``/2d``), as (label, skeleton) items."""

    def in_2d(items: Callable) -> Callable:
        return lambda: ((label, kinect_image(s)) for label, s in items())

    sets = {}
    for name, items in (("utd_mhad", utd_mhad), ("msr_action3d", msr_action3d)):
        sets[f"{name}/3d"] = items
        sets[f"{name}/2d"] = in_2d(items)
    sets["utkinect_dev/3d"] = utkinect
    sets["utkinect_dev/2d"] = in_2d(utkinect)
    sets["pushup_form/2d_movenet"] = pushups_movenet
    if (cache / "correct").is_dir():
        sets["pushup_form/2d_mediapipe"] = lambda: pushups_mediapipe(cache)
    return sets


def false_alarms(items: Iterator[tuple[str, Skeleton]], config: FallConfig | None) -> dict:
    """Alarms on non-fall sequences: totals and which labels raised them."""
    totals, alarms, frames, seconds = collections.Counter(), collections.Counter(), 0, 0.0
    alarmed = []
    for label, skeleton in items:
        totals[label] += 1
        frames += skeleton.num_frames
        seconds += skeleton.duration
        if skeleton.num_people and skeleton.present().any():
            alerts = detect_falls(skeleton, config)
            if alerts:
                alarms[label] += 1
                alarmed.append(f"{Path(skeleton.source).name} at {alerts[0].time:.1f} s")
    return {
        "sequences": sum(totals.values()),
        "frames": frames,
        "hours": round(seconds / 3600, 3),
        "false_alarms": sum(alarms.values()),
        "by_label": {k: f"{alarms[k]}/{totals[k]}" for k in sorted(totals) if alarms[k]},
        "alarmed": alarmed,
    }


# --- synthetic ---------------------------------------------------------------------------------


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


def synthetic(per_scenario: int, config: FallConfig | None = None) -> dict:
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
                alerts = detect_falls(skeleton, config)
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
    errors = np.abs(np.asarray(timing))
    return {
        "per_scenario": per_scenario,
        "rows": rows,
        "impact_time_error_s": {
            "median": round(float(np.median(errors)), 3) if len(errors) else None,
            "p95": round(float(np.percentile(errors, 95)), 3) if len(errors) else None,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-scenario", type=int, default=100)
    parser.add_argument("--cache", type=Path, default=Path("/work/cache/pushup_poses"))
    parser.add_argument("--output", type=Path, default=ROOT / "docs/apps/fall_results.json")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    started = time.perf_counter()
    results: dict = {"machine": f"{platform.machine()}, {platform.processor() or 'cpu'}"}
    results["urfall_dev"] = urfall()
    print(json.dumps(results["urfall_dev"]["summary"]), flush=True)
    results["real_non_falls"] = {}
    for name, items in non_falls(args.cache).items():
        results["real_non_falls"][name] = found = false_alarms(items(), None)
        print(name, found["false_alarms"], "/", found["sequences"], found["alarmed"], flush=True)
    if args.per_scenario:
        results["synthetic"] = synthetic(args.per_scenario)
    results["seconds"] = round(time.perf_counter() - started, 1)
    args.output.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps({k: v for k, v in results.items() if k != "urfall_dev"}, indent=1))


if __name__ == "__main__":
    main()
