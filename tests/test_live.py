"""The live pipeline: hand-offs, hysteresis, latency and drops on files replayed in real time,
streams that drop, sources that cannot be opened, nobody in view."""

from __future__ import annotations

import http.server
import itertools
import json
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from actscope.errors import VideoError
from actscope.live import (
    ActionAnalyzer,
    ActionTracker,
    ClosedError,
    LatestSlot,
    LivePipeline,
    Mailbox,
    PoseSample,
    StreamLostError,
    TimedPoseHistory,
    open_source,
)
from actscope.pose.estimate import PoseFrame
from actscope.video import probe
from realdata import shared_path
from videogen import write_video

# --- hand-offs ----------------------------------------------------------------------------


def test_latest_slot_keeps_the_newest_and_counts_what_it_overwrote():
    slot = LatestSlot()
    for item in range(5):
        slot.put(item)
    assert slot.get(timeout=0) == 4
    assert slot.dropped == 4
    assert slot.get(timeout=0.01) is None  # nothing new: times out
    slot.put(7)
    slot.close()
    assert slot.get(timeout=0) == 7  # what is left is still delivered after close
    with pytest.raises(ClosedError):
        slot.get(timeout=0)


def test_mailbox_hands_over_the_backlog_and_drops_the_oldest_when_full():
    box = Mailbox(capacity=3)
    for item in range(5):
        box.put(item)
    assert box.take(timeout=0) == [2, 3, 4]
    assert box.dropped == 2


def test_a_waiting_consumer_wakes_up_when_an_item_arrives():
    slot = LatestSlot()
    threading.Timer(0.05, slot.put, args=("frame",)).start()
    started = time.monotonic()
    assert slot.get(timeout=2.0) == "frame"
    assert time.monotonic() - started < 1.0


# --- hysteresis ---------------------------------------------------------------------------


def scores(first: float) -> np.ndarray:
    return np.array([first, 1.0 - first])


def test_tracker_ignores_flicker_around_the_threshold():
    tracker = ActionTracker(["wave", "walk"], on=0.6, off=0.4, min_start=0.5, min_end=0.5)
    rng = np.random.default_rng(0)
    events = []
    for step in range(40):  # 0.1 s apart: wave scores jitter between 0.45 and 0.75
        events += tracker.update(step * 0.1, scores(rng.uniform(0.45, 0.75)))
    starts = [e for e in events if e["event"] == "action_start"]
    ends = [e for e in events if e["event"] == "action_end"]
    assert len(starts) == 1 and starts[0]["action"] == "wave"
    assert ends == []  # never below 0.4: the action does not end in the middle


def test_tracker_start_and_end_times_are_when_the_scores_crossed():
    tracker = ActionTracker(["wave", "walk"], on=0.6, off=0.4, min_start=0.5, min_end=0.5)
    events = []
    timeline = [0.1] * 10 + [0.9] * 20 + [0.2] * 10  # wave from 1.0 s to 3.0 s
    for step, value in enumerate(timeline):
        events += tracker.update(step * 0.1, scores(value))
    by_type = {}
    for event in events:
        by_type.setdefault((event["event"], event["action"]), []).append(event)
    assert [e["time"] for e in by_type[("action_start", "walk")]] == [0.0, 3.0]
    wave_start = by_type[("action_start", "wave")][0]
    wave_end = by_type[("action_end", "wave")][0]
    assert wave_start["time"] == pytest.approx(1.0) and wave_start["announced"] >= 1.5
    assert wave_end["time"] == pytest.approx(3.0) and wave_end["reason"] == "score_drop"
    assert by_type[("action_end", "walk")][0]["time"] == pytest.approx(1.0)


def test_tracker_switches_when_another_class_takes_over():
    tracker = ActionTracker(["wave", "walk"], on=0.55, off=0.3, min_start=0.3, min_end=0.3)
    events = []
    for step in range(10):  # walk, then wave takes over while walk stays above "off"
        events += tracker.update(step * 0.1, scores(0.35 if step < 5 else 0.65))
    assert [(e["event"], e["action"]) for e in events] == [
        ("action_start", "walk"),
        ("action_end", "walk"),
        ("action_start", "wave"),
    ]
    assert events[1]["reason"] == "switch" and events[1]["time"] == events[2]["time"] == 0.5


