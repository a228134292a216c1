"""Writing output files atomically: a temporary file beside the target, renamed when complete."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder; rename it to ``path`` if the block succeeds.

    The temporary name keeps ``path``'s suffix (encoders pick the format from it). On any
    error the temporary file is removed and ``path`` is left as it was.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Created by the writer with the usual permissions (mkstemp would make it private).
    temp = target.parent / f".{target.stem}.{secrets.token_hex(4)}.part{target.suffix}"
    try:
        yield Path(temp)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
