"""Live pipeline benchmark: a real 640x360 clip replayed as a live source at its own frame
rate through capture -> MediaPipe pose -> action recognition -> annotated output.

Reports sustained output fps, end-to-end latency (capture to annotated frame, p50/p95/max)
and drop rate, first on the machine as it is, then with a second process keeping both
cores busy (numpy matrix products on two threads), where the pipeline must keep its p95
latency under 300 ms by dropping frames.

    .venv/bin/python benchmarks/bench_live.py [--clip PATH] [--json OUT.json]

The classifier is the shipped default skeleton model when it is installed, otherwise a
stand-in network of similar size (said in the output); its cost is small next to pose
estimation either way.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT.parent / "shared" / "data" / "pushup_form" / "videos" / "wrong" / "wrong28.mp4"

BUSY = """
import os, numpy as np
a = np.random.rand(700, 700)
while True:
    a = (a @ a) / 700.0
"""


def classifier():
    """The default skeleton model, or a stand-in of similar size when it is not installed."""
    from actscope.errors import ModelError
    from actscope.inference import Recognizer, SkeletonRecognizer
    from actscope.pose.features import BodyFeatures

    try:
        return Recognizer.load("default"), "default skeleton model"
    except ModelError:
        import torch

        model = torch.nn.Sequential(
            torch.nn.Flatten(2),  # (N, C, T*V*M)
            torch.nn.Conv1d(3, 64, 9, padding=4),
            torch.nn.ReLU(),
            torch.nn.Conv1d(64, 64, 9, padding=4),
            torch.nn.ReLU(),
            torch.nn.AdaptiveAvgPool1d(1),
            torch.nn.Flatten(),
            torch.nn.Linear(64, 10),
        ).eval()
        spec = BodyFeatures(frames=48, min_score=0.0)
        names = [f"class{i}" for i in range(10)]
        stand_in = SkeletonRecognizer(model, names, spec, "stand-in")
        return stand_in, "stand-in network (no default model)"


def run(clip: Path) -> dict:
    import torch

    from actscope.live import ActionAnalyzer, LivePipeline, open_source
    from actscope.live.render import annotate
    from actscope.pose import MediaPipePose

    torch.set_num_threads(1)  # as `actscope live` does: one window at a time needs no more
    recognizer, _ = classifier()
    events = []
    with MediaPipePose() as estimator:
        source = open_source(str(clip), short_side=360)
        pipeline = LivePipeline(
            source,
            estimator,
            ActionAnalyzer(recognizer, hop=0.25),
            on_event=events.append,
            on_frame=lambda sample, analysis: annotate(sample, analysis, "bench"),
        )
        report = pipeline.run()
    return report.summary


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, default=CLIP)
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    args = parser.parse_args()
    if not args.clip.is_file():
        sys.exit(f"{args.clip}: not found (the real clips live in ../shared/data)")
    from actscope.video import probe

    info = probe(args.clip)
    _, model = classifier()
    results = {
        "clip": str(args.clip.relative_to(ROOT.parent))
        if ROOT.parent in args.clip.parents
        else str(args.clip),
        "size": [info.width, info.height],
        "fps": round(info.fps, 2),
        "seconds": round(info.duration, 2),
        "classifier": model,
        "cpus": os.cpu_count(),
    }
    print(
        f"{results['clip']}: {info.width}x{info.height} at {info.fps:.2f} fps, "
        f"{info.duration:.1f} s; classifier: {model}"
    )
    for condition in ("unloaded", "loaded"):
        busy = None
        if condition == "loaded":
            env = {
                **os.environ,
                "OPENBLAS_NUM_THREADS": "2",
                "OMP_NUM_THREADS": "2",
                "MKL_NUM_THREADS": "2",
            }
            busy = subprocess.Popen([sys.executable, "-c", BUSY], env=env)
            time.sleep(2.0)  # let it take the cores
        try:
            before = load_average()
            summary = run(args.clip)
        finally:
            if busy is not None:
                busy.kill()
                busy.wait()
        summary["load_average_before"] = before
        results[condition] = summary
        print(
            f"{condition:9s} {summary['fps']:5.1f} fps out ({summary['pose_fps']:.1f} posed), "
            f"latency p50 {summary['latency_p50_ms']:.0f} ms, p95 "
            f"{summary['latency_p95_ms']:.0f} ms, max {summary['latency_max_ms']:.0f} ms, "
            f"{100 * summary['drop_rate']:.1f}% dropped {summary['dropped']}, "
            f"pose {summary['pose_ms_mean']:.1f} ms/frame, 1-min load before {before}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    loaded = results["loaded"]["latency_p95_ms"]
    print(f"loaded p95 {loaded:.0f} ms: {'within' if loaded < 300 else 'OVER'} the 300 ms bound")
    np.set_printoptions()


if __name__ == "__main__":
    main()
