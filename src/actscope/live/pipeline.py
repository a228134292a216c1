"""The live pipeline: capture -> pose -> analyse -> output, one thread per stage.

Stages hand work on through :mod:`actscope.live.handoff`, which keeps only the newest items:
a stage that is too slow skips frames instead of queueing them, so the delay from a frame's
capture to its output (the end-to-end latency) stays bounded on a slow or busy machine,
and every skipped frame is counted. The analyser still receives the keypoints of every
posed frame (its history stays complete); it just evaluates less often.

The output stage runs in the calling thread (windows must be shown from the main thread):
it writes events, draws and records frames, and measures the latency of each frame it
outputs, from the moment the source made it available to the moment it was written out.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

import numpy as np

from actscope.errors import VideoError
from actscope.live.handoff import ClosedError, LatestSlot, Mailbox
from actscope.live.sources import CapturedFrame, FrameSource
from actscope.live.stats import LiveStats, latency_summary
from actscope.pose.estimate import PoseEstimator

log = logging.getLogger(__name__)

ABSENT_AFTER = 1.0
"""Seconds without anybody in view before a ``nobody`` event."""
POSE_BACKLOG = 256
"""Poses waiting for the analyser at most (about 8 s at 30 fps); older ones are dropped."""


@dataclass
class PoseSample:
    """A frame with the person found in it.

    ``keypoints`` ``(V, 2)`` in pixels of ``image`` and ``scores`` ``(V,)``, or ``None``
    when nobody is in view; ``world`` ``(V, 3)`` metres when the estimator gives 3D;
    ``layout`` names the joints. ``time`` is the stream time (seconds); ``captured``,
    ``pose_started`` and ``posed`` the ``time.monotonic()`` at capture and around pose
    estimation.
    """

    index: int
    time: float
    captured: float
    image: np.ndarray
    layout: str
    keypoints: np.ndarray | None
    scores: np.ndarray | None
    world: np.ndarray | None = None
    pose_started: float = 0.0
    posed: float = 0.0

    @property
    def has_person(self) -> bool:
        return self.keypoints is not None


@dataclass
class Analysis:
    """What an analyser concluded at one frame: ``lines`` to show on it, and new ``events``
    (JSON-ready dicts with at least ``event`` and ``time``)."""

    lines: list[str] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)


class Analyzer(Protocol):
    """Turns poses into conclusions (actions, falls, ...).

    ``update`` receives every pose since its previous call, oldest first (at least one),
    and evaluates at the newest; ``finish`` closes what is still open at the end of the
    stream (stream time ``time``) and returns the last events.
    """

    def update(self, samples: list[PoseSample]) -> Analysis: ...

    def finish(self, time: float) -> list[dict]: ...


FrameSink = Callable[[PoseSample, Analysis], None]


@dataclass
class LiveReport:
    """How a live run went: :meth:`LiveStats.summary` totals, and ``error`` (one line) when
    the source failed mid-way (the run still ended cleanly)."""

    summary: dict
    error: str | None = None


class _Presence:
    """Emits ``nobody`` after ``ABSENT_AFTER`` seconds without a person, ``person`` when
    somebody comes back, ``nobody`` at once if the stream starts empty."""

    def __init__(self) -> None:
        self.present: bool | None = None
        self.absent_since: float | None = None

    def update(self, sample: PoseSample) -> list[dict]:
        if sample.has_person:
            self.absent_since = None
            if self.present is not True:
                self.present = True
                return [{"event": "person", "time": round(sample.time, 3)}]
            return []
        if self.absent_since is None:
            self.absent_since = sample.time
        if self.present is not False and (
            self.present is None or sample.time - self.absent_since >= ABSENT_AFTER
        ):
            self.present = False
            return [{"event": "nobody", "time": round(self.absent_since, 3)}]
        return []


class LivePipeline:
    """Runs ``source`` through ``estimator`` and ``analyzer`` until the source ends, ``stop``
    is set, or ``max_seconds`` of wall time have passed.

    ``on_event`` receives each event dict in order (from the calling thread); ``on_frame``,
    if given, receives each output frame with its analysis (draw, record, show). Every
    ``stats_every`` seconds a ``stats`` event reports the last interval's fps, latency and
    drops.
    """

    def __init__(
        self,
        source: FrameSource,
        estimator: PoseEstimator,
        analyzer: Analyzer | None = None,
        *,
        on_event: Callable[[dict], None],
        on_frame: FrameSink | None = None,
        max_seconds: float | None = None,
        stats_every: float | None = None,
    ) -> None:
        self.source = source
        self.estimator = estimator
        self.analyzer = analyzer
        self.on_event = on_event
        self.on_frame = on_frame
        self.max_seconds = max_seconds
        self.stats_every = stats_every
        self.stop = threading.Event()
        self.stats = LiveStats()
        self._frames: LatestSlot[CapturedFrame] = LatestSlot()
        self._poses: Mailbox[PoseSample] = Mailbox(POSE_BACKLOG)
        self._out: LatestSlot[tuple[PoseSample, Analysis]] = LatestSlot()
        self._events: queue.SimpleQueue[dict] = queue.SimpleQueue()
        self._errors: list[BaseException] = []
        self._last_time = 0.0
        self._stale = 0  # frames passed over for a fresher one

    def notify(self, event: dict) -> None:
        """Queue an event from any thread; it is written out in order by the output stage."""
        self._events.put(event)

    # --- stages (each in its own thread) -------------------------------------------------

    def _capture(self) -> None:
        try:
            for frame in self.source.frames(self.stop):
                self._frames.put(frame)
                with self.stats.lock:
                    self.stats.frames_in = self._frames.put_count + self.source.skipped
        except BaseException as exc:
            self._errors.append(exc)
        finally:
            with self.stats.lock:
                self.stats.frames_in = self._frames.put_count + self.source.skipped
            self._frames.close()

    def _fresh_frame(self) -> CapturedFrame | None:
        """The newest frame; if it has waited longer than a frame period (the pose stage was
        busy), the next one if it comes within 1.5 periods: a frame just captured gives a
        shorter latency than one that has been waiting."""
        frame = self._frames.get(timeout=0.5)
        period = 1.0 / self.source.fps if self.source.fps > 0 else 0.0
        if frame is None or not period or time.monotonic() - frame.captured <= period:
            return frame
        try:
            newer = self._frames.get(timeout=1.5 * period)
        except ClosedError:
            return frame
        if newer is None:
            return frame
        self._stale += 1
        return newer

    def _stage(self, work: Callable[[], None], close: Callable[[], None]) -> None:
        """Run one stage's loop until its input closes; an error stops the pipeline (and is
        raised by :meth:`run`). ``close`` then closes the stage's output."""
        try:
            work()
        except ClosedError:
            pass
        except BaseException as exc:
            self._errors.append(exc)
            self.stop.set()
        finally:
            close()

    def _pose(self) -> None:
        layout = self.estimator.layout
        while True:
            frame = self._fresh_frame()
            if frame is None:
                continue
            started = time.monotonic()
            found = self.estimator.estimate(frame.image)
            with self.stats.lock:
                self.stats.posed += 1
                self.stats.pose_seconds.append(time.monotonic() - started)
            person = found.num_people > 0
            world = found.world[0] if person and found.world is not None else None
            self._poses.put(
                PoseSample(
                    index=frame.index,
                    time=frame.time,
                    captured=frame.captured,
                    image=frame.image,
                    layout=layout,
                    keypoints=found.keypoints[0] if person else None,
                    scores=found.scores[0] if person else None,
                    world=world,
                    pose_started=started,
                    posed=time.monotonic(),
                )
            )

    def _analyse(self) -> None:
        presence = _Presence()
        while True:
            samples = self._poses.take(timeout=0.5)
            if not samples:
                continue
            with self.stats.lock:
                self.stats.dropped.analysis += len(samples) - 1
            for sample in samples:
                for event in presence.update(sample):
                    self.notify(event)
            if self.analyzer is not None:
                analysis = self.analyzer.update(samples)
            else:
                analysis = Analysis([] if samples[-1].has_person else ["nobody in view"])
            for event in analysis.events:
                self.notify(event)
            self._last_time = samples[-1].time
            self._out.put((samples[-1], analysis))

    # --- output stage (calling thread) ------------------------------------------------

    def run(self) -> LiveReport:
        """Run until the end (or Ctrl-C); returns the report. Errors other than a failing
        source (bugs, a failing analyser) are raised after the threads have stopped."""
        self.notify({"event": "stream_start", "time": 0.0, **self.source.describe()})
        threads = [
            threading.Thread(target=target, name=f"actscope-live-{name}", daemon=True)
            for name, target in (
                ("capture", self._capture),
                ("pose", partial(self._stage, self._pose, self._poses.close)),
                ("analyse", partial(self._stage, self._analyse, self._out.close)),
            )
        ]
        # the first estimate loads the model (a second or more): not on the stream's time
        self.estimator.estimate(np.zeros((64, 64, 3), np.uint8))
        self.estimator.reset()
        self.stats.started = time.monotonic()
        for thread in threads:
            thread.start()
        interval = _Interval(self.stats)
        try:
            self._output_loop(interval)
        except KeyboardInterrupt:  # Ctrl-C ends a live run like the end of the stream
            log.info("interrupted: stopping")
        finally:
            self.stop.set()
            for thread in threads:
                thread.join()
            self.stats.ended = time.monotonic()
        error = self._source_error()
        if self.analyzer is not None:
            for event in self.analyzer.finish(self._last_time):
                self.notify(event)
        self._flush_events()
        with self.stats.lock:
            self.stats.dropped.source = self.source.skipped
            self.stats.dropped.pose = self._frames.dropped + self._stale
            self.stats.dropped.output = self._out.dropped
        summary = self.stats.summary()
        end = {"event": "stream_end", "time": round(self._last_time, 3), **summary}
        if error is not None:
            end["error"] = error
        self.on_event(end)
        return LiveReport(summary, error)

    def _output_loop(self, interval: _Interval) -> None:
        while True:
            self._flush_events()
            try:
                item = self._out.get(timeout=0.05)
            except ClosedError:
                return
            if item is not None:
                sample, analysis = item
                if self.on_frame is not None:
                    self.on_frame(sample, analysis)
                done = time.monotonic()
                with self.stats.lock:
                    self.stats.frames_out += 1
                    self.stats.latencies.append(done - sample.captured)
                    self.stats.stages.append(
                        (
                            sample.pose_started - sample.captured,
                            sample.posed - sample.pose_started,
                            done - sample.posed,
                        )
                    )
            now = time.monotonic()
            if self.stats_every and now - interval.since >= self.stats_every:
                self.on_event(
                    {"event": "stats", "time": round(self._last_time, 3), **interval.report()}
                )
            if self.max_seconds is not None and now - self.stats.started >= self.max_seconds:
                self.stop.set()

    def _flush_events(self) -> None:
        while True:
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                return
            self.on_event(event)

    def _source_error(self) -> str | None:
        """The source's failure as one line; anything else is re-raised."""
        for exc in self._errors:
            if not isinstance(exc, VideoError):  # only the source reads video
                raise exc
        return str(self._errors[0]) if self._errors else None


class _Interval:
    """Counters at the previous ``stats`` event, to report each interval on its own."""

    def __init__(self, stats: LiveStats) -> None:
        self.stats = stats
        self.since = time.monotonic()
        self.frames_out = 0
        self.frames_in = 0
        self.latencies = 0

    def report(self) -> dict:
        now = time.monotonic()
        with self.stats.lock:
            frames_out = self.stats.frames_out - self.frames_out
            frames_in = self.stats.frames_in - self.frames_in
            latencies = np.asarray(self.stats.latencies[self.latencies :]) * 1000.0
            self.frames_out, self.frames_in = self.stats.frames_out, self.stats.frames_in
            self.latencies = len(self.stats.latencies)
        seconds = now - self.since
        self.since = now
        return {
            "fps": round(frames_out / seconds, 2) if seconds > 0 else 0.0,
            **latency_summary(latencies),
            "drop_rate": round(1 - frames_out / frames_in, 4) if frames_in > 0 else 0.0,
        }
