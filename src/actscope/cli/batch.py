"""``actscope batch``: one task over many videos into a Parquet file, resumable, locally or on
a Ray cluster."""

from __future__ import annotations

import sys

import click
from rich.progress import MofNCompleteColumn

from actscope.cli.app import (
    USER_ERROR,
    app,
    backend_option,
    device_option,
    err,
    note,
    print_error,
)
from actscope.cli.recognize import MODEL_HELP
from actscope.progress import progress_bar


@app.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="Parquet file of results (one row per file; per segment with --task detect).",
)
@click.option(
    "--task",
    type=click.Choice(["predict", "detect", "pose"]),
    default="predict",
    show_default=True,
    help="predict: top-k actions per video; detect: segments; pose: poses (.npz files in a "
    "folder beside the output: results.parquet -> results.poses/).",
)
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="Run in this process, or on Ray (a local one, or the cluster at --address).",
)
@click.option("--address", help="Ray cluster to connect to ('auto': the one running here).")
@click.option(
    "--workers",
    default=2,
    show_default=True,
    help="Ray actors decoding and finding poses at once, one CPU each (predict's model runs "
    "in actors of its own: one per GPU, or one with a CPU of its own).",
)
@click.option("-m", "--model", default="default", show_default=True, help=MODEL_HELP)
@backend_option
@device_option
@click.option("-k", "--top-k", default=5, show_default=True, help="Actions kept per video.")
@click.option("--step", default=1, show_default=True, help="Use every STEP-th frame for poses.")
def batch(
    inputs: tuple[str, ...],
    output: str,
    task: str,
    engine: str,
    address: str | None,
    workers: int,
    model: str,
    backend: str,
    device: str,
    top_k: int,
    step: int,
) -> None:
    """Run one task on every video of INPUTS (files, folders searched recursively, or @LIST:
    a text file with one path or folder per line, relative to the list's folder) and write
    the results to a Parquet file: path, status (ok/error), error, and the task's fields.

    Resumable: results are written in parts (OUTPUT.parts/) as files finish and combined
    into OUTPUT at the end; run the same command again after a crash or Ctrl-C and it skips
    the files done. Files that failed are run again by every rerun. The exit code is 2 when
    a file failed (its error is in the output).
    """
    for name, value in (("--workers", workers), ("--top-k", top_k), ("--step", step)):
        if value < 1:
            raise click.BadParameter("must be at least 1", param_hint=name)
    if address and engine != "ray":
        raise click.BadParameter("goes with --engine ray", param_hint="--address")
    from actscope.batch import run_batch

    with progress_bar(MofNCompleteColumn(), console=err) as progress:
        files = progress.add_task("files", total=None)
        summary = run_batch(
            inputs,
            output,
            task=task,
            model=model,
            backend=backend,
            device=device,
            top_k=top_k,
            step=step,
            engine=engine,
            workers=workers,
            address=address,
            on_progress=lambda done, total: progress.update(files, completed=done, total=total),
        )
    note(
        f"{summary.output}: written ({summary.rows} rows; {summary.files} files: "
        f"{summary.ok} done now, {summary.skipped} done before, {summary.failed} failed; "
        f"{summary.seconds:.1f} s)"
    )
    if summary.failed:
        print_error(
            f"{summary.failed} file(s) failed; their errors are in the output's error column; "
            "run the command again to retry them"
        )
        sys.exit(USER_ERROR)
