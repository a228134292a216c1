"""Temporal action detection on real skeleton data, and memory over a one-hour video.

``streams``: untrimmed streams built from the cross-subject **test** subjects of UTD-MHAD
(2, 4, 6, 8) and/or MSR Action3D (2, 4, 6, 8, 10) with
:func:`actscope.datasets.untrimmed.subject_streams` (one stream per subject holding all of
that subject's sequences in a seeded random order, 1-3 s still pauses with 5 mm jitter
between them), run through the detector (:func:`actscope.inference.detect_skeleton`, the
same code as ``actscope detect``), scored with mAP at tIoU 0.3-0.7 and the average mAP
over 0.5:0.95. The streams are Kinect 3D world skeletons; a 2D model sees them projected
through a pinhole, as in its training.

``train``: a quick model for these runs when no other is at hand (MSR Action3D has other
classes than the shipped model): ``tcn`` on ``BodyFeatures(dims=2)`` (or ``--dims 3``) of the
Kinect skeletons of the training subjects, with the random-view transform, 60 epochs (about
4 min on one core for MSR Action3D, 8 for UTD-MHAD). It writes ``last.pt``; use it, not
``best.pt``, which is chosen on the test subjects.

``memory``: a one-hour video (the NTU RGB+D sample clip, 3.4 s, played forward and back,
downscaled to 240 pixels, at 15 fps; see :func:`write_long_video`) through
:func:`actscope.detect` with MediaPipe poses on every 5th frame, in a child process whose
peak RSS (``ru_maxrss``), RSS over time and memory growth per pose frame are reported.

Run (each well under 20 min on 2 cores; ``torch.set_num_threads(1)``):
  .venv/bin/python benchmarks/bench_detect.py streams --dataset utd --model utd_default.pt
(``utd_default.pt``: a model of UTD-MHAD's classes, e.g. the earlier default:
``git show 11efe61:src/actscope/assets/default_skeleton.pt > utd_default.pt``)
  .venv/bin/python benchmarks/bench_detect.py train --dataset msr --out runs/detect_msr
  .venv/bin/python benchmarks/bench_detect.py streams --dataset msr --model runs/detect_msr/last.pt
  .venv/bin/python benchmarks/bench_detect.py memory --minutes 60
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SUBJECTS = {
    "utd": {"test": (2, 4, 6, 8), "train": (1, 3, 5, 7)},
    "msr": {"test": (2, 4, 6, 8, 10), "train": (1, 3, 5, 7, 9)},
}
NTU_CLIP = DATA / "sample_clips" / "S001C001P001R001A001_rgb.avi"


def load(dataset: str):
    from actscope.datasets import load_msr_action3d, load_utd_mhad

    if dataset == "utd":
        return load_utd_mhad(DATA / "utd_mhad")
    return load_msr_action3d(DATA / "msr_action3d")


def run_streams(args: argparse.Namespace) -> None:
    import torch

    from actscope.datasets.untrimmed import subject_streams
    from actscope.inference import DetectOptions, Recognizer, detect_skeleton, evaluate_detection
    from actscope.inference.segments import Segment

    torch.set_num_threads(args.threads)
    recognizer = Recognizer.load(args.model)
    dataset = load(args.dataset)
    subjects = SUBJECTS[args.dataset][args.split]
    streams = subject_streams(dataset, subjects, seed=args.seed)
    options = DetectOptions(
        labels_per_segment=args.labels_per_segment, rescore=args.rescore, **_options(args.set)
    )
    truth, found, seconds = {}, {}, 0.0
    for stream in streams:
        truth[stream.name] = [Segment(s.start, s.end, s.label) for s in stream.segments]
        result = detect_skeleton(stream.skeleton, recognizer, options)
        found[stream.name] = result.segments
        seconds += result.seconds
        if args.save:
            folder = Path(args.save)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{stream.name}.gt.json").write_text(json.dumps(stream.ground_truth()))
            result.video = stream.name
            result.save(folder / f"{stream.name}.pred.json")
    reports = evaluate_detection(found, truth)
    thumos, anet = reports["thumos"], reports["activitynet"]
    duration = sum(s.duration for s in streams)
    print(
        f"# {args.dataset} {args.split} subjects {list(subjects)}, seed {args.seed}, model "
        f"{args.model} ({recognizer.window_seconds} s window), "
        f"labels per segment {args.labels_per_segment}, rescoring "
        f"{'on' if args.rescore else 'off'}, {' '.join([*args.set, platform.machine()])}, "
        f"torch.set_num_threads({args.threads})"
    )
    print(
        f"# {len(streams)} streams, {duration / 60:.1f} min, "
        f"{sum(map(len, truth.values()))} actions, {sum(map(len, found.values()))} segments "
        f"found, detection ran at {duration / seconds:.0f}x real time"
    )
    header = " | ".join(f"mAP@{t:g}" for t in thumos.thresholds)
    print(f"| dataset | {header} | avg mAP 0.5:0.95 |")
    print("|---|" + "---:|" * (len(thumos.thresholds) + 1))
    values = " | ".join(f"{v:.3f}" for v in thumos.mean_ap)
    print(f"| {args.dataset} | {values} | {anet.average_map:.3f} |")
    # localisation alone: every label replaced by one, so only the spans are judged
    agnostic = evaluate_detection(
        {v: [Segment(s.start, s.end, "action", s.score) for s in f] for v, f in found.items()},
        {v: [Segment(s.start, s.end, "action") for s in t] for v, t in truth.items()},
    )
    values = " | ".join(f"{v:.3f}" for v in agnostic["thumos"].mean_ap)
    print(
        f"| {args.dataset}, class-agnostic | {values} | {agnostic['activitynet'].average_map:.3f} |"
    )
    worst = sorted(thumos.ap.items(), key=lambda kv: kv[1][2])[:5]
    print("# lowest AP@0.5: " + ", ".join(f"{k} {v[2]:.2f}" for k, v in worst))


def _options(pairs: list[str]) -> dict[str, float | int]:
    """``KEY=VALUE`` pairs as :class:`DetectOptions` fields (numbers)."""
    from actscope.inference import DetectOptions

    defaults = DetectOptions()
    found: dict[str, float | int] = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if not hasattr(defaults, key):
            raise SystemExit(f"--set {pair}: DetectOptions has no field {key!r}")
        found[key] = int(value) if isinstance(getattr(defaults, key), int) else float(value)
    return found


def run_train(args: argparse.Namespace) -> None:
    import torch

    from actscope.datasets import cross_subject
    from actscope.datasets.skeleton_torch import SkeletonTorchDataset
    from actscope.datasets.view_augment import RandomViewTransform
    from actscope.engine import build_model, train
    from actscope.engine.config import config_from_dict
    from actscope.pose.features import BodyFeatures

    torch.set_num_threads(args.threads)
    dataset = load(args.dataset)
    train_set, test_set = cross_subject(dataset)
    features = BodyFeatures(dims=args.dims, frames=48)
    usable = [item for item in train_set if item.skeleton.num_frames > 1]
    held_out = [item for item in test_set if item.skeleton.num_frames > 1]
    config = config_from_dict(
        {
            "model": "tcn",
            "model_kwargs": {"in_channels": args.dims + 1, "score_channel": args.dims},
            "epochs": args.epochs,
            "batch_size": 32,
            "threads": args.threads,
            "device": "cpu",
            "out_dir": args.out,
            "optimizer": {"lr": 2e-3},
            "schedule": {"name": "cosine", "warmup_epochs": 1},
            "label_smoothing": 0.1,
            "progress": False,
        }
    )
    model = build_model(config, len(dataset.class_names))
    result = train(
        config,
        model,
        SkeletonTorchDataset(usable, RandomViewTransform(features=features)),
        SkeletonTorchDataset(held_out, features),
        dataset.class_names,
        overwrite=True,
        input_spec=features.replace(window_seconds=args.window),
    )
    last = result.history[-1]
    print(
        f"{result.last_checkpoint}: {result.epochs} epochs, test-subject top-1 of the last "
        f"epoch {last.get('val_top1', float('nan')):.3f} (use last.pt: best.pt is chosen on "
        "the test subjects)"
    )


def write_long_video(path: Path, minutes: float, short_side: int, fps: int) -> None:
    """The NTU sample clip played forward then backward (no jump at the loop), at ``fps``
    (every ``30 / fps``-th frame of the 30 fps clip), downscaled to ``short_side``, looped
    for ``minutes``. The loop is encoded once (H.264) and its packets are written again and
    again with shifted timestamps: seconds for an hour of video instead of minutes of
    encoding. Every loop starts with a key frame and has no B-frames, so each decodes alone.
    """
    import av
    import numpy as np

    from actscope.video import read_video

    clip = read_video(NTU_CLIP, short_side=short_side).frames[:: max(1, round(30 / fps))]
    frames = np.concatenate([clip, clip[::-1]])
    loop = path.with_suffix(".loop.mp4")
    with av.open(str(loop), "w") as container:
        stream = container.add_stream("h264", rate=fps)
        stream.width, stream.height = frames.shape[2] & ~1, frames.shape[1] & ~1
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "28"}  # ultrafast: no B-frames
        for image in frames:
            image = np.ascontiguousarray(image[: stream.height, : stream.width])
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    total = round(minutes * 60 * fps)
    with av.open(str(loop)) as source, av.open(str(path), "w") as target:
        original = source.streams.video[0]
        copy = target.add_stream_from_template(original)
        packets = [(bytes(p), p.pts, p.dts, p.is_keyframe) for p in source.demux(original)]
        packets = [p for p in packets if p[0]]  # the demuxer ends with an empty packet
        assert len(packets) == len(frames), "one packet per frame expected"
        ticks = round(len(frames) / (fps * original.time_base))  # one loop's duration
        for count in range(total):
            repeat, index = divmod(count, len(packets))
            data, pts, dts, key = packets[index]
            packet = av.Packet(data)
            packet.stream, packet.time_base = copy, original.time_base
            packet.pts, packet.dts = pts + repeat * ticks, dts + repeat * ticks
            packet.is_keyframe = key
            target.mux(packet)
    loop.unlink()


def run_memory(args: argparse.Namespace) -> None:
    folder = None
    if args.video:
        video = Path(args.video)
    else:
        folder = Path(tempfile.mkdtemp(prefix="actscope-hour-"))
        video = folder / "hour.mp4"
        started = time.perf_counter()
        write_long_video(video, args.minutes, args.short_side, args.fps)
        print(
            f"# wrote {video} ({args.minutes:g} min at {args.fps} fps, {args.short_side}p, "
            f"{video.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.0f} s"
        )
    command = [
        sys.executable,
        __file__,
        "_memory_child",
        str(video),
        "--model",
        args.model,
        "--step",
        str(args.step),
        "--threads",
        str(args.threads),
        "--workers",
        str(args.workers),
    ]
    try:
        subprocess.run(command, check=True)
    finally:
        if folder is not None:
            video.unlink(missing_ok=True)
            folder.rmdir()


def memory_child(args: argparse.Namespace) -> None:
    """Runs in a fresh process so ``ru_maxrss`` is detection's alone."""
    import logging

    import torch

    import actscope
    from actscope.inference.recognizer import Recognizer

    logging.basicConfig(level=logging.INFO, format="%(message)s")  # detect's ETA lines
    logging.getLogger("actscope.video").setLevel(logging.WARNING)
    torch.set_num_threads(args.threads)
    recognizer = Recognizer.load(args.model)
    samples: list[tuple[float, float, float]] = []  # video seconds, VmRSS, RssAnon (MB)
    rss, anon = _rss_mb()
    print(f"RSS / anonymous (MB) after loading the model: {rss:.0f} / {anon:.0f}")

    def progress(done: float, total: float | None) -> None:
        if not samples or done - samples[-1][0] >= 300:  # every 5 min of video
            samples.append((done, *_rss_mb()))

    started = time.perf_counter()
    result = actscope.detect(
        args.video, recognizer, step=args.step, workers=args.workers, progress=progress
    )
    elapsed = time.perf_counter() - started
    after = _rss_mb()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"# detect: {result.duration / 60:.1f} min of video, {result.frames} pose frames "
        f"(step {args.step}), person in {result.frames_with_person}, "
        f"{result.scores.num_windows} windows, {len(result.segments)} segments, "
        f"{elapsed:.0f} s ({result.duration / elapsed:.1f}x real time), {args.workers} "
        "MediaPipe thread(s)"
    )
    print(
        "RSS / anonymous (MB) every 5 min of video: "
        + ", ".join(f"{done / 60:.0f} min {rss:.0f}/{anon:.0f}" for done, rss, anon in samples)
        + f"; after detect returned {after[0]:.0f}/{after[1]:.0f}"
    )
    # growth per pose frame from 5 min on (model, MediaPipe and buffers have settled)
    if len(samples) > 2:
        (t0, r0, a0), (t1, r1, a1) = samples[1], samples[-1]
        frames = (t1 - t0) * result.frames / result.duration
        print(
            f"growth from {t0 / 60:.0f} to {t1 / 60:.0f} min: RSS {r1 - r0:+.0f} MB, anonymous "
            f"{a1 - a0:+.0f} MB ({(a1 - a0) * 1e6 / frames:.0f} bytes per pose frame)"
        )
    print(f"peak RSS {peak:.0f} MB (ru_maxrss of this process, read before it exits)")