def test_tracker_ends_the_action_at_once_when_nobody_is_in_view():
    tracker = ActionTracker(["wave", "walk"], min_start=0.2)
    events = []
    for step in range(5):
        events += tracker.update(step * 0.1, scores(0.9))
    events += tracker.update(0.6, None)
    assert events[-1]["event"] == "action_end" and events[-1]["reason"] == "nobody"
    assert tracker.update(0.7, None) == []
    assert tracker.finish(1.0) == []


# --- pose history -------------------------------------------------------------------------

STANDING = np.array(
    [
        [50, 20], [52, 18], [48, 18], [54, 19], [46, 19],  # face
        [58, 30], [42, 30], [60, 42], [40, 42], [61, 54], [39, 54],  # arms
        [55, 56], [45, 56], [56, 72], [44, 72], [56, 88], [44, 88],  # legs
    ],
    np.float32,
)  # fmt: skip
"""A person standing, COCO-17 keypoints in pixels of a 96x96 image."""


def sample(time_: float, person: bool = True, index: int = 0) -> PoseSample:
    image = np.zeros((96, 96, 3), np.uint8)
    keypoints = STANDING + np.float32(np.sin(time_)) if person else None
    return PoseSample(
        index, time_, 0.0, image, "coco17", keypoints, np.ones(17, np.float32) if person else None
    )


def test_history_window_leaves_skipped_frames_missing_and_refuses_empty_windows():
    history = TimedPoseHistory(3.0)
    times = [0.0, 0.1, 0.2, 0.6, 0.7, 1.0]  # frames were skipped between 0.2 and 0.6
    history.extend([sample(t) for t in times])
    window = history.window(1.0)  # (0.0, 1.0]: the first frame falls out
    assert window.coords.shape == (1, 30, 17, 2) and window.fps == 30
    filled = ~np.isnan(window.coords[0, :, 0, 0])
    assert filled.sum() == len(times) - 1
    assert filled[-1] and not filled[-2]  # the newest frame ends the window
    history.extend([sample(1.0 + 0.1 * k, person=False) for k in range(1, 9)])
    assert history.window(1.0) is None  # a person in fewer than half of the frames


# --- the pipeline on a file replayed in real time --------------------------------------------


class FakePose:
    """A pose estimator that finds the standing person (or nobody) after ``delay`` seconds."""

    name, layout, has_world = "fake", "coco17", False

    def __init__(self, delay: float = 0.0, person: bool = True) -> None:
        self.delay, self.person = delay, person

    def estimate(self, image: np.ndarray) -> PoseFrame:
        time.sleep(self.delay)
        if not self.person:
            return PoseFrame(np.zeros((0, 17, 2), np.float32), np.zeros((0, 17), np.float32))
        return PoseFrame(STANDING[None].copy(), np.ones((1, 17), np.float32))

    def reset(self) -> None:
        pass

    def close(self) -> None:
        pass


class FakeClassifier:
    """Says "wave" with 0.9 after ``delay`` seconds; counts its calls."""

    window_seconds = 0.5

    def __init__(self, delay: float = 0.0) -> None:
        self.class_names = ["wave", "walk"]
        self.skeleton_space = "image"
        self.delay = delay
        self.calls = 0

    def skeleton_scores(self, skeletons):
        self.calls += 1
        time.sleep(self.delay)
        return np.array([[0.9, 0.1]] * len(skeletons))


@pytest.fixture(scope="module")
def two_seconds(tmp_path_factory):
    """A 2 s, 30 fps generated video (no person in it)."""
    return write_video(
        tmp_path_factory.mktemp("live") / "clip.mp4", 60, fps=30, width=96, height=64
    )


def run_pipeline(video, estimator, analyzer=None, **options):
    events = []
    source = open_source(str(video), short_side=None)
    pipeline = LivePipeline(source, estimator, analyzer, on_event=events.append, **options)
    report = pipeline.run()
    return report, events


