"""``actscope pose``: extract poses from a video (optionally drawing them) or a whole folder."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from rich.progress import MofNCompleteColumn

from actscope.cli.app import (
    PARTIAL_HELP,
    USER_ERROR,
    app,
    check_outputs,
    err,
    out,
    print_error,
)
from actscope.progress import progress_bar


@app.command()
@click.argument("video", required=False)
@click.option(
    "-o",
    "--output",
    type=click.Path(),
    help="Poses file (.npz) for VIDEO [default: ./VIDEO-NAME.poses.npz]; with --dataset, "
    "the cache folder [default: DIR/poses].",
)
@click.option(
    "--render",
    type=click.Path(dir_okay=False),
    help="Also write an mp4 of the video with the skeleton drawn over it.",
)
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Also write JSON.")
@click.option(
    "--dataset",
    type=click.Path(file_okay=False),
    help="Extract and cache the poses of every video under this folder; resumes after an "
    "interruption.",
)
@click.option("--step", default=1, show_default=True, help="Use every STEP-th frame.")
@click.option(
    "--work-size",
    default=480,
    show_default=True,
    help="Decode frames whose short side is longer at this short side (pixels) for speed; "
    "0 keeps the full size. Keypoints are always in the video's own pixels.",
)
@click.option("--workers", type=int, help="Pose estimator threads [default: 2 on 2+ cores].")
@click.option("--allow-partial", is_flag=True, help=PARTIAL_HELP)
def pose(
    video: str | None,
    output: str | None,
    render: str | None,
    json_path: str | None,
    dataset: str | None,
    step: int,
    work_size: int,
    workers: int | None,
    allow_partial: bool,
) -> None:
    """Estimate body poses (MediaPipe, 33 landmarks) in VIDEO, or in a folder (--dataset).

    Frames where nobody is found are kept as missing, so the poses stay aligned with the
    video's time.
    """
    if (video is None) == (dataset is None):
        raise click.UsageError("give either a VIDEO or --dataset DIR")
    if workers is not None and workers < 1:
        raise click.BadParameter("must be at least 1", param_hint="--workers")
    if step < 1:
        raise click.BadParameter("must be at least 1", param_hint="--step")
    size = work_size or None
    if dataset is not None:
        if render or json_path:
            raise click.UsageError("--render and --json work on one VIDEO, not with --dataset")
        _pose_dataset(Path(dataset), output, size, workers)
    else:
        _pose_video(video, output, render, json_path, step, size, workers, allow_partial)


def _pose_video(
    video: str,
    output: str | None,
    render: str | None,
    json_path: str | None,
    step: int,
    work_size: int | None,
    workers: int | None,
    allow_partial: bool,
) -> None:
    from contextlib import nullcontext

    import numpy as np

    from actscope.pose.estimate import extract_poses
    from actscope.pose.render import VideoWriter, draw_skeleton
    from actscope.video import probe

    target = Path(output) if output else Path(f"{Path(video).stem}.poses.npz")
    check_outputs(str(target), render, json_path)
    info = probe(video)
    total = len(range(0, info.frame_count, step)) if info.frame_count else None
    writer = VideoWriter(render, info.fps / step) if render else nullcontext()
    started = time.perf_counter()
    with progress_bar(MofNCompleteColumn(), console=err) as progress, writer:
        task = progress.add_task(Path(video).name, total=total)

        def on_frame(frame, found) -> None:
            progress.advance(task)
            if render:
                image = frame.image.copy()
                scale = np.array([image.shape[1] / info.width, image.shape[0] / info.height])
                for points, scores in zip(found.keypoints, found.scores, strict=True):
                    draw_skeleton(image, points * scale, "mediapipe33", scores, min_score=0.3)
                writer.write(image)

        track = extract_poses(
            video,
            workers=workers,
            step=step,
            work_size=work_size,
            allow_partial=allow_partial,
            on_frame=on_frame,
        )
    seconds = time.perf_counter() - started
    track.save(target)
    if json_path:
        track.image.save_json(json_path)
    frames, found = track.num_frames, track.frames_with_person
    share = f"{100 * found / frames:.0f}%" if frames else "-"
    out.print(
        f"{target}: {frames} frames, a person in {found} ({share}), layout "
        f"{track.image.layout}, {frames / seconds:.1f} frames/s",
        markup=False,
    )
    for extra in (render, json_path):
        if extra:
            out.print(f"{extra}: written", markup=False)


def _pose_dataset(
    folder: Path, output: str | None, work_size: int | None, workers: int | None
) -> None:
    from actscope.pose.cache import DEFAULT_CACHE_NAME, extract_folder, find_videos

    cache = Path(output) if output else folder / DEFAULT_CACHE_NAME
    videos = find_videos(folder, exclude=cache)
    check_outputs(folders=(str(cache),))
    if not videos:
        print_error(f"{folder}: no video files found")
        sys.exit(USER_ERROR)
    with progress_bar(MofNCompleteColumn(), console=err) as progress:
        overall = progress.add_task("videos to extract", total=None)
        frames = progress.add_task("", total=None, visible=False)

        def on_video(path: Path, index: int, count: int) -> None:
            progress.update(overall, completed=index, total=count)
            progress.reset(frames, description=path.name, visible=True)

        def on_frame(frame, found) -> None:
            progress.advance(frames)

        report = extract_folder(
            folder,
            cache,
            videos=videos,
            workers=workers,
            work_size=work_size,
            on_video=on_video,
            on_frame=on_frame,
        )
    out.print(
        f"{cache}: {len(report.extracted)} extracted, {len(report.cached)} already cached, "
        f"{len(report.failed)} failed",
        markup=False,
    )
    for path, message in report.failed.items():
        print_error(message if str(path) in message else f"{path}: {message}")
    if report.failed:
        sys.exit(USER_ERROR)
