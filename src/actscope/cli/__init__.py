"""The ``actscope`` command: thin commands over the public API.

Each module of this package adds its commands to :data:`actscope.cli.app.app`. User
mistakes (bad options, unreadable videos, unknown models) print one line to stderr and exit
with code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import click

from actscope.cli import (  # noqa: F401 - each registers its commands
    apps,
    export,
    live,
    models,
    pose,
    recognize,
    serve,
    train,
    video,
)
from actscope.cli.app import USER_ERROR, app, err, print_error
from actscope.errors import ActscopeError


class Terminated(KeyboardInterrupt):
    """SIGTERM (what ``timeout``, ``kill`` and service managers send), raised in the main
    thread so that it unwinds like Ctrl-C: partial output files are removed, a training run
    saves ``last.pt``."""


@contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app; map user errors to one line on stderr and exit code 2."""
    try:
        with _sigterm_unwinds():
            code = app.main(args=argv, prog_name="actscope", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help())
        code = 0
    except click.UsageError as exc:
        hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
        print_error(f"{exc.format_message()}{hint}")
        code = USER_ERROR
    except click.ClickException as exc:
        print_error(exc.format_message())
        code = USER_ERROR
    except ActscopeError as exc:
        print_error(exc)
        code = USER_ERROR
    except (KeyboardInterrupt, click.Abort) as exc:
        # click turns an interrupt inside a command into Abort; the cause says which it was
        if isinstance(exc, Terminated) or isinstance(exc.__cause__, Terminated):
            err.print("terminated")
            code = 128 + signal.SIGTERM
        else:
            err.print("interrupted")
            code = 130
    sys.exit(code or 0)
