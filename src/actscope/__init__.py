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
    "Skeleton": "actscope.pose",
    "extract_poses": "actscope.pose",
    "Recognizer": "actscope.inference",
    "load_model": "actscope.inference",
    "predict": "actscope.inference",
    "detect": "actscope.inference",
    "DetectOptions": "actscope.inference",
    "Segment": "actscope.inference",
    "evaluate_detection": "actscope.inference",
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
    "Skeleton",
    "extract_poses",
    "Recognizer",
    "load_model",
    "predict",
    "detect",
    "DetectOptions",
    "Segment",
    "evaluate_detection",
]

if TYPE_CHECKING:
    from actscope.inference import (
        DetectOptions,
        Recognizer,
        Segment,
        detect,
        evaluate_detection,
        load_model,
        predict,
    )
    from actscope.pose import Skeleton, extract_poses
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
