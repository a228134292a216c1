"""Error types a user can act on.

Every error actscope raises for bad input derives from :class:`ActscopeError`; its message
says what is wrong and what to do. The CLI prints it as one line and exits with code 2.
Anything else that escapes is a bug and keeps its traceback.
"""

from __future__ import annotations


class ActscopeError(Exception):
    """Base class for errors caused by input, configuration or environment, not by a bug."""


class VideoError(ActscopeError):
    """A video cannot be opened or decoded."""


class VideoNotFoundError(VideoError, FileNotFoundError):
    """The path does not exist."""


class VideoArgumentError(VideoError, TypeError):
    """What was given as a video is not a path, URL or folder (e.g. ``None``)."""


class NotAVideoError(VideoError):
    """The file is empty, a directory, or in a format FFmpeg does not recognise."""


class NoVideoStreamError(VideoError):
    """The container holds no video stream (for example an audio-only file)."""


class UnsupportedCodecError(VideoError):
    """The video stream uses a codec this build of FFmpeg cannot decode."""


class CorruptVideoError(VideoError):
    """The file is truncated or corrupt: some or all of its frames do not decode.

    ``decoded`` and ``expected`` give the frame counts where they are known.
    """

    def __init__(self, message: str, *, decoded: int = 0, expected: int | None = None) -> None:
        super().__init__(message)
        self.decoded = decoded
        self.expected = expected


class PoseError(ActscopeError):
    """Pose estimation failed or a skeleton is malformed."""


class ModelError(ActscopeError):
    """A model name is unknown or a checkpoint does not fit the model."""


class ForeignCheckpointError(ModelError):
    """A readable torch file that is not an actscope checkpoint (e.g. upstream weights)."""


class DatasetError(ActscopeError):
    """A dataset folder or file is missing or malformed."""


class ConfigError(ActscopeError):
    """A configuration value is invalid."""


class OutputError(ActscopeError):
    """An output file or folder cannot be written."""
