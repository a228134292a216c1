"""The click group every command attaches to, and the consoles commands print on."""

from __future__ import annotations

import logging
import sys

import click
from rich.console import Console
from rich.logging import RichHandler

from actscope import __version__

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


def print_error(message: object) -> None:
    """One line on stderr, as every user-facing failure is reported."""
    err.print(f"error: {message}", soft_wrap=True, markup=False)
