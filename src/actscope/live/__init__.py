"""Live recognition: a camera, stream or replayed file through pose estimation and an
analyser (actions, falls) in real time, dropping frames rather than falling behind.

Heavy pieces (OpenCV windows, the recorder) live in :mod:`actscope.live.render` and are
imported only when used.
"""

from actscope.live.actions import ActionAnalyzer, ActionTracker, TimedPoseHistory
from actscope.live.handoff import ClosedError, LatestSlot, Mailbox
from actscope.live.pipeline import Analysis, Analyzer, LivePipeline, LiveReport, PoseSample
from actscope.live.sources import (
    CameraSource,
    CapturedFrame,
    FrameSource,
    StreamLostError,
    VideoSource,
    open_source,
)
from actscope.live.stats import LiveStats

__all__ = [
    "ActionAnalyzer",
    "ActionTracker",
    "Analysis",
    "Analyzer",
    "CameraSource",
    "CapturedFrame",
    "ClosedError",
    "FrameSource",
    "LatestSlot",
    "LivePipeline",
    "LiveReport",
    "LiveStats",
    "Mailbox",
    "PoseSample",
    "StreamLostError",
    "TimedPoseHistory",
    "VideoSource",
    "open_source",
]
