"""Speed of the skeleton models on this CPU.

Per registered skeleton model (and, for the fused rows, a multi-stream ensemble of one
model on several streams): parameters, GFLOPs per sequence (torch's FLOP counter: one
multiply-add is 2 FLOPs; convolutions, matrix products and einsums are counted, element-wise
operations are not), single-sequence latency (batch 1) and throughput at batch 64 in
sequences per second. Input ``(C, T, V, M)`` = (3, T, 15, 1): body15 joints, one person, and
the number of frames ``T`` each model's registry entry asks for (``--frames`` sets one
length for all).

The machine is shared, so the models are timed in interleaved rounds (every model once per
round) and each figure is given as the median over all runs and as the best run: the median
says what a user sees on a busy machine, the best what the model costs on an idle core.

``--checkpoints`` adds trained actscope models (``model.pt`` of a run), each timed on the
input its spec describes (its layout's joints, frames and channels).

Run: .venv/bin/python benchmarks/bench_skeleton_models.py [--threads 1] [--frames T]
     [--models sgn tcn ...] [--fused sgn:joint,bone] [--checkpoints runs/.../model.pt]
     [--rounds 5] [--repeats 40]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from actscope.models import create_model, get_entry, list_models
from actscope.models.streams import MultiStream


def build(spec: str, num_classes: int) -> torch.nn.Module:
    """``name`` or ``name:stream,stream,...`` (a multi-stream ensemble), in eval mode."""
    name, _, streams = spec.partition(":")
    if not streams:
        return create_model(name, num_classes=num_classes).eval()
    branches = {
        s: create_model(name, num_classes=num_classes, stream=s) for s in streams.split(",")
    }
    return MultiStream(branches).eval()


def trained(path: str) -> tuple[torch.nn.Module, tuple[int, int, int, int]]:
    """A trained actscope skeleton model in eval mode and its input shape ``(C, T, V, M)``."""
    from actscope.checkpoint import load_trained_model
    from actscope.pose.features import BodyFeatures

    model, checkpoint = load_trained_model(Path(path))
    features = BodyFeatures.from_dict(checkpoint["input"])
    shape = (features.channels, features.frames, features.num_joints, features.persons)
    return model.eval(), shape


def timed(fn: Callable[[], object], repeats: int) -> list[float]:
    """Seconds of each of ``repeats`` calls of ``fn``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def cpu_name() -> str:
    """The CPU model and its widest x86 vector extension, from /proc/cpuinfo where present."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    name = next((ln.split(":", 1)[1].strip() for ln in info.splitlines() if "model name" in ln), "")
    flags = next(
        (ln.split(":", 1)[1].split() for ln in info.splitlines() if ln.startswith("flags")), []
    )
    vector = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    return f"{name or platform.machine()} ({vector})"


def gflops(model: torch.nn.Module, x: torch.Tensor) -> float:
    with FlopCounterMode(display=False) as counter:
        model(x)
    return counter.get_total_flops() / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    parser.add_argument("--frames", type=int, help="default: each model's registered length")
    parser.add_argument("--joints", type=int, default=15)
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--classes", type=int, default=27)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=40, help="batch-1 runs per round")
    parser.add_argument("--models", nargs="*", help="default: every skeleton model")
    parser.add_argument(
        "--fused", nargs="*", default=[], help="extra rows MODEL:STREAM,STREAM (eval-time fusion)"
    )
    parser.add_argument("--checkpoints", nargs="*", default=[], help="trained model.pt files")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    specs = (args.models or [e.name for e in list_models("skeleton")]) + list(args.fused or [])
    specs += list(args.checkpoints)
    models, inputs, rows = {}, {}, {}
    with torch.inference_mode():
        for spec in specs:
            if spec in args.checkpoints:
                models[spec], shape = trained(spec)
                frames = shape[1]
            else:
                frames = args.frames or get_entry(spec.partition(":")[0]).input.frames
                shape = (args.channels, frames, args.joints, 1)
                models[spec] = build(spec, args.classes)
            inputs[spec] = (torch.randn(1, *shape), torch.randn(args.batch, *shape))
            rows[spec] = {
                "frames": frames,
                "params": sum(p.numel() for p in models[spec].parameters()),
                "gflops": gflops(models[spec], inputs[spec][0]),
                "latency": [],
                "batch": [],
            }
            timed(lambda s=spec: models[s](inputs[s][0]), 10)  # warm-up
            timed(lambda s=spec: models[s](inputs[s][1]), 1)
        load = os.getloadavg()[0]
        for _ in range(args.rounds):
            for spec in specs:
                model, (one, many) = models[spec], inputs[spec]
                rows[spec]["latency"] += timed(lambda m=model, x=one: m(x), args.repeats)
                rows[spec]["batch"] += timed(lambda m=model, x=many: m(x), 1)
    print(
        f"# {cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"torch.set_num_threads({args.threads}), input (C, T, V, M) = ({args.channels}, T, "
        f"{args.joints}, 1), {args.classes} classes, {args.rounds} rounds, load average "
        f"{load:.1f} before / {os.getloadavg()[0]:.1f} after"
    )
    print(
        "| model | T | parameters | GFLOPs / sequence | latency, batch 1 (ms): median | best "
        f"| throughput, batch {args.batch} (sequences/s): median | best |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for spec, r in rows.items():
        print(
            f"| {spec} | {r['frames']} | {r['params'] / 1e6:.2f}M | {r['gflops']:.3f} | "
            f"{statistics.median(r['latency']) * 1e3:.2f} | {min(r['latency']) * 1e3:.2f} | "
            f"{args.batch / statistics.median(r['batch']):.0f} | "
            f"{args.batch / min(r['batch']):.0f} |"
        )


if __name__ == "__main__":
    main()
