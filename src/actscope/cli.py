"""The ``actscope`` command: thin commands over the public API.

User mistakes (bad options, unreadable videos) print one line to stderr and exit with code 2;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from actscope import __version__
from actscope.errors import ActscopeError

USER_ERROR = 2

# Outside a terminal rich assumes 80 columns and would truncate paths in tables.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, no_args_is_help=True)
@click.version_option(
    __version__, "--version", prog_name="actscope", message="%(prog)s %(version)s"
)
@click.option("-v", "--verbose", is_flag=True, help="Log more detail.")
def app(verbose: bool) -> None:
    """Recognise human actions in video."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_time=False, show_path=False)],
    )


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
            _print_error(exc)
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


def _print_error(exc: BaseException) -> None:
    err.print(f"error: {exc}", soft_wrap=True, markup=False)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app; map user errors to one line on stderr and exit code 2."""
    try:
        code = app.main(args=argv, prog_name="actscope", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help())
        code = 0
    except click.UsageError as exc:
        hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
        err.print(f"error: {exc.format_message()}{hint}", soft_wrap=True, markup=False)
        code = USER_ERROR
    except click.ClickException as exc:
        _print_error(exc.format_message())
        code = USER_ERROR
    except ActscopeError as exc:
        _print_error(exc)
        code = USER_ERROR
    except (KeyboardInterrupt, click.Abort):
        err.print("interrupted")
        code = 130
    sys.exit(code or 0)


if __name__ == "__main__":
    main()
