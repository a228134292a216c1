"""Using trained models: clip -> class scores, and the jobs built on it.

:func:`predict` names the actions of whole videos; :func:`detect` finds when each action
starts and ends; :func:`evaluate_detection` scores detections against a ground truth;
:func:`render_overlay` and :func:`plot_timeline` draw the results. Names are imported on
first use, so reading or scoring segment files does not load torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "DetectOptions": "detection",
    "Detection": "detection",
    "detect": "detection",
    "detect_skeleton": "detection",
    "find_segments": "detection",
    "DetectionReport": "evaluation",
    "detection_map": "evaluation",
    "evaluate_detection": "evaluation",
    "render_overlay": "overlay",
    "Prediction": "prediction",
    "predict": "prediction",
    "Recognizer": "recognizer",
    "SkeletonRecognizer": "recognizer",
    "ClipRecognizer": "recognizer",
    "load_model": "recognizer",
    "ScoreTrack": "scoring",
    "SkeletonStream": "scoring",
    "Segment": "segments",
    "read_segments": "segments",
    "plot_timeline": "timeline",
}

__all__ = [
    "ClipRecognizer",
    "DetectOptions",
    "Detection",
    "DetectionReport",
    "Prediction",
    "Recognizer",
    "ScoreTrack",
    "Segment",
    "SkeletonRecognizer",
    "SkeletonStream",
    "detect",
    "detect_skeleton",
    "detection_map",
    "evaluate_detection",
    "find_segments",
    "load_model",
    "plot_timeline",
    "predict",
    "read_segments",
    "render_overlay",
]

if TYPE_CHECKING:
    from actscope.inference.detection import (
        Detection,
        DetectOptions,
        detect,
        detect_skeleton,
        find_segments,
    )
    from actscope.inference.evaluation import DetectionReport, detection_map, evaluate_detection
    from actscope.inference.overlay import render_overlay
    from actscope.inference.prediction import Prediction, predict
    from actscope.inference.recognizer import (
        ClipRecognizer,
        Recognizer,
        SkeletonRecognizer,
        load_model,
    )
    from actscope.inference.scoring import ScoreTrack, SkeletonStream
    from actscope.inference.segments import Segment, read_segments
    from actscope.inference.timeline import plot_timeline


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'actscope.inference' has no attribute {name!r}")
    return getattr(importlib.import_module(f"actscope.inference.{module}"), name)
