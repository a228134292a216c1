"""The click group every command attaches to, and the consoles commands print on."""

from __future__ import annotations

import logging
import sys

import click
from rich.console import Console
from rich.logging import RichHandler

from actscope import __version__

USER_ERROR = 2
PARTIAL_HELP = "Use the frames that decode from a truncated or damaged video."
backend_option = click.option(
    "--backend",
    type=click.Choice(["torch", "onnx"]),
    default="torch",
    show_default=True,
    help="Run the model with eager PyTorch or ONNX Runtime (a model that is not an .onnx file "
    "is exported once into a cache); an .onnx model always runs on ONNX Runtime.",
)
device_option = click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda"]),
    default="auto",
    show_default=True,
    help="Where the model runs: auto (a CUDA GPU when there is one, else the CPU), cpu or "
    "cuda (ONNX Runtime: onnxruntime-gpu). Videos are decoded and poses found on the CPU.",
)

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


def say(text: str) -> None:
    """A result line on stdout, as written (no markup, no wrapping)."""
    out.print(text, markup=False, soft_wrap=True)


def note(text: str) -> None:
    """A line on stderr (files written, warnings), as written."""
    err.print(text, markup=False, soft_wrap=True)


def print_error(message: object) -> None:
    """One line on stderr, as every user-facing failure is reported."""
    note(f"error: {message}")


def check_outputs(*files: str | None, folders: tuple[str | None, ...] = ()) -> None:
    """Refuse, before any work is done, output ``files`` and ``folders`` that cannot be
    written (``None``: not asked for); an :class:`~actscope.errors.OutputError` otherwise."""
    from pathlib import Path

    from actscope.files import check_writable

    for file in files:
        if file:
            check_writable(file)
    for folder in folders:
        if folder:
            check_writable(Path(folder) / ".actscope-write-check")
