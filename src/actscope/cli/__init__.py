"""The ``actscope`` command: thin commands over the public API.

Each module of this package adds its commands to :data:`actscope.cli.app.app`. User
mistakes (bad options, unreadable videos, unknown models) print one line to stderr and exit
with code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import click

from actscope.cli import (  # noqa: F401 - each registers its commands
    apps,
    batch,
    export,
    live,
    models,
    pose,
    recognize,
    serve,
    train,
    video,
)
from actscope.cli.app import USER_ERROR, app, note
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
    args = sys.argv[1:] if argv is None else list(argv)
    message = ""
    try:
        with _sigterm_unwinds():
            code = app.main(
                args=args, prog_name="actscope", standalone_mode=False, obj={"argv": args}
            )
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help())
        code = 0
    except click.UsageError as exc:
        hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
        message, code = f"error: {exc.format_message()}{hint}", USER_ERROR
    except click.ClickException as exc:
        message, code = f"error: {exc.format_message()}", USER_ERROR
    except ActscopeError as exc:
        message, code = f"error: {exc}", USER_ERROR
    except (KeyboardInterrupt, click.Abort) as exc:
        # click turns an interrupt inside a command into Abort; the cause says which it was
        if isinstance(exc, Terminated) or isinstance(exc.__cause__, Terminated):
            message, code = "terminated", 128 + signal.SIGTERM
        else:
            message, code = "interrupted", 130
    # Under torchrun only rank 0 says it; the other ranks exit with the same code, silently.
    if message and int(os.environ.get("RANK", "0")) == 0:
        note(message)
    sys.exit(code or 0)
