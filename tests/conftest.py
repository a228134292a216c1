"""Shared fixtures: small generated videos, written once per test session; one torch thread
for the modules that ask for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from videogen import write_video


@pytest.fixture(scope="session")
def videos(tmp_path_factory) -> dict[str, Path]:
    """Generated test videos keyed by a short name."""
    folder = tmp_path_factory.mktemp("videos")
    vfr_times = [0.0, 0.1, 0.15, 0.4, 0.5, 0.9, 1.0, 1.05, 1.3, 1.5, 1.52, 2.0]
    return {
        "h264_mp4": write_video(folder / "h264.mp4", 40, fps=25, width=64, height=48),
        "mpeg4_avi": write_video(folder / "mpeg4.avi", 33, fps=30, codec="mpeg4"),
        "vp9_webm": write_video(
            folder / "vp9.webm", 24, fps=24, width=80, height=64, codec="libvpx-vp9"
        ),
        "mjpeg_mkv": write_video(
            folder / "mjpeg.mkv", 20, fps=15, codec="mjpeg", pix_fmt="yuvj420p"
        ),
        "ffv1_mkv": write_video(folder / "ffv1.mkv", 25, fps=50, width=96, height=54, codec="ffv1"),
        "hevc_mov": write_video(
            folder / "hevc.mov", 18, fps=12, codec="hevc", options={"x265-params": "log-level=none"}
        ),
        "vfr_mp4": write_video(
            folder / "vfr.mp4", len(vfr_times), times=vfr_times, options={"bf": "0"}
        ),
        "vfr_mkv": write_video(folder / "vfr.mkv", len(vfr_times), times=vfr_times),
        "rotated_mp4": write_video(folder / "rotated.mp4", 10, width=64, height=48, rotation=-90),
        "audio_mp4": write_video(folder / "with_audio.mp4", 25, audio=True),
        "faststart_mp4": write_video(
            folder / "faststart.mp4", 60, fps=30, container_options={"movflags": "faststart"}
        ),
    }


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for a module (``pytestmark = pytest.mark.usefixtures("one_thread")``):
    small models gain nothing from a second thread, and on a shared machine two OpenMP threads
    on a busy core spin and stall."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