def test_file_replays_in_real_time_with_low_latency_and_no_drops(two_seconds):
    classifier = FakeClassifier()
    started = time.monotonic()
    report, events = run_pipeline(two_seconds, FakePose(), ActionAnalyzer(classifier, hop=0.1))
    wall = time.monotonic() - started
    summary = report.summary
    assert 1.9 < wall < 6.0  # played at its own pace, not as fast as it decodes
    assert summary["frames_in"] == 60
    # Loose bounds (the figures are benchmarks' business): they hold on a busy 2-core machine.
    assert summary["drop_rate"] < 0.3
    assert summary["latency_p95_ms"] < 300
    kinds = [e["event"] for e in events]
    assert kinds[0] == "stream_start" and kinds[-1] == "stream_end"
    assert kinds.count("action_start") == 1 and kinds.count("action_end") == 1
    end = next(e for e in events if e["event"] == "action_end")
    assert end["action"] == "wave" and end["reason"] == "end_of_stream"
    assert end["time"] == pytest.approx(59 / 30, abs=0.05)


def test_slow_classifier_drops_frames_instead_of_falling_behind(two_seconds):
    classifier = FakeClassifier(delay=0.25)
    report, _ = run_pipeline(two_seconds, FakePose(), ActionAnalyzer(classifier, hop=0.0))
    summary = report.summary
    # queueing every frame behind a 0.25 s classifier would reach about 1.7 s by the end
    assert summary["latency_p95_ms"] < 500
    assert summary["latency_max_ms"] < 700
    assert summary["dropped"]["analysis"] > 30
    assert summary["drop_rate"] > 0.5
    assert classifier.calls <= 12  # one decision per 0.25 s, not one per frame


def test_slow_pose_estimator_skips_frames_at_the_pose_stage(two_seconds):
    report, _ = run_pipeline(two_seconds, FakePose(delay=0.06))
    summary = report.summary
    assert summary["dropped"]["pose"] > 15  # 30 fps in, at most ~16 fps through
    assert summary["frames_posed"] + summary["dropped"]["pose"] <= 60
    assert summary["latency_p95_ms"] < 200


def test_nobody_in_view_gives_no_action_and_says_so(two_seconds):
    from actscope.pose import MediaPipePose

    classifier = FakeClassifier()
    with MediaPipePose() as estimator:
        report, events = run_pipeline(
            two_seconds, estimator, ActionAnalyzer(classifier, hop=0.1), stats_every=0.5
        )
    kinds = [e["event"] for e in events]
    assert "nobody" in kinds and "person" not in kinds
    assert "action_start" not in kinds
    assert classifier.calls == 0  # no window with a person was ever scored
    assert kinds.count("stats") >= 2
    assert report.error is None


@pytest.mark.real_data
def test_real_clip_live_with_mediapipe_keeps_up_and_records(tmp_path):
    from actscope.live.render import Recorder, annotate
    from actscope.pose import MediaPipePose

    video = shared_path("pushup_form", "videos", "correct", "correct1.mp4")  # 2.4 s, 640x360
    recorder = Recorder(tmp_path / "live.mp4")

    def on_frame(sample, analysis):
        recorder.write(annotate(sample, analysis, "test"), sample.time)

    with MediaPipePose() as estimator:
        report, events = run_pipeline(video, estimator, on_frame=on_frame)
    recorder.close()
    summary = report.summary
    assert [e["event"] for e in events].count("person") == 1
    assert summary["frames_posed"] >= 20  # a third of the 61 frames even on a busy machine
    assert summary["latency_p95_ms"] < 500  # bounded: queueing all 61 frames takes seconds
    recorded = probe(tmp_path / "live.mp4")
    assert recorded.frame_count == summary["frames_out"]
    assert recorded.duration == pytest.approx(2.4, abs=0.3)  # real time, drops or not


