"""CPU speed of every registered RGB model at its default input.

For each model: parameters; compute in multiply-adds (GMACs, the unit the model-zoo tables
call "GFLOPs") and in FLOPs (2 per multiply-add), both counted by
``torch.utils.flop_counter.FlopCounterMode`` on the meta device; latency of one clip
(batch 1, median of a few runs after a warm-up run); throughput in clips per second at a
larger batch. Random weights, eval mode, ``torch.no_grad``, float32.

Run: .venv/bin/python benchmarks/bench_models.py [--models x3d_s r3d_18 ...] [--threads 2]
     [--output docs/rgb_models.md] [--write-stats]

``--write-stats`` also records the parameter counts and GMACs in
``src/actscope/models/stats.py`` (what ``actscope models`` shows) and exits without timing.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import statistics
import tempfile
import time
from pathlib import Path

import torch

from actscope.models import create_model, list_models
from actscope.models.registry import ModelEntry
from actscope.models.stats import measure
from actscope.video import ClipSpec

ROOT = Path(__file__).resolve().parents[1]
STATS_FILE = ROOT / "src" / "actscope" / "models" / "stats.py"


# Published sizes, (params in millions, GMACs, where from); torchvision's come from its
# weights metadata (num_params, _ops) at run time.
PUBLISHED = {
    "x3d_xs": (3.79, 0.60, "PyTorchVideo model zoo (params), PySlowFast MODEL_ZOO (GFLOPs)"),
    "x3d_s": (3.79, 1.96, "PyTorchVideo model zoo (params), PySlowFast MODEL_ZOO (GFLOPs)"),
    "x3d_m": (3.79, 4.73, "PyTorchVideo model zoo (params), PySlowFast MODEL_ZOO (GFLOPs)"),
    "x3d_l": (6.2, 18.37, "PySlowFast MODEL_ZOO"),
    "slowfast_r50_8x8": (34.57, 65.71, "PyTorchVideo model zoo"),
    "slowfast_r50_4x16": (34.48, 36.69, "PyTorchVideo model zoo"),
    "i3d_r50": (28.04, 37.53, "PyTorchVideo model zoo"),
}
GENERATED_END = "<!-- end of the generated part: text below is kept when the benchmark reruns -->"


def published(entry: ModelEntry) -> tuple[float, float, str] | None:
    if entry.name in PUBLISHED:
        return PUBLISHED[entry.name]
    source = entry.weights[0].source if entry.weights else ""
    if source.startswith("torchvision:"):
        from torchvision.models import get_weight

        meta = get_weight(source.split(":", 1)[1]).meta
        return meta["num_params"] / 1e6, meta["_ops"], "torchvision weights metadata"
    return None


def rgb_entries(names: list[str] | None) -> list[ModelEntry]:
    entries = [e for e in list_models() if isinstance(e.input, ClipSpec)]
    if names:
        entries = [e for e in entries if e.name in names]
    return entries


def repeats_for(gmacs: float) -> tuple[int, int]:
    """(timed runs, throughput batch): few runs for the largest models on 2 cores."""
    if gmacs > 100:
        return 1, 2
    if gmacs > 20:
        return 3, 2
    return 5, 8


def median_seconds(
    model: torch.nn.Module, clip: torch.Tensor, runs: int, warm_up: bool = True
) -> float:
    with torch.no_grad():
        if warm_up:  # allocator, lazy initialisation
            model(clip)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            model(clip)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench(entry: ModelEntry) -> dict:
    stats = measure(entry)
    spec = entry.input
    runs, batch = repeats_for(stats.gmacs or 0.0)
    torch.manual_seed(0)
    model = create_model(entry.name).eval()
    shape = (spec.frames, spec.size, spec.size)
    latency = median_seconds(model, torch.rand(1, 3, *shape), runs)
    # The model is warm from the latency runs; the largest ones skip a second warm-up.
    per_batch = median_seconds(
        model, torch.rand(batch, 3, *shape), max(1, runs - 1), warm_up=runs > 1
    )
    top1 = next(iter(entry.weights[0].metrics.values()), None) if entry.weights else None
    return {
        "published": published(entry),
        "name": entry.name,
        "family": entry.family,
        "input": f"{spec.frames}x{spec.size}²" + (" seg" if spec.sampling == "segments" else ""),
        "params_m": stats.params / 1e6,
        "gmacs": stats.gmacs,
        "latency_ms": latency * 1e3,
        "throughput": batch / per_batch,
        "batch": batch,
        "runs": runs,
        "top1": top1,
    }


def markdown(rows: list[dict], command: str, threads: int, load: tuple[float, float]) -> str:
    today = datetime.date.today().isoformat()
    lines = [
        "# RGB model zoo: size, compute and CPU speed",
        "",
        f"`{command}` ({today}). Machine: {platform.machine()}, "
        f"{len(os.sched_getaffinity(0))} cores (AVX-512), torch {torch.__version__}, "
        f"intra-op threads: {threads}, float32, random weights, eval mode, no autograd. The "
        "machine was shared with other work while this ran (1-minute load average "
        f"{load[0]:.1f} at the start, {load[1]:.1f} at the end, on 2 cores): timings are noisy "
        "and slower than on an idle machine; compute counts are exact.",
        "",
        "- **GMACs**: multiply-adds for one clip at the default input, the unit PySlowFast, "
        'PyTorchVideo and torchvision call "GFLOPs" in their tables; **GFLOPs** = 2 x GMACs, '
        "what `torch.utils.flop_counter.FlopCounterMode` counts. Counted on the meta device.",
        "- **latency**: one clip (batch 1), median of `runs` timed runs after a warm-up run.",
        "- **throughput**: clips per second at batch `batch`, median of `runs - 1` (min 1) "
        "runs, after a warm-up run except for the largest models (`runs` = 1).",
        "- **input**: frames x crop² (`seg`: one frame per segment of the video, TSN style); the "
        "full input spec of each model is in its registry entry (`actscope models`).",
        "- **top-1**: the Kinetics-400 accuracy published for the first weights listed "
        "(views and source in the entry's metrics); not measured here.",
        "",
        "| model | family | input | params (M) | GMACs | GFLOPs | latency (ms) | "
        "throughput (clips/s) | batch | runs | published top-1 |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        top1 = f"{row['top1']:.1f}" if row["top1"] is not None else "–"
        lines.append(
            f"| `{row['name']}` | {row['family']} | {row['input']} | {row['params_m']:.2f} | "
            f"{row['gmacs']:.2f} | {2 * row['gmacs']:.2f} | {row['latency_ms']:.0f} | "
            f"{row['throughput']:.2f} | {row['batch']} | {row['runs']} | {top1} |"
        )
    lines += [
        "",
        "## Against the published tables",
        "",
        "Parameters with the 400-class Kinetics head and multiply-adds per clip, measured here "
        "on the default input of each entry, beside the figures the model zoos publish. "
        "torchvision measured S3D at 16 frames and Swin3D at 16 frames too (our defaults: 128 "
        "and 32, the clip lengths of their published accuracies), hence the factors 8 and 2. "
        "PyTorchVideo's I3D and SlowFast 4x16 figures are 1-2% higher: its counter (fvcore) "
        "and FlopCounterMode do not count exactly the same operations.",
        "",
        "| model | params (M) | published | GMACs | published | source |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        if row["published"] is None:
            continue
        params, gmacs, source = row["published"]
        lines.append(
            f"| `{row['name']}` | {row['params_m']:.2f} | {params:.2f} | {row['gmacs']:.2f} | "
            f"{gmacs:.2f} | {source} |"
        )
    return "\n".join(lines) + "\n"


def write_atomically(path: Path, text: str) -> None:
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(handle, "w") as out:
        out.write(text)
    os.replace(tmp, path)


def write_stats(entries: list[ModelEntry]) -> None:
    """Rewrite the MEASURED table of src/actscope/models/stats.py from fresh measurements."""
    lines = []
    for entry in entries:
        stats = measure(entry)
        lines.append(f'    "{entry.name}": ModelStats({stats.params}, {stats.gmacs}),')
        print(f"{entry.name:20s} {stats.params:>12,d} params {stats.gmacs:>9.3f} GMACs")
    source = STATS_FILE.read_text()
    table = "MEASURED: dict[str, ModelStats] = {\n" + "\n".join(lines) + "\n}"
    source = re.sub(r"MEASURED: dict\[str, ModelStats\] = \{.*?\n\}", table, source, flags=re.S)
    write_atomically(STATS_FILE, source)
    print(f"wrote {STATS_FILE.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", help="registry names (default: every RGB model)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "rgb_models.md")
    parser.add_argument("--write-stats", action="store_true")
    args = parser.parse_args()
    entries = rgb_entries(args.models)
    if args.write_stats:
        write_stats(entries)
        return
    torch.set_num_threads(args.threads)
    load_start = os.getloadavg()[0]
    rows = []
    for entry in entries:
        row = bench(entry)
        rows.append(row)
        print(
            f"{row['name']:20s} {row['params_m']:7.2f} M {row['gmacs']:8.2f} GMACs "
            f"{row['latency_ms']:9.0f} ms {row['throughput']:7.2f} clips/s",
            flush=True,
        )
    command = "benchmarks/bench_models.py" + (f" --threads {args.threads}")
    if args.models:
        command += " --models " + " ".join(args.models)
    load = (load_start, os.getloadavg()[0])
    text = markdown(rows, ".venv/bin/python " + command, args.threads, load)
    kept = args.output.read_text().partition(GENERATED_END)[2] if args.output.exists() else ""
    write_atomically(args.output, f"{text}\n{GENERATED_END}\n\n{kept.lstrip(chr(10))}")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
