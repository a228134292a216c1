"""Reading video: metadata, frame sampling, decoding and streaming.

This package owns everything between a video file (or URL) and RGB frames; nothing here
knows about poses or models. Transforms to model input live in
:mod:`actscope.video.transforms` (imported separately because they need torch).
"""

from actscope.video.info import VideoInfo, probe
from actscope.video.reader import Clip, Frame, iter_video_frames, read_video
from actscope.video.sampling import DenseSampler, MultiViewSampler, UniformSampler
from actscope.video.spec import ClipSpec
from actscope.video.streaming import Window, stream_windows

__all__ = [
    "Clip",
    "ClipSpec",
    "DenseSampler",
    "Frame",
    "MultiViewSampler",
    "UniformSampler",
    "VideoInfo",
    "Window",
    "iter_video_frames",
    "probe",
    "read_video",
    "stream_windows",
]
