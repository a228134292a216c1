"""``actscope info``: what a video file holds."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.table import Table

from actscope.cli.app import USER_ERROR, app, out, print_error
from actscope.errors import ActscopeError


@app.command()
@click.argument("videos", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--decode", is_flag=True, help="Decode every frame and report how many decode.")
def info(videos: tuple[str, ...], as_json: bool, decode: bool) -> None:
    """Show each video's metadata: container, codec, size, fps, frames, duration, rotation.

    VIDEOS are files or URLs.
    """
    from actscope.video import probe
    from actscope.video.reader import count_decodable

    rows: list[dict] = []
    for video in videos:
        try:
            row = probe(video).to_dict()
            if decode:
                row["decoded_frames"], row["damaged_packets"] = count_decodable(video)
        except ActscopeError as exc:
            print_error(exc)
            row = {"path": video, "error": str(exc)}
        rows.append(row)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        _print_info_table([r for r in rows if "error" not in r], decode)
    if any("error" in r for r in rows):
        sys.exit(USER_ERROR)


def _print_info_table(rows: list[dict], decode: bool) -> None:
    if not rows:
        return
    table = Table(box=None, header_style="bold")
    for column in (
        "video",
        "container",
        "codec",
        "size",
        "fps",
        "frames",
        "duration",
        "rotation",
        "audio",
    ):
        table.add_column(column, justify="right" if column in ("fps", "frames") else "left")
    if decode:
        table.add_column("decoded", justify="right")
    for row in rows:
        cells = [
            Path(row["path"]).name,
            row["container"].split(",")[0],
            row["codec"],
            f"{row['width']}x{row['height']}",
            f"{row['fps']:.3f}".rstrip("0").rstrip("."),
            str(row["frame_count"]),
            f"{row['duration']:.2f} s",
            f"{row['rotation']}°",
            "yes" if row["has_audio"] else "no",
        ]
        if decode:
            cells.append(str(row["decoded_frames"]))
        table.add_row(*cells)
    out.print(table)