def _rss_mb() -> tuple[float, float]:
    """``(VmRSS, RssAnon)`` in MB: all resident pages, and those not backed by files
    (heap and buffers, without the shared libraries' code)."""
    found = {}
    with open("/proc/self/status") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon"):
                found[key] = int(value.split()[0]) / 1024
    return found.get("VmRSS", float("nan")), found.get("RssAnon", float("nan"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    streams = commands.add_parser("streams", help="mAP on untrimmed real skeleton streams")
    streams.add_argument("--dataset", choices=("utd", "msr"), default="utd")
    streams.add_argument("--model", required=True, help="checkpoint path or 'default'")
    streams.add_argument("--split", choices=("test", "train"), default="test")
    streams.add_argument("--seed", type=int, default=0)
    streams.add_argument("--labels-per-segment", type=int, default=1)
    streams.add_argument(
        "--no-rescore", dest="rescore", action="store_false", help="keep the windows' labels"
    )
    streams.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="a DetectOptions field"
    )
    streams.add_argument("--save", help="folder for each stream's .gt.json and .pred.json")
    streams.add_argument("--threads", type=int, default=1)
    trainer = commands.add_parser("train", help="train the quick model these runs use")
    trainer.add_argument("--dataset", choices=("utd", "msr"), default="utd")
    trainer.add_argument("--out", required=True)
    trainer.add_argument("--epochs", type=int, default=60)
    trainer.add_argument(
        "--dims", type=int, choices=(2, 3), default=2, help="2D (projected) or 3D skeletons"
    )
    trainer.add_argument("--window", type=float, default=2.5, help="window_seconds to record")
    trainer.add_argument("--threads", type=int, default=1)
    memory = commands.add_parser("memory", help="peak RSS of detect over a long video")
    memory.add_argument("--minutes", type=float, default=60)
    memory.add_argument("--video", help="use this video instead of generating one")
    memory.add_argument("--model", default="default")
    memory.add_argument("--fps", type=int, default=15, help="frame rate of the video made")
    memory.add_argument("--step", type=int, default=5, help="pose every STEP-th frame")
    memory.add_argument("--short-side", type=int, default=240)
    memory.add_argument("--threads", type=int, default=1)
    memory.add_argument("--workers", type=int, default=1, help="MediaPipe threads")
    child = commands.add_parser("_memory_child")
    child.add_argument("video")
    child.add_argument("--model", default="default")
    child.add_argument("--step", type=int, default=5)
    child.add_argument("--threads", type=int, default=1)
    child.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    os.environ.setdefault("GLOG_minloglevel", "2")
    {"streams": run_streams, "train": run_train, "memory": run_memory}.get(
        args.command, memory_child
    )(args)


if __name__ == "__main__":
    main()
