"""``actscope predict``, ``actscope detect`` and ``actscope eval-detection``: what happens in
a video, when, and how well detections match a ground truth."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.progress import MofNCompleteColumn, TextColumn
from rich.table import Table

from actscope.cli.app import (
    PARTIAL_HELP,
    USER_ERROR,
    app,
    backend_option,
    check_outputs,
    device_option,
    err,
    note,
    out,
    print_error,
    say,
)
from actscope.progress import progress_bar

MODEL_HELP = (
    "Model: 'default' (shipped skeleton model), a checkpoint file, a registered model name, or "
    "an .onnx file from `actscope export`."
)
WEIGHTS_HELP = (
    "Upstream weights file or folder for the registered model named by --model (e.g. a "
    "downloaded .pyth), instead of its published source."
)
MIRRORED_HELP = (
    "The video is a mirror image (a selfie view; NTU RGB+D's Kinect videos): undo it before "
    "skeleton models read the poses."
)


def _load_model(model: str, weights: str | None, backend: str, device: str):
    from actscope.inference.recognizer import Recognizer, inference_device

    if weights is None:
        return Recognizer.load(model, backend, device)
    if model == "default" or Path(model).exists():
        raise click.BadParameter(
            "--weights goes with a registered model name in --model, e.g. -m x3d_s",
            param_hint="--weights",
        )
    inference_device(device)  # refused before the weights are read
    return Recognizer.from_pretrained(model, weights, backend).to(device)


@app.command()
@click.argument("videos", nargs=-1, required=True)
@click.option("-m", "--model", default="default", show_default=True, help=MODEL_HELP)
@click.option("-k", "--top-k", default=5, show_default=True, help="Actions listed per video.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV instead of a table.")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Write the JSON/CSV to this file."
)
@click.option(
    "--render",
    type=click.Path(),
    help="Write the video with skeleton, action and confidence drawn (mp4); a folder when "
    "several videos are given.",
)
@click.option(
    "--timeline",
    type=click.Path(),
    help="Plot class scores over time (PNG); a folder when several videos are given.",
)
@click.option("--step", default=1, show_default=True, help="Use every STEP-th frame for poses.")
@click.option(
    "--work-size", default=480, show_default=True, help="Short side (pixels) poses are found at."
)
@click.option("--clips", default=5, show_default=True, help="Clips per video (RGB models).")
@click.option("--weights", type=click.Path(exists=True), help=WEIGHTS_HELP)
@backend_option
@device_option
@click.option("--mirrored", is_flag=True, help=MIRRORED_HELP)
@click.option("--allow-partial", is_flag=True, help=PARTIAL_HELP)
def predict(
    videos: tuple[str, ...],
    model: str,
    top_k: int,
    as_json: bool,
    as_csv: bool,
    output: str | None,
    render: str | None,
    timeline: str | None,
    step: int,
    work_size: int,
    clips: int,
    weights: str | None,
    backend: str,
    device: str,
    mirrored: bool,
    allow_partial: bool,
) -> None:
    """Name the actions in each VIDEO (files, URLs or folders of videos): the top-k
    actions with their probabilities, aggregated over the whole video.

    A file that cannot be read is reported and skipped; the exit code is then 2.
    """
    if as_json and as_csv:
        raise click.UsageError("give --json or --csv, not both")
    for name, value in (("--top-k", top_k), ("--step", step), ("--clips", clips)):
        if value < 1:
            raise click.BadParameter("must be at least 1", param_hint=name)
    from actscope.inference.prediction import collect_videos
    from actscope.inference.prediction import predict as run_predict

    paths = collect_videos(videos)
    drawing = bool(render or timeline)
    for name, value, suffix in (("--render", render, ".mp4"), ("--timeline", timeline, ".png")):
        if value and len(paths) > 1 and Path(value).suffix.lower() == suffix:
            raise click.BadParameter(
                f"with {len(paths)} videos give a folder (one {suffix} per video)",
                param_hint=name,
            )
    if len(paths) == 1:
        check_outputs(output, render, timeline)
    else:
        check_outputs(output, folders=(render, timeline))
    recognizer = _load_model(model, weights, backend, device)
    with progress_bar(MofNCompleteColumn(), console=err) as progress:
        overall = progress.add_task("videos", total=len(paths), visible=len(paths) > 1)
        frames = progress.add_task("", total=None)

        def on_video(path: str, index: int, count: int) -> None:
            progress.update(overall, completed=index)
            progress.reset(frames, description=Path(path).name, total=None)

        def on_frame(done: int, total: int | None) -> None:
            progress.update(frames, completed=done, total=total)

        results = run_predict(
            paths,
            recognizer,
            top_k,
            step=step,
            work_size=work_size or None,
            clips=clips,
            keep_poses=drawing,
            allow_partial=allow_partial,
            mirrored=mirrored,
            on_video=on_video,
            on_frame=on_frame,
        )
    for result in results:
        if result.ok and drawing:
            _draw_prediction(result, render, timeline, len(paths), allow_partial)
    _print_predictions(results, as_json, as_csv, output, top_k)
    for r in results:
        for warning in r.warnings:
            note(f"warning: {Path(r.video).name}: {warning}")
    failed = [r for r in results if not r.ok]
    for result in failed:
        message = result.error or ""
        print_error(message if result.video in message else f"{result.video}: {message}")
    if failed:
        sys.exit(USER_ERROR)


def _draw_prediction(
    result, render: str | None, timeline: str | None, count: int, allow_partial: bool
) -> None:
    from actscope.inference.overlay import render_overlay
    from actscope.inference.prediction import output_path
    from actscope.inference.timeline import plot_timeline

    if render:
        target = output_path(render, result.video, count, ".mp4")
        render_overlay(
            result.video,
            target,
            result.scores,
            None,
            result.skeleton,
            allow_partial=allow_partial,
        )
        note(f"{target}: written")
    if timeline:
        target = output_path(timeline, result.video, count, ".png")
        plot_timeline(result.scores, target, title=Path(result.video).name)
        note(f"{target}: written")


def _print_predictions(results, as_json: bool, as_csv: bool, output: str | None, top_k: int):
    from actscope.files import write_text

    if output and not (as_json or as_csv):
        as_json, as_csv = (
            Path(output).suffix.lower() != ".csv",
            Path(output).suffix.lower() == ".csv",
        )
    if as_json:
        text = json.dumps([r.to_dict() for r in results], indent=2) + "\n"
    elif as_csv:  # the ranked guesses; an unknown video's are its nearest ones
        lines = ["video,rank,label,score"]
        for r in results:
            lines += [_csv_row(r.video, i, k, v) for i, (k, v) in enumerate(r.top, 1)]
        text = "\n".join(lines) + "\n"
    else:
        _prediction_table(results, top_k)
        return
    if output:
        write_text(output, text)
        note(f"{output}: written")
    else:
        click.echo(text, nl=False)


def _csv_row(video: str, rank: int, label: str, score: float) -> str:
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow([video, rank, label, f"{score:.4f}"])
    return buffer.getvalue()


def _prediction_table(results, top_k: int) -> None:
    table = Table(box=None, header_style="bold")
    for column in ("video", "action", "score", "also", "person", "time"):
        table.add_column(column, justify="right" if column in ("score", "time") else "left")
    for r in results:
        if not r.ok:
            continue
        person = (
            "-" if r.frames_with_person is None else f"{r.frames_with_person}/{r.frames} frames"
        )
        if r.unknown:  # none of the model's actions: its nearest guesses, each with its score
            also = "nearest: " + ", ".join(f"{k} {v:.2f}" for k, v in r.top[:top_k])
            table.add_row(Path(r.video).name, r.label, "-", also, person, f"{r.seconds:.1f} s")
        elif r.top:
            label, score = r.top[0]
            also = ", ".join(f"{k} {v:.2f}" for k, v in r.top[1:top_k])
            table.add_row(
                Path(r.video).name, label, f"{score:.2f}", also, person, f"{r.seconds:.1f} s"
            )
        else:
            table.add_row(Path(r.video).name, "(none)", "-", "", person, f"{r.seconds:.1f} s")
    if table.row_count:
        out.print(table)


@app.command()
@click.argument("video")
@click.option("-m", "--model", default="default", show_default=True, help=MODEL_HELP)
@click.option("--json", "fmt", flag_value="json", help="Segments as JSON.")
@click.option("--csv", "fmt", flag_value="csv", help="Segments as CSV.")
@click.option("--srt", "fmt", flag_value="srt", help="Segments as SRT subtitles.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="Write the segments here (format from --json/--csv/--srt or the suffix) instead of "
    "printing them.",
)
@click.option("--render", type=click.Path(dir_okay=False), help="Write an overlay video (mp4).")
@click.option("--timeline", type=click.Path(dir_okay=False), help="Write a score plot (PNG).")
@click.option(
    "--threshold",
    type=float,
    help="Minimum segment score, 0-1 [default: the model's unknown-action confidence, else 0.2].",
)
@click.option("--min-duration", type=float, help="Shortest segment, seconds [default: 0.5].")
@click.option(
    "--motion-threshold",
    type=float,
    help="Skeleton models: least motion of an action, limb lengths per second; 0 turns the "
    "gate off [default: 0.5; 0 for models with a background class].",
)
@click.option("--window", type=float, help="Window length, seconds [default: the model's].")
@click.option(
    "--hop",
    type=float,
    help="Seconds between windows [default: a quarter window; a sixteenth for models with a "
    "background class].",
)
@click.option("--step", default=1, show_default=True, help="Use every STEP-th frame for poses.")
@click.option(
    "--work-size", default=480, show_default=True, help="Short side (pixels) poses are found at."
)
@click.option("--weights", type=click.Path(exists=True), help=WEIGHTS_HELP)
@backend_option
@device_option
@click.option("--mirrored", is_flag=True, help=MIRRORED_HELP)
@click.option("--allow-partial", is_flag=True, help=PARTIAL_HELP)
def detect(
    video: str,
    model: str,
    fmt: str | None,
    output: str | None,
    render: str | None,
    timeline: str | None,
    threshold: float | None,
    min_duration: float | None,
    motion_threshold: float | None,
    window: float | None,
    hop: float | None,
    step: int,
    work_size: int,
    weights: str | None,
    backend: str,
    device: str,
    mirrored: bool,
    allow_partial: bool,
) -> None:
    """Find when each action starts and ends in VIDEO (a video file or URL, or a .npz pose
    file from `actscope pose`): segments with start, end (seconds), label and score."""
    if step < 1:
        raise click.BadParameter("must be at least 1", param_hint="--step")
    if output and fmt is None:
        fmt = Path(output).suffix.lower().lstrip(".")
        if fmt not in ("json", "csv", "srt"):
            raise click.BadParameter(
                "give --json, --csv or --srt, or a .json/.csv/.srt file", param_hint="--output"
            )
    from actscope.inference.detection import DetectOptions
    from actscope.inference.detection import detect as run_detect

    given = {
        "threshold": threshold,
        "min_duration": min_duration,
        "motion_threshold": motion_threshold,
        "window": window,
        "hop": hop,
    }
    options = DetectOptions(**{k: v for k, v in given.items() if v is not None}).validate()
    check_outputs(output, render, timeline)
    recognizer = _load_model(model, weights, backend, device)
    with progress_bar(TextColumn("{task.fields[seconds]}"), console=err) as progress:
        task = progress.add_task(Path(video).name, total=None, seconds="")

        def on_progress(done: float, total: float | None) -> None:
            seconds = f"{done:.0f}/{total:.0f} s" if total else f"{done:.0f} s"
            progress.update(task, completed=done, total=total, seconds=seconds)

        result = run_detect(
            video,
            recognizer,
            options,
            step=step,
            work_size=work_size or None,
            keep_poses=bool(render),
            allow_partial=allow_partial,
            mirrored=mirrored,
            progress=on_progress,
        )
    if render:
        from actscope.inference.overlay import render_overlay

        render_overlay(
            video,
            render,
            result.scores,
            result.segments,
            result.skeleton,
            allow_partial=allow_partial,
        )
        note(f"{render}: written")
    if timeline:
        from actscope.inference.timeline import plot_timeline

        plot_timeline(result.scores, timeline, result.segments, title=Path(video).name)
        note(f"{timeline}: written")
    for warning in result.warnings:
        note(f"warning: {warning}")
    if output:
        result.save(output, fmt)
        note(f"{output}: {len(result.segments)} segments written")
    elif fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
    elif fmt == "csv":
        click.echo(result.to_csv(), nl=False)
    elif fmt == "srt":
        click.echo(result.to_srt(), nl=False)
    else:
        _segment_table(result)


def _segment_table(result) -> None:
    if not result.segments:
        say(f"{Path(result.video).name}: no actions found ({result.duration:.1f} s)")
        return
    table = Table(box=None, header_style="bold")
    for column in ("start", "end", "action", "score"):
        table.add_column(column, justify="left" if column == "action" else "right")
    for s in result.segments:
        table.add_row(f"{s.start:.2f}", f"{s.end:.2f}", s.label, f"{s.score:.2f}")
    out.print(table)
    note(
        f"{len(result.segments)} segments in {result.duration:.1f} s of video, found in "
        f"{result.seconds:.1f} s"
    )


@app.command("eval-detection")
@click.argument("predictions", type=click.Path(dir_okay=False))
@click.argument("ground_truth", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--per-class", is_flag=True, help="Also list the AP of every class.")
def eval_detection(predictions: str, ground_truth: str, as_json: bool, per_class: bool) -> None:
    """Score detected segments (PREDICTIONS) against GROUND_TRUTH: mAP at temporal IoU
    0.3-0.7 (THUMOS'14) and the average mAP over 0.5:0.95 (ActivityNet).

    Both files are JSON as `actscope detect --json` writes it (one video, or a list), or CSV
    with columns video,start,end,label[,score].
    """
    from actscope.inference.evaluation import align_videos, evaluate_detection
    from actscope.inference.segments import read_segments

    truth = read_segments(ground_truth)
    if not any(truth.values()):
        print_error(f"{ground_truth}: holds no ground-truth segments; nothing to evaluate")
        sys.exit(USER_ERROR)
    found = align_videos(read_segments(predictions), truth)
    reports = evaluate_detection(found, truth)
    if as_json:
        click.echo(json.dumps({k: r.to_dict() for k, r in reports.items()}, indent=2))
        return
    thumos, anet = reports["thumos"], reports["activitynet"]
    table = Table(box=None, header_style="bold")
    for t in thumos.thresholds:
        table.add_column(f"mAP@{t:g}", justify="right")
    table.add_column("avg mAP 0.5:0.95", justify="right")
    table.add_row(*[f"{v:.3f}" for v in thumos.mean_ap], f"{anet.average_map:.3f}")
    out.print(table)
    say(
        f"{len(thumos.ap)} classes, {sum(thumos.counts.values())} ground-truth segments, "
        f"{sum(len(v) for v in found.values())} predicted"
    )
    if per_class:
        classes = Table(box=None, header_style="bold")
        classes.add_column("class")
        classes.add_column("segments", justify="right")
        for t in thumos.thresholds:
            classes.add_column(f"AP@{t:g}", justify="right")
        for label in sorted(thumos.ap):
            classes.add_row(
                label, str(thumos.counts[label]), *[f"{v:.3f}" for v in thumos.ap[label]]
            )
        out.print(classes)
    if thumos.absent:
        note(
            f"note: predicted classes absent from the ground truth (not scored): "
            f"{', '.join(thumos.absent)}"
        )
    if thumos.unmatched_videos:
        note(
            "warning: predicted videos with no ground truth (all their segments count as "
            f"false positives): {', '.join(thumos.unmatched_videos)}"
        )
