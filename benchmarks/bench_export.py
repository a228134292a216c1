"""Eager PyTorch against ONNX Runtime, side by side in one run, one thread each.

    .venv/bin/python benchmarks/bench_export.py [--models default stgcnpp x3d_xs ...] \
        [--batch 8] [--repeats 5] [--accuracy]

Speed: each model is exported (``actscope export``'s code, opset 17, float32) into a
temporary folder; then, on the same random input, the eager model and the ONNX Runtime
session (CPUExecutionProvider) are timed turn by turn: latency at batch 1 (median of
``--repeats`` calls after a warm-up) and throughput at ``--batch`` (clips or skeleton
sequences per second, median of ``max(2, repeats // 2)`` calls). Registered models run with
random weights (speed does not depend on them); ``default`` is the shipped model. Also the
largest ``|logits eager - ONNX Runtime|`` on that input.

``--accuracy``: the shipped default model on the ``everyday`` pool's test items per source
(``split1``, as ``bench_default_model.py`` and training test it): top-1 of eager PyTorch,
ONNX Runtime float32 and ONNX Runtime with dynamic int8 weights (``actscope export --int8``),
then the three timed turn by turn (batch 1 latency, batch 64 throughput).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from actscope.inference.onnx_backend import load_onnx
from actscope.inference.onnx_export import example_input, export_onnx, resolve
from actscope.inference.recognizer import Recognizer

DEFAULT_MODELS = ("default", "stgcnpp", "sgn", "x3d_xs", "x3d_s", "r2plus1d_18", "s3d")


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    """Median wall seconds of ``repeats`` calls of ``run``, after one warm-up call."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def speed(name: str, folder: Path, batch: int, repeats: int) -> dict[str, float]:
    """Latency (ms, batch 1) and throughput (items/s, ``batch``) of eager and ONNX Runtime."""
    exportable = resolve(name, num_classes=None if name == "default" else 10)
    path = folder / f"{name}.onnx"
    export_onnx(exportable, path)
    eager, onnx = exportable.model.eval(), load_onnx(path, threads=1).model
    row: dict[str, float] = {}
    with torch.inference_mode():
        for size, count in ((1, repeats), (batch, max(2, repeats // 2))):
            x = example_input(exportable.input, batch=size, seed=2)
            row["diff"] = max(row.get("diff", 0.0), float((eager(x) - onnx(x)).abs().max()))
            for backend, model in (("eager", eager), ("onnx", onnx)):
                seconds = median_seconds(lambda m=model, x=x: m(x), count)
                if size == 1:
                    row[f"{backend}_ms"] = 1e3 * seconds
                else:
                    row[f"{backend}_per_s"] = size / seconds
    path.unlink()
    return row


def accuracy(folder: Path) -> None:
    from actscope.datasets.catalog import per_source_tests

    exportable = resolve("default")
    export_onnx(exportable, folder / "fp32.onnx")
    report = export_onnx(exportable, folder / "int8.onnx", int8=True)
    models = {
        "eager": Recognizer.load("default"),
        "onnx fp32": Recognizer.load(folder / "fp32.onnx"),
        "onnx int8": Recognizer.load(folder / "int8.onnx"),
    }
    sizes = {k: (folder / f"{k}.onnx").stat().st_size / 1e6 for k in ("fp32", "int8")}
    print(
        f"\ndefault model, everyday split1 test items: top-1 (int8 file {sizes['int8']:.2f} MB "
        f"vs fp32 {sizes['fp32']:.2f} MB; check-batch max |diff| {report.max_difference:.3f})"
    )
    print(f"{'test items':<24} {'clips':>6} " + " ".join(f"{k:>10}" for k in models) + "  agree")
    for source, items in per_source_tests("everyday", "split1").items():
        labels = np.array([item.label for item in items])
        skeletons = [item.skeleton for item in items]
        scores = {k: m.skeleton_scores(skeletons) for k, m in models.items()}
        top1 = [float((s.argmax(1) == labels).mean()) for s in scores.values()]
        agree = float((scores["onnx int8"].argmax(1) == scores["eager"].argmax(1)).mean())
        cells = " ".join(f"{v:>10.4f}" for v in top1)
        print(f"{source:<24} {len(items):>6} {cells}  {agree:.4f}")
    print("speed, turn by turn on the same input: batch 1 latency (ms), batch 64 (sequences/s)")
    with torch.inference_mode():
        for size, count in ((1, 21), (64, 5)):
            x = example_input(exportable.input, batch=size, seed=2)
            cells = []
            for name, recognizer in models.items():
                seconds = median_seconds(lambda m=recognizer.model, x=x: m(x), count)
                cells.append(
                    f"{name} {1e3 * seconds:.2f} ms"
                    if size == 1
                    else f"{name} {size / seconds:.0f}/s"
                )
            print(f"batch {size:>2}: " + ", ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS))
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--accuracy", action="store_true", help="int8 accuracy, then stop")
    args = parser.parse_args()
    torch.set_num_threads(1)
    import onnxruntime

    print(
        f"# {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"onnxruntime {onnxruntime.__version__}, one thread each, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-export-") as name:
        folder = Path(name)
        if args.accuracy:
            accuracy(folder)
            return
        head = (
            f"{'model':<20} {'eager ms':>9} {'ORT ms':>9} {'ratio':>6} "
            f"{'eager/s':>9} {'ORT/s':>9} {'ratio':>6} {'max|diff|':>10}"
        )
        print(f"latency: batch 1; throughput: batch {args.batch}\n{head}")
        for model in args.models:
            r = speed(model, folder, args.batch, args.repeats)
            print(
                f"{model:<20} {r['eager_ms']:>9.2f} {r['onnx_ms']:>9.2f} "
                f"{r['eager_ms'] / r['onnx_ms']:>5.2f}x {r['eager_per_s']:>9.3g} "
                f"{r['onnx_per_s']:>9.3g} {r['onnx_per_s'] / r['eager_per_s']:>5.2f}x "
                f"{r['diff']:>10.1e}",
                flush=True,
            )
    print(f"# load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
