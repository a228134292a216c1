"""actscope: human action recognition in video.

The public API lives here and is imported lazily, so ``import actscope`` (and the CLI's
``--version``) stays fast and pulls in torch only when a model is actually used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "VideoInfo": "actscope.video",
    "probe": "actscope.video",
    "read_video": "actscope.video",
    "iter_video_frames": "actscope.video",
    "stream_windows": "actscope.video",
    "UniformSampler": "actscope.video",
    "DenseSampler": "actscope.video",
    "MultiViewSampler": "actscope.video",
}

__all__ = [  # noqa: RUF022 - grouped as in _EXPORTS
    "__version__",
    "VideoInfo",
    "probe",
    "read_video",
    "iter_video_frames",
    "stream_windows",
    "UniformSampler",
    "DenseSampler",
    "MultiViewSampler",
]

if TYPE_CHECKING:
    from actscope.video import (
        DenseSampler,
        MultiViewSampler,
        UniformSampler,
        VideoInfo,
        iter_video_frames,
        probe,
        read_video,
        stream_windows,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'actscope' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
