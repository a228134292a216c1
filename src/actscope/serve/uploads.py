"""Getting a job's video onto disk safely: a client's upload streamed in chunks under a size
limit, or a URL fetched when the server allows it; then checked by probing the container
(never by its name). The file gets a server-chosen name; the client's name is only shown."""

from __future__ import annotations

import re
import shutil
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import BinaryIO

from actscope.errors import ActscopeError

CHUNK = 1 << 20  # bytes copied at a time
INPUT_NAME = "input.video"  # every job's input file; decoders probe content, not names


class UploadError(ActscopeError):
    """An upload the server refuses; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def display_name(name: str | None) -> str:
    """The client's file name reduced to something safe to show: its last path part, no
    control characters, at most 200 characters (it never names a file on disk)."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip()
    return name[:200] or "upload"


def save_stream(source: BinaryIO, target: Path, limit: int) -> int:
    """Copy ``source`` to ``target`` in chunks; :class:`UploadError` 413 past ``limit``
    bytes (the partial file is removed). Returns the size."""
    size = 0
    try:
        with open(target, "wb") as out:
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise UploadError(413, too_large(limit))
                out.write(chunk)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return size


def fetch_url(url: str, target: Path, limit: int, timeout: float = 30.0) -> int:
    """Download ``url`` (http or https) to ``target`` under the same size limit."""
    if not re.match(r"^https?://", url, re.IGNORECASE):
        raise UploadError(422, f"url must start with http:// or https://, got {url[:100]!r}")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise UploadError(413, too_large(limit))
            return save_stream(response, target, limit)
    except urllib.error.HTTPError as error:
        raise UploadError(422, f"fetching {url[:200]} failed: HTTP {error.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise UploadError(422, f"fetching {url[:200]} failed: {reason}") from None


_PROBE_LOCK = threading.Lock()


def check_video(path: Path) -> None:
    """:class:`UploadError` 415 unless FFmpeg finds a decodable video stream in ``path``.

    One probe at a time in the server process: PyAV's FFmpeg log callback can deadlock
    threads that decode at once (PyAV issue #751), and a probe decodes one frame, so
    serialising costs little."""
    from actscope.errors import VideoError
    from actscope.video import probe

    try:
        with _PROBE_LOCK:
            info = probe(path)
    except VideoError as error:
        reason = str(error).replace(str(path), "the upload")
        raise UploadError(415, f"not a video actscope can read: {reason}") from None
    if info.width <= 0 or info.height <= 0:
        raise UploadError(415, "not a video actscope can read: it has no picture")


def too_large(limit: int) -> str:
    return f"the upload is larger than this server's limit of {limit / 2**20:g} MB"


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
