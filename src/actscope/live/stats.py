"""Throughput, latency and drop counts of a live run, overall and per reporting interval."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np


@dataclass
class StageCounts:
    """Frames lost at each hand-off: ``source`` (a paced replay was late), ``pose`` (a new
    frame arrived before the pose stage took the previous one), ``analysis`` (poses whose
    moment was not analysed on its own: their keypoints still reach the analyser's history),
    ``output`` (analysed frames overtaken before they were shown)."""

    source: int = 0
    pose: int = 0
    analysis: int = 0
    output: int = 0

    def total(self) -> int:
        return self.source + self.pose + self.analysis + self.output


@dataclass
class LiveStats:
    """Counters shared by the pipeline's threads (guarded by one lock)."""

    frames_in: int = 0
    posed: int = 0
    frames_out: int = 0
    dropped: StageCounts = field(default_factory=StageCounts)
    latencies: list[float] = field(default_factory=list)
    stages: list[tuple[float, float, float]] = field(default_factory=list)
    pose_seconds: list[float] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def summary(self) -> dict:
        """Totals: ``fps`` (frames out per second of wall time), ``pose_fps``, latency
        percentiles in milliseconds and the ``drop_rate`` (frames in that never reached
        the output with their own analysis)."""
        with self.lock:
            wall = (self.ended or time.monotonic()) - self.started
            latencies = np.asarray(self.latencies) * 1000.0
            pose_ms = np.asarray(self.pose_seconds) * 1000.0
            return {
                "seconds": round(wall, 3),
                "frames_in": self.frames_in,
                "frames_posed": self.posed,
                "frames_out": self.frames_out,
                "fps": round(self.frames_out / wall, 2) if wall > 0 else 0.0,
                "pose_fps": round(self.posed / wall, 2) if wall > 0 else 0.0,
                "pose_ms_mean": _round(pose_ms.mean()) if len(pose_ms) else None,
                **latency_summary(latencies),
                **stage_summary(np.asarray(self.stages) * 1000.0),
                "drop_rate": round(1 - self.frames_out / self.frames_in, 4)
                if self.frames_in
                else 0.0,
                "dropped": vars(self.dropped).copy(),
            }


def latency_summary(latencies_ms: np.ndarray) -> dict:
    """p50, p95 and max of latencies given in milliseconds (``None`` when there are none)."""
    if not len(latencies_ms):
        return {"latency_p50_ms": None, "latency_p95_ms": None, "latency_max_ms": None}
    p50, p95 = np.percentile(latencies_ms, [50, 95])
    return {
        "latency_p50_ms": _round(p50),
        "latency_p95_ms": _round(p95),
        "latency_max_ms": _round(latencies_ms.max()),
    }


def stage_summary(stages_ms: np.ndarray) -> dict:
    """Where the latency of output frames went, ``(N, 3)`` milliseconds: waiting for the
    pose stage, pose estimation, and analysis plus output; p95 of each."""
    if not len(stages_ms):
        return {"stages_p95_ms": None}
    p95 = np.percentile(stages_ms, 95, axis=0)
    return {"stages_p95_ms": dict(zip(("wait", "pose", "after"), map(_round, p95), strict=True))}


def _round(value: float) -> float:
    return round(float(value), 1)
