"""Temporal detection: segments from scores worked by hand, the streaming scorer, detect()
on generated videos with a scripted pose estimator, output files, the untrimmed-stream
generator, and localisation on real UTD-MHAD streams."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from actscope.datasets.skeleton_base import SkeletonItem
from actscope.datasets.untrimmed import make_untrimmed, subject_streams
from actscope.errors import ConfigError, CorruptVideoError, DatasetError, VideoError
from actscope.inference import DetectOptions, Recognizer, detect, detect_skeleton, find_segments
from actscope.inference.scoring import ScoreTrack, SkeletonStream, body_motion
from actscope.inference.segments import read_segments, temporal_iou
from actscope.pose import PoseFrame, Skeleton, extract_poses
from realdata import shared_path
from test_recognizer import CLASSES, skeleton_checkpoint
from videogen import write_video

# A person standing, facing the camera, in coco17 order, in units of body height (y down).
STANDING = np.array(
    [
        [0.50, 0.08], [0.52, 0.06], [0.48, 0.06], [0.54, 0.07], [0.46, 0.07],
        [0.60, 0.20], [0.40, 0.20], [0.63, 0.35], [0.37, 0.35], [0.64, 0.48],
        [0.36, 0.48], [0.56, 0.52], [0.44, 0.52], [0.56, 0.73], [0.44, 0.73],
        [0.56, 0.95], [0.44, 0.95],
    ],
    np.float32,
)  # fmt: skip
RIGHT_ELBOW, RIGHT_WRIST = 8, 10


class ScriptedPerson:
    """A coco17 'estimator' that ignores the image: frame t (counted since reset) shows a
    person standing still, waving the right forearm while ``moving(t)``, or nobody while
    ``absent(t)``."""

    name = "scripted-person"
    layout = "coco17"
    has_world = False

    def __init__(self, moving=lambda t: False, absent=lambda t: False, fps: float = 10.0):
        self.moving, self.absent, self.fps = moving, absent, fps
        self.t = 0

    def estimate(self, image: np.ndarray) -> PoseFrame:
        t, self.t = self.t, self.t + 1
        if self.absent(t):
            return PoseFrame(np.zeros((0, 17, 2), np.float32), np.zeros((0, 17), np.float32))
        height = image.shape[0]
        pose = STANDING.copy()
        if self.moving(t):
            angle = 1.2 * np.sin(2 * np.pi * 1.5 * t / self.fps)  # 1.5 waves per second
            pose[RIGHT_WRIST] = pose[RIGHT_ELBOW] + 0.13 * np.array(
                [-np.sin(angle), -np.cos(angle)]
            )
        points = pose * height * 0.9 + [image.shape[1] / 2 - 0.45 * height, 0.05 * height]
        return PoseFrame(points[None].astype(np.float32), np.full((1, 17), 0.9, np.float32))

    def reset(self) -> None:
        self.t = 0

    def close(self) -> None:
        pass


def between(low: float, high: float, fps: float = 10.0):
    return lambda t: low <= t / fps < high


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return Recognizer.load(skeleton_checkpoint(tmp_path_factory.mktemp("det") / "tcn.pt"))


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """10 s at 10 fps, 96x72 (the scripted estimator does not look at the pixels)."""
    return write_video(
        tmp_path_factory.mktemp("detv") / "ten.mp4", 100, fps=10, width=96, height=72
    )


# --- segments from scores, by hand ------------------------------------------------------


def track(motion: np.ndarray, probs_at, fps: float = 10.0, window: float = 1.0, hop=0.5):
    """A ScoreTrack over ``len(motion)`` frames; window probabilities ``probs_at(centre)``."""
    duration = len(motion) / fps
    starts = np.arange(0.0, duration - window + 1e-9, hop)
    probs = np.array([probs_at(s + window / 2) for s in starts], np.float32)
    return ScoreTrack(
        ["a", "b", "c"],
        starts,
        starts + window,
        probs,
        np.arange(len(motion)) / fps,
        np.ones(len(motion), bool),
        np.asarray(motion, np.float32),
        duration,
    )


def motion_in(spans, frames=200, fps=10.0, high=2.0):
    motion = np.zeros(frames)
    for low, up in spans:
        motion[round(low * fps) : round(up * fps)] = high
    return motion


def one_hot(k, p=0.9):
    out = np.full(3, (1 - p) / 2)
    out[k] = p
    return out


PLAIN = {"smooth": 1, "motion_smooth": 0.1, "rescore": False}


def test_two_actions_with_a_pause_between_them():
    scores = track(motion_in([(3, 6), (10, 14)]), lambda c: one_hot(0 if c < 8 else 1))
    found = find_segments(scores, DetectOptions(**PLAIN))
    assert [s.label for s in found] == ["a", "b"]
    assert found[0].start == pytest.approx(3.0) and found[0].end == pytest.approx(6.0)
    assert found[1].start == pytest.approx(10.0) and found[1].end == pytest.approx(14.0)
    assert found[0].score == pytest.approx(0.9)


def test_stillness_is_no_action_however_sure_the_model_is():
    scores = track(np.full(200, 0.1), lambda c: one_hot(0, 0.99))
    assert find_segments(scores, DetectOptions(**PLAIN)) == []
    # with the motion gate off the same scores are one long action
    ungated = find_segments(scores, DetectOptions(**PLAIN, motion_threshold=0))
    assert len(ungated) == 1 and ungated[0].label == "a"


def test_an_unsure_model_reports_nothing():
    scores = track(motion_in([(3, 9)]), lambda c: np.array([0.34, 0.33, 0.33]))
    assert find_segments(scores, DetectOptions(**PLAIN, threshold=0.5)) == []
    assert len(find_segments(scores, DetectOptions(**PLAIN, threshold=0.3))) == 1


def test_short_bursts_are_dropped_and_short_gaps_closed():
    scores = track(motion_in([(2, 2.3), (5, 7), (7.2, 9)]), lambda c: one_hot(2))
    found = find_segments(scores, DetectOptions(**PLAIN, min_duration=0.5, merge_gap=0.4))
    assert [(s.start, s.end) for s in found] == [(pytest.approx(5.0), pytest.approx(9.0))]


def test_a_change_of_class_inside_one_movement_splits_it():
    scores = track(motion_in([(2, 12)]), lambda c: one_hot(0 if c < 7 else 1))
    found = find_segments(scores, DetectOptions(**PLAIN))
    assert [s.label for s in found] == ["a", "b"]
    assert found[0].start == pytest.approx(2.0) and found[1].end == pytest.approx(12.0)
    assert 6.0 <= found[0].end == found[1].start <= 8.0


def test_a_flicker_shorter_than_the_minimum_is_merged_away():
    flicker = lambda c: one_hot(1 if 6.25 < c < 6.35 else 0)  # noqa: E731
    scores = track(motion_in([(2, 12)]), flicker, window=0.2, hop=0.1)
    assert scores.probs[:, 1].max() == pytest.approx(0.9)  # one window says "b"
    found = find_segments(scores, DetectOptions(**PLAIN, min_duration=0.5))
    assert [s.label for s in found] == ["a"]


def test_more_labels_per_segment_for_evaluation():
    scores = track(motion_in([(3, 6)]), lambda c: np.array([0.6, 0.3, 0.1]))
    found = find_segments(scores, DetectOptions(**PLAIN, labels_per_segment=2, threshold=0.05))
    assert [(s.label, round(s.score, 3)) for s in found] == [("a", 0.6), ("b", 0.3)]


def test_a_classifier_rescores_whole_segments():
    scores = track(motion_in([(3, 6)]), lambda c: one_hot(0))
    spans = []

    def classify(asked):
        spans.extend(asked)
        return np.array([[0.1, 0.1, 0.8]] * len(asked))

    options = DetectOptions(**{**PLAIN, "rescore": True}, rescore_pad=0.25)
    found = find_segments(scores, options, classify)
    assert [(s.label, s.score) for s in found] == [("c", pytest.approx(0.8))]
    assert spans == [(pytest.approx(2.75), pytest.approx(6.25))]


@pytest.mark.parametrize(
    "bad", [{"threshold": 2}, {"smooth": 0}, {"labels_per_segment": 0}, {"nms_iou": 0}]
)
def test_bad_options_are_config_errors(bad):
    with pytest.raises(ConfigError, match=next(iter(bad))):
        DetectOptions(**bad).validate()


# --- motion and the streaming scorer ------------------------------------------------------


def test_body_motion_by_hand():
    body = np.zeros((30, 15, 2), np.float32)
    body[:, 5, 0] = np.arange(30) * 0.1  # one joint moving 0.1 per frame = 1 per s at 10 fps
    motion = body_motion(body, fps=10.0, scale=0.5)  # speed 2 scale units/s
    # the fastest three joints: 2, 0, 0 -> 2/3 everywhere (ends use one-sided differences)
    np.testing.assert_allclose(motion, 2 / 3, rtol=1e-5)
    assert body_motion(np.zeros((30, 15, 2)), 10.0, 0.5).max() == 0.0


def _still_skeleton(frames: int, fps: float = 10.0) -> Skeleton:
    coords = np.repeat(STANDING[None, None] * 100, frames, axis=1)
    return Skeleton(coords, np.ones(coords.shape[:3]), "coco17", fps, "image")


def test_windows_cover_the_stream_and_its_tail(model):
    stream = SkeletonStream(model, 10.0, "coco17", "image", window=1.0, hop=0.5)
    stream.add_skeleton(_still_skeleton(37))
    scores = stream.finish()
    np.testing.assert_allclose(scores.starts, [0, 0.5, 1.0, 1.5, 2.0, 2.5, 2.7])
    np.testing.assert_allclose(scores.ends, scores.starts + 1.0)
    assert scores.probs.shape == (7, len(CLASSES)) and len(scores.motion) == 37
    assert scores.duration == pytest.approx(3.7)


def test_a_stream_shorter_than_a_window_is_one_window(model):
    stream = SkeletonStream(model, 10.0, "coco17", "image", window=2.0)
    stream.add_skeleton(_still_skeleton(6))
    scores = stream.finish()
    assert scores.starts.tolist() == [0.0] and scores.ends.tolist() == [0.6]


def test_windows_without_a_person_are_not_scored(model):
    skeleton = _still_skeleton(40)
    skeleton.coords[:, 10:30] = np.nan
    stream = SkeletonStream(model, 10.0, "coco17", "image", window=1.0, hop=0.5)
    stream.add_skeleton(skeleton)
    scores = stream.finish()
    # nobody from 1.0 to 3.0 s: windows [0.5, 1.5) and [2.5, 3.5) are half full and still
    # scored; [1.0, 2.0), [1.5, 2.5) and [2.0, 3.0) are empty
    np.testing.assert_allclose(scores.starts, [0, 0.5, 2.5, 3.0])
    assert scores.present.tolist() == [t < 10 or t >= 30 for t in range(40)]


def test_joints_the_model_cannot_see_do_not_count_as_motion(tmp_path):
    """A wrist that MediaPipe places but scores 0.1 (out of the picture) jumps about: that is
    motion for a model that reads every joint, none for one that drops joints under 0.3."""
    skeleton = _still_skeleton(40)
    skeleton.coords[0, :, RIGHT_WRIST, 0] += 30 * np.sin(np.arange(40))  # pixels
    skeleton.scores[0, :, RIGHT_WRIST] = 0.1
    for min_score, moves in ((0.0, True), (0.3, False)):
        path = skeleton_checkpoint(tmp_path / f"m{min_score}.pt", min_score=min_score)
        stream = SkeletonStream(Recognizer.load(path), 10.0, "coco17", "image", window=1.0)
        stream.add_skeleton(skeleton)
        motion = stream.finish().motion
        assert (motion.max() > 1.0) == moves, (min_score, motion.max())
        assert moves or motion.max() == 0.0


class _UniformModel:
    """Stands in for a Recognizer: equal probabilities, fast."""

    class_names = ("a", "b")
    window_seconds = 2.0
    features = type("F", (), {"persons": 1, "min_score": 0.0})()

    def skeleton_scores(self, clips):
        return np.full((len(clips), 2), 0.5, np.float32)


def test_memory_per_frame_is_a_few_hundred_bytes():
    """The stream keeps scores, motion and compact poses per frame, never the frames: the
    growth over 4000 frames is far below the size of even one small video frame each."""
    stream = SkeletonStream(_UniformModel(), 10.0, "coco17", "image", hop=1.9)
    frame = _still_skeleton(1)
    add = lambda: stream.add(frame.coords[:, 0], frame.scores[:, 0])  # noqa: E731
    for _ in range(1000):
        add()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for _ in range(4000):
        add()
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert grown / 4000 < 600  # bytes per frame; a 320x240 RGB frame is 230400
    assert len(stream._buffer) == stream.window


# --- detect() on generated video -------------------------------------------------------


def test_detect_finds_the_movement_between_still_periods(model, clip):
    person = ScriptedPerson(moving=between(3.0, 6.0))
    ticks = []
    result = detect(
        clip, model, estimator=person, threshold=0.0, progress=lambda d, t: ticks.append((d, t))
    )
    assert result.frames == 100 and result.frames_with_person == 100 and not result.warnings
    assert len(result.segments) == 1
    segment = result.segments[0]
    assert segment.label in CLASSES
    assert abs(segment.start - 3.0) <= 0.3 and abs(segment.end - 6.0) <= 0.3
    assert len(ticks) == 100 and ticks[-1][0] == pytest.approx(9.9)
    assert ticks[0][1] == pytest.approx(10.0)


def test_detect_with_nobody_says_so_and_reports_nothing(model, clip):
    result = detect(clip, model, estimator=ScriptedPerson(absent=lambda t: True), threshold=0)
    assert result.segments == [] and result.frames_with_person == 0
    assert "no person" in result.warnings[0]


def test_segments_less_sure_than_the_models_unknown_threshold_are_no_action(clip, tmp_path):
    """A model calibrated for unknown actions drops, by default, the segments it is less sure
    of than its threshold (``predict`` would call such a clip "unknown action"); a threshold
    given by the user still wins."""
    from actscope.checkpoint import load_checkpoint, save_checkpoint
    from actscope.engine.calibration import UnknownRule

    checkpoint = load_checkpoint(skeleton_checkpoint(tmp_path / "tcn.pt"))
    found = {}
    for name, threshold in (("sure", 0.0), ("unsure", 1.01)):
        rule = UnknownRule(threshold=threshold).to_dict()
        save_checkpoint(dict(checkpoint, unknown=rule), tmp_path / f"{name}.pt")
        model = Recognizer.load(tmp_path / f"{name}.pt")
        person = ScriptedPerson(moving=between(3.0, 6.0))
        found[name] = detect(clip, model, estimator=person).segments
        person.reset()
        found[f"{name}, threshold 0"] = detect(clip, model, estimator=person, threshold=0).segments
    assert len(found["sure"]) == 1 and found["unsure"] == []
    assert found["unsure, threshold 0"] == found["sure, threshold 0"] == found["sure"]


def test_detect_keeps_poses_for_rendering_when_asked(model, clip):
    result = detect(clip, model, estimator=ScriptedPerson(), keep_poses=True)
    assert result.skeleton is not None and result.skeleton.num_frames == 100
    assert result.skeleton.layout == "coco17" and result.skeleton.image_size == (96, 72)
    assert detect(clip, model, estimator=ScriptedPerson()).skeleton is None


def test_detect_reads_a_pose_file(model, clip, tmp_path):
    poses = extract_poses(clip, ScriptedPerson(moving=between(3.0, 6.0)))
    poses.save(tmp_path / "poses.npz")
    result = detect(tmp_path / "poses.npz", model, threshold=0.0)
    assert len(result.segments) == 1 and abs(result.segments[0].start - 3.0) <= 0.3


def test_results_are_written_in_each_format(model, clip, tmp_path):
    result = detect(clip, model, estimator=ScriptedPerson(moving=between(3.0, 6.0)), threshold=0)
    for fmt in ("json", "csv", "srt"):
        result.save(tmp_path / f"out.{fmt}")
    document = json.loads((tmp_path / "out.json").read_text())
    assert document["video"] == str(clip) and len(document["segments"]) == 1
    assert set(document["segments"][0]) == {"start", "end", "label", "score"}
    assert read_segments(tmp_path / "out.csv") == read_segments(tmp_path / "out.json")
    srt = (tmp_path / "out.srt").read_text().splitlines()
    assert srt[0] == "1" and " --> " in srt[1] and srt[2].startswith(result.segments[0].label)
    with pytest.raises(ConfigError, match="unknown output format"):
        result.save(tmp_path / "out.txt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "out.json", "out.srt"]


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    """The CLI in this process (its imports are already loaded): exit code, stdout, stderr."""
    from actscope.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    captured = capsys.readouterr()
    return exit_.value.code, captured.out, captured.err


def test_cli_detect_on_a_pose_file(model, clip, tmp_path, capsys):
    poses = extract_poses(clip, ScriptedPerson(moving=between(3.0, 6.0)))
    poses.save(tmp_path / "poses.npz")
    code, stdout, stderr = run_main(
        capsys, "detect", str(tmp_path / "poses.npz"), "-m", model.source, "--srt",
        "--threshold", "0",
    )  # fmt: skip
    assert code == 0, stderr
    assert stdout.startswith("1\n00:00:0") and " --> 00:00:0" in stdout
    code, _, stderr = run_main(
        capsys, "detect", str(tmp_path / "poses.npz"), "-m", model.source, "-o", "x.txt"
    )
    assert code == 2 and "--output" in stderr


# --- untrimmed streams ------------------------------------------------------------------


def _items(count: int, frames: int = 20) -> list[SkeletonItem]:
    rng = np.random.default_rng(7)
    items = []
    for i in range(count):
        coords = rng.normal(0, 0.3, (1, frames, 20, 3)).astype(np.float32) + np.array([i, 0, 3])
        skeleton = Skeleton(coords, np.ones((1, frames, 20)), "kinect_v1_20", 30.0, "world")
        items.append(SkeletonItem(skeleton, i % 3, 1, i, Path(f"seq{i}.mat")))
    return items


def test_untrimmed_streams_hold_each_sequence_once_with_its_true_span():
    items = _items(5)
    stream = make_untrimmed(items, CLASSES, seed=3, pause=(0.5, 1.0), noise=0.002)
    assert len(stream.segments) == 5
    coords = stream.skeleton.coords[0]
    for segment in stream.segments:
        source = items[int(segment.source[3:-4])].skeleton.coords[0]
        first, stop = round(segment.start * 30), round(segment.end * 30)
        assert (
            stop - first == len(source) and segment.label == CLASSES[int(segment.source[3:-4]) % 3]
        )
        # the same frames, moved as a whole (a translation)
        shift = coords[first:stop] - source
        np.testing.assert_allclose(shift, np.broadcast_to(shift[0, 0], shift.shape), atol=1e-5)
    gaps = [b.start - a.end for a, b in zip(stream.segments, stream.segments[1:], strict=False)]
    assert all(0.5 - 1e-9 <= g <= 1.0 + 1e-9 for g in gaps)


def test_untrimmed_streams_are_seeded():
    one = make_untrimmed(_items(6), CLASSES, seed=1)
    again = make_untrimmed(_items(6), CLASSES, seed=1)
    other = make_untrimmed(_items(6), CLASSES, seed=2)
    np.testing.assert_array_equal(one.skeleton.coords, again.skeleton.coords)
    assert [s.source for s in one.segments] != [s.source for s in other.segments]


def test_pauses_are_still_with_small_noise():
    stream = make_untrimmed(_items(3), CLASSES, seed=0, pause=(2.0, 2.0), noise=0.004)
    coords = stream.skeleton.coords[0]
    first_action = round(stream.segments[0].start * 30)
    lead = coords[: first_action - 1]  # the pause before the first action: one pose held
    assert np.std(lead - lead.mean(axis=0)) == pytest.approx(0.004, rel=0.1)
    with pytest.raises(DatasetError, match="no sequences"):
        make_untrimmed([], CLASSES)


# --- real data ---------------------------------------------------------------------------


def test_localisation_on_a_real_utd_mhad_stream(tmp_path):
    """The actionness gate alone (a model with random weights, so labels mean nothing)
    finds the real actions between the pauses of a UTD-MHAD stream."""
    from actscope.datasets import load_utd_mhad

    dataset = load_utd_mhad(shared_path("utd_mhad"))
    subject = dataset.where(lambda r: r.subject == 2).subset(range(24))
    stream = make_untrimmed(list(subject), dataset.class_names, seed=0)
    model = Recognizer.load(skeleton_checkpoint(tmp_path / "m.pt", dataset.class_names, window=2.5))
    result = detect_skeleton(stream.skeleton, model, threshold=0.0)
    spans = np.array([(s.start, s.end) for s in result.segments]).reshape(-1, 2)
    best = [temporal_iou((g.start, g.end), spans).max(initial=0) for g in stream.segments]
    assert np.mean(np.array(best) >= 0.5) >= 0.8
    assert len(result.segments) <= 1.5 * len(stream.segments)


def test_subject_streams_of_utd_mhad():
    from actscope.datasets import load_utd_mhad

    dataset = load_utd_mhad(shared_path("utd_mhad"))
    small = dataset.subset(i for i, r in enumerate(dataset.records) if r.trial == 1)
    streams = subject_streams(small, (2, 4), seed=0)
    assert [s.name for s in streams] == ["utd_mhad_s2", "utd_mhad_s4"]
    assert all(len(s.segments) == 27 for s in streams)
    truth = streams[0].ground_truth()
    assert truth["video"] == "utd_mhad_s2" and len(truth["segments"]) == 27


@pytest.mark.parametrize("case", ["missing", "empty", "text", "truncated"])
def test_bad_input_raises_a_video_error(model, tmp_path, case):
    path = tmp_path / f"{case}.mp4"
    if case == "empty":
        path.write_bytes(b"")
    elif case == "text":
        path.write_text("not a video\n" * 50)
    elif case == "truncated":
        full = write_video(tmp_path / "full.mp4", 60, container_options={"movflags": "faststart"})
        data = full.read_bytes()
        path.write_bytes(data[: len(data) * 6 // 10])
    with pytest.raises(VideoError) as caught:
        detect(path, model, estimator=ScriptedPerson())
    assert str(path) in str(caught.value)
    if case == "truncated":  # what decodes can still be used, when asked for
        assert isinstance(caught.value, CorruptVideoError)
        partial = detect(path, model, estimator=ScriptedPerson(), allow_partial=True)
        assert 0 < partial.frames < 60