def test_with_a_real_recognizer(two_seconds):
    """The Recognizer's own skeleton path (features, model) fed by the live window."""
    import torch

    from actscope.inference import SkeletonRecognizer
    from actscope.pose.features import BodyFeatures

    class Mean(torch.nn.Module):
        def forward(self, x):  # (N, C, T, V, M) -> two logits that depend on the input
            pooled = x.mean(dim=(2, 3, 4))
            return torch.stack([pooled[:, 0] * 0 + 2.0, pooled[:, 1] * 0], dim=1)

    recognizer = SkeletonRecognizer(
        Mean(), ["stand", "other"], BodyFeatures(frames=16, min_score=0.0), "test"
    )
    _, events = run_pipeline(
        two_seconds, FakePose(), ActionAnalyzer(recognizer, window=0.5, hop=0.2)
    )
    start = next(e for e in events if e["event"] == "action_start")
    assert start["action"] == "stand" and start["score"] == pytest.approx(0.881, abs=0.01)


# --- sources that fail --------------------------------------------------------------------


class _Server:
    """Serves one video over HTTP; after the first request (the probe when opening), the
    next ``cut`` responses stop after 60% of the bytes."""

    def __init__(self, data: bytes, cut: int) -> None:
        self.data, self.cut, self.served = data, cut, 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.served += 1
                body = server.data
                if 2 <= server.served <= 1 + server.cut:
                    body = body[: int(len(body) * 0.6)]
                self.send_response(200)
                self.send_header("Content-Type", "video/x-matroska")
                self.send_header("Content-Length", str(len(server.data)))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/clip.mkv"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def mkv_bytes(tmp_path_factory):
    path = write_video(tmp_path_factory.mktemp("stream") / "clip.mkv", 30, fps=30, width=64)
    return path.read_bytes()


def test_stream_that_drops_is_reopened_and_continues(mkv_bytes):
    server = _Server(mkv_bytes, cut=1)
    notices = []
    try:
        source = open_source(server.url, short_side=None, retry_delay=0.05, notify=notices.append)
        frames = list(source.frames(threading.Event()))
    finally:
        server.close()
    assert [n["event"] for n in notices] == ["reconnect"]
    times = [f.time for f in frames]
    assert len(frames) > 30  # the part before the drop, then the whole video again
    assert all(b > a for a, b in itertools.pairwise(times))  # time keeps going


def test_stream_that_keeps_dropping_ends_with_a_clear_error(mkv_bytes):
    server = _Server(mkv_bytes, cut=99)
    notices = []
    try:
        source = open_source(
            server.url, short_side=None, reconnects=2, retry_delay=0.05, notify=notices.append
        )
        with pytest.raises(StreamLostError, match="gave up after 2 reconnection attempts"):
            list(source.frames(threading.Event()))
    finally:
        server.close()
    assert [n["attempt"] for n in notices] == [1, 2]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "actscope", *args], capture_output=True, text=True, timeout=120
    )


def test_cli_stream_lost_mid_way_ends_cleanly_with_one_line(mkv_bytes, tmp_path):
    server = _Server(mkv_bytes, cut=99)
    try:
        result = run_cli(
            "live", server.url, "--no-model", "--reconnects", "1", "--stats-every", "0",
            "--record", str(tmp_path / "out.mp4"),
        )  # fmt: skip
    finally:
        server.close()
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "gave up after 1 reconnection attempts" in errors[0]
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["event"] for e in events].count("reconnect") == 1
    assert events[-1]["event"] == "stream_end" and "gave up" in events[-1]["error"]
    assert probe(tmp_path / "out.mp4").frame_count > 0  # what was seen is kept, complete
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{tmp}/missing.mp4", "no such file"),
        ("{tmp}/notes.txt", "not a video"),
        ("7", "camera 7 cannot be opened"),
        ("http://127.0.0.1:9/none.mkv", "cannot open"),
    ],
)
def test_cli_source_that_cannot_be_opened_is_one_line(tmp_path, source, message):
    (tmp_path / "notes.txt").write_text("not a video\n")
    result = run_cli("live", source.format(tmp=tmp_path), "--no-model")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0]


def test_open_source_refuses_a_bad_speed(two_seconds):
    with pytest.raises(VideoError, match="speed"):
        open_source(str(two_seconds), speed=0)


def test_cli_show_without_a_display_is_refused_up_front(two_seconds):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = subprocess.run(
        [sys.executable, "-m", "actscope", "live", str(two_seconds), "--no-model", "--show"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: no display is available")
