"""Progress bars on stderr for long work (decoding, pose estimation, training).

One look for every command: what is being done, a bar, the given columns, time elapsed and
time left. A bar draws only when stderr is a terminal, so logs and pipes get no control
characters (long work also logs its progress at INFO level, shown with ``-v``).
"""

from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def progress_bar(
    *columns: ProgressColumn | str,
    transient: bool = True,
    enabled: bool = True,
    console: Console | None = None,
) -> Progress:
    """A rich :class:`Progress` on stderr (or ``console``): description, bar, ``columns``,
    elapsed, ETA; ``transient`` bars disappear when done; off unless ``enabled`` and
    stderr is a terminal. Give the console that logs go to, so they print above the bar."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        *columns,
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console or Console(stderr=True),
        transient=transient,
        disable=not (enabled and sys.stderr.isatty()),
    )
