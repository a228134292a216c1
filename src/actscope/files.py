"""Files every layer writes or looks for: atomic output, checked output paths, video names.

Writing atomically: the data goes to a hidden temporary file beside the target
(``.NAME.<hex>.part.SUFFIX``, keeping the suffix, since encoders choose the format from it),
which is renamed onto the target only when complete. A reader therefore sees the old file or
the new one, never half of one; on any error, including Ctrl-C and SIGTERM (the CLI turns
SIGTERM into an exception), the temporary file is removed. A kill -9 can leave a hidden
``.part`` file, never a damaged target.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from actscope.errors import OutputError

VIDEO_SUFFIXES = frozenset(
    {
        ".mp4",
        ".m4v",
        ".mov",
        ".avi",
        ".mkv",
        ".webm",
        ".flv",
        ".ts",
        ".mpg",
        ".mpeg",
        ".3gp",
        ".ogv",
        ".wmv",
    }
)
"""File name suffixes (lower case) taken for videos when searching folders."""


def is_video_name(path: str | os.PathLike) -> bool:
    """Whether ``path``'s suffix is a video suffix (the file itself is not opened)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` if the block succeeds.

    The temporary name keeps ``path``'s suffix. On any exception the temporary file is
    removed and ``path`` is left as it was. A target that cannot be written is an
    :class:`~actscope.errors.OutputError`.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(_cannot_write(target, exc)) from None
    # Created by the writer with the usual permissions (mkstemp would make it private).
    temp = target.parent / f".{target.stem}.{secrets.token_hex(4)}.part{target.suffix}"
    try:
        yield temp
        try:
            os.replace(temp, target)
        except OSError as exc:
            raise OutputError(_cannot_write(target, exc)) from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A binary handle whose content replaces ``path`` when the block succeeds, flushed to
    disk first (checkpoints and reports survive a power cut)."""
    with atomic_path(path) as temp:
        try:
            handle = open(temp, "wb")  # noqa: SIM115 - closed below, before the rename
        except OSError as exc:
            raise OutputError(_cannot_write(Path(path), exc)) from None
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path) as handle:
        handle.write(data)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    write_bytes(path, text.encode())


def check_writable(path: str | os.PathLike) -> Path:
    """Fail now, not after a long run, when ``path`` cannot be written.

    Creates missing folders, then checks that a file can be created beside ``path`` and that
    an existing ``path`` may be replaced. Raises :class:`~actscope.errors.OutputError`.
    """
    target = Path(path)
    if target.is_dir():
        raise OutputError(f"{target}: is a folder; give a file name to write to")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        probe = target.parent / f".{target.name}.{secrets.token_hex(4)}.check"
        probe.touch()
        try:
            if target.exists():
                # an immutable or read-only target cannot be replaced either
                with open(target, "ab"):
                    pass
        finally:
            probe.unlink(missing_ok=True)
    except OSError as exc:
        raise OutputError(_cannot_write(target, exc)) from None
    return target


def _cannot_write(target: Path, exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        advice = "choose another path or change its permissions"
    elif exc.errno == errno.ENOSPC:
        advice = "free some disk space"
    else:
        advice = "choose another path"
    return f"{target}: cannot be written ({reason}); {advice}"
