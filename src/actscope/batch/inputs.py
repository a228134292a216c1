"""What a batch runs over: video files, folders of videos, and ``@list.txt`` files of paths."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from actscope.errors import ConfigError


def batch_inputs(inputs: Iterable[str | os.PathLike]) -> list[str]:
    """The files a batch runs over, each once, in order: files as given, the videos under
    folders (recursively, sorted), and the lines of ``@LIST`` files (one path or folder per
    line; blank lines and ``#`` comments skipped; relative paths are relative to the list's
    folder). Local paths are made absolute so that a rerun from elsewhere finds them done.
    Raises :class:`ConfigError` for a list file that cannot be read and
    :class:`~actscope.errors.VideoError` when no video is left."""
    from actscope.inference.prediction import collect_videos

    items: list[str] = []
    for item in inputs:
        name = os.fspath(item)
        items += _list_file(name[1:]) if name.startswith("@") else [name]
    found = collect_videos(items)
    return list(dict.fromkeys(_absolute(name) for name in found))


def _list_file(name: str) -> list[str]:
    path = Path(name)
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(f"@{name}: cannot read this list of paths ({reason})") from None
    entries = [line.strip() for line in lines]
    entries = [line for line in entries if line and not line.startswith("#")]
    return [e if "://" in e else str(path.parent / e) for e in entries]


def _absolute(name: str) -> str:
    return name if "://" in name else os.path.abspath(name)
