"""Training a detector on untrimmed recordings with segment labels: the recording folder
format, windows labelled by their centre (an action or background), the background class in
detection, and UTKinect's recordings (real data, skipped when absent)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from actscope.datasets.catalog import evaluation_data, get_dataset, training_data
from actscope.datasets.recordings import (
    BACKGROUND,
    GridWindows,
    Recording,
    RecordingSet,
    RecordingWindows,
    load_recording_folder,
    load_utkinect_recording_set,
    window_seconds,
)
from actscope.datasets.untrimmed import TrueSegment
from actscope.engine.config import DataConfig
from actscope.errors import ConfigError, DatasetError
from actscope.inference import DetectOptions, find_segments
from actscope.inference.scoring import ScoreTrack
from actscope.pose import Skeleton
from realdata import SHARED_DATA, shared_path

CLASSES = ["clap", "wave"]


def recording_skeleton(seconds: float, fps: float = 10.0, start: float = 0.0) -> Skeleton:
    """A body15 world skeleton of ``seconds`` whose every joint's x is the frame's time (so
    a window's frames tell where it was cut from)."""
    times = start + np.arange(round(seconds * fps)) / fps
    coords = np.zeros((1, len(times), 15, 3), np.float32)
    coords[0, :, :, 0] = times[:, None]
    coords[0, :, :, 1] = np.arange(15)[None] / 10  # a body, not a point
    coords[0, :, :, 2] = 2.0
    return Skeleton(coords, np.ones(coords.shape[:3]), "body15", fps, "world", timestamps=times)


def toy_set() -> RecordingSet:
    """Two subjects, one 20 s recording each: clap 2-5 s, wave 9-10 s, background elsewhere."""
    recordings = []
    for subject in (1, 2):
        segments = [TrueSegment(2.0, 5.0, "clap", 0, "a"), TrueSegment(9.0, 10.0, "wave", 1, "b")]
        recordings.append(
            Recording(
                f"r{subject}",
                recording_skeleton(20.0),
                segments,
                subject,
                frozenset({f"loso-s{3 - subject}"}),
            )
        )
    return RecordingSet("toy", recordings, CLASSES, ("loso-s1", "loso-s2"), "loso-s1")


def test_labels_at_a_time_are_the_segment_or_background():
    recording = toy_set().recordings[0]
    recording.segments.append(TrueSegment(4.0, 4.5, "wave", 1, "c"))  # inside clap, shorter
    labels = [recording.label_at(t, 2) for t in (0.0, 2.0, 3.0, 4.2, 5.0, 5.1, 9.5, 19.9)]
    assert labels == [2, 0, 0, 1, 0, 2, 1, 2]


def test_split_by_the_set_s_own_protocols_and_subjects():
    recordings = toy_set()
    train, test = recordings.split("loso-s1")
    assert [r.subject for r in train.recordings] == [2] and [
        r.subject for r in test.recordings
    ] == [1]
    assert [r.subject for r in recordings.split("")[1].recordings] == [1]  # the default
    assert [r.subject for r in recordings.split("subjects=1")[0].recordings] == [1]
    with pytest.raises(ConfigError, match="unknown protocol 'fold1' for toy; known: loso-s1"):
        recordings.split("fold1")
    assert recordings.model_classes == ["clap", "wave", BACKGROUND]


def test_training_windows_are_centred_on_what_they_are_labelled():
    recordings = toy_set()
    windows = RecordingWindows(recordings, lambda s: s, 2.0, per_second=1.0, background_share=0.3)
    assert len(windows) == 40  # 1 window per second of the two 20 s recordings
    np.random.seed(0)
    labels = []
    for _ in range(600):
        state = np.random.get_state()
        recording, center = windows.draw()
        np.random.set_state(state)  # the same draw again, through __getitem__
        window, label = windows[0]
        assert label == recording.label_at(center, 2)
        # the joints' x is the frame's time: the window was cut around its centre
        times = window.times
        assert window.coords[0, 0, 0, 0] == pytest.approx(times[0])
        assert 1.9 <= window.duration <= 2.1
        assert (times[0] + times[-1]) / 2 == pytest.approx(min(max(center, 1.0), 19.0), abs=0.06)
        labels.append(label)
    counts = np.bincount(labels, minlength=3) / len(labels)
    assert counts[2] == pytest.approx(0.3, abs=0.06)  # background_share
    assert counts[0] == pytest.approx(counts[1], abs=0.08)  # segments drawn uniformly


def test_grid_windows_cover_each_recording_every_hop():
    recordings = toy_set()
    grid = GridWindows(recordings.split("loso-s1")[1], lambda s: s, 2.0, hop=0.5)
    # centres 1.0, 1.5, ..., 19.0 s of the one 20 s test recording
    assert len(grid) == 37
    labels = [grid[i][1] for i in range(len(grid))]
    centres = [1.0 + 0.5 * i for i in range(37)]
    expected = [0 if 2 <= c <= 5 else 1 if 9 <= c <= 10 else 2 for c in centres]
    assert labels == expected


def test_window_seconds_default_to_the_median_segment():
    assert window_seconds(toy_set(), {}) == 2.0  # durations 3, 1, 3, 1 s: median 2
    assert window_seconds(toy_set(), {"window_seconds": 3.2}) == 3.2


def write_folder(root: Path, rows: list[str], seconds: float = 20.0) -> Path:
    (root / "rec").mkdir(parents=True, exist_ok=True)
    for name in ("a", "b", "c"):
        recording_skeleton(seconds).save(root / "rec" / f"{name}.npz")
    (root / "segments.csv").write_text("file,label,start,end,subject\n" + "\n".join(rows) + "\n")
    return root


FOLDER_ROWS = [
    "rec/a.npz,clap,2,5,1",
    "rec/a.npz,wave,9,10.5,1",
    "rec/b.npz,wave,3,6,2",
    "rec/b.npz,clap,12,14,2",
    "rec/c.npz,clap,1,3,3",
    "rec/c.npz,wave,8,11,3",
]


def test_a_recording_folder_loads_with_leave_one_subject_out(tmp_path):
    recordings = load_recording_folder(write_folder(tmp_path, FOLDER_ROWS))
    assert recordings.class_names == CLASSES
    assert recordings.protocols == ("loso-s1", "loso-s2", "loso-s3")
    assert [len(r.segments) for r in recordings.recordings] == [2, 2, 2]
    train, test = recordings.split("loso-s2")
    assert [r.name for r in test.recordings] == ["b"] and len(train) == 2
    assert recordings.recordings[0].segments[1].end == 10.5


@pytest.mark.parametrize(
    ("rows", "needle"),
    [
        (["rec/a.npz,clap,5,2,1"], "end after it starts"),
        (["rec/a.npz,background,1,2,1"], "'background' is not a label"),
        (["rec/x.npz,clap,1,2,1"], "does not exist"),
        (["../a.npz,clap,1,2,1"], "outside the folder"),
        (["rec/a.npz,clap,1,2,1", "rec/a.npz,wave,3,4,2"], "subjects [1, 2]"),
        (["rec/a.npz,clap,40,45,1"], "lies outside"),
        (["rec/a.npz,clap,one,2,1"], "must be seconds"),
    ],
)
def test_bad_segment_files_are_one_line_errors(tmp_path, rows, needle):
    with pytest.raises(DatasetError) as error:
        load_recording_folder(write_folder(tmp_path, rows))
    assert needle in str(error.value) and "\n" not in str(error.value)


def test_training_data_of_a_recording_folder(tmp_path):
    root = write_folder(tmp_path, FOLDER_ROWS)
    data = DataConfig("recording-folder", str(root), "loso-s3", {"window_seconds": 2.0})
    made = training_data(data, "tcn")
    assert made.class_names == ["clap", "wave", BACKGROUND]
    assert made.input_spec.window_seconds == 2.0 and made.model_kwargs["in_channels"] == 3
    assert isinstance(made.train, RecordingWindows) and len(made.test) == 37
    with pytest.raises(ConfigError, match="unknown data option"):
        training_data(DataConfig("recording-folder", str(root), "", {"windw": 2}), "tcn")
    windows, classes = evaluation_data("recording-folder", str(root), "loso-s3", made.input_spec)
    assert classes == made.class_names and len(windows) == 37


# --- the background class in detection ---------------------------------------------------


def background_track(background: np.ndarray, action: np.ndarray) -> ScoreTrack:
    """Windows one per 0.1 s (1 s long, centred on each frame) with probabilities
    ``background`` for background and ``action`` (0 clap, 1 wave) for the rest."""
    frames = len(background)
    times = np.arange(frames) / 10
    probs = np.zeros((frames, 3), np.float32)
    probs[np.arange(frames), action] = 1 - background
    probs[:, 2] = background
    return ScoreTrack(
        class_names=[*CLASSES, BACKGROUND],
        starts=times - 0.5,
        ends=times + 0.5,
        probs=probs,
        times=times,
        present=np.ones(frames, bool),
        motion=np.zeros(frames, np.float32),  # no motion at all: the gate is the model's
        duration=frames / 10,
    )


def test_detection_reads_the_background_class_as_no_action():
    background = np.full(100, 0.9)
    background[20:50] = 0.2  # clap from 2.0 to 5.0 s
    background[60:70] = 0.3  # wave from 6.0 to 7.0 s
    action = np.where(np.arange(100) < 55, 0, 1)
    track = background_track(background, action)
    options = DetectOptions(smooth=1, threshold=0.0, motion_threshold=0.0, min_duration=0.3)
    found = find_segments(track, options)
    assert [(round(s.start, 2), round(s.end, 2), s.label) for s in found] == [
        (2.0, 5.0, "clap"),
        (6.0, 7.0, "wave"),
    ]
    assert found[0].score == pytest.approx(0.8) and found[1].score == pytest.approx(0.7)
    # background is never a label, even when every label is asked for
    every = find_segments(track, DetectOptions(smooth=1, threshold=0.0, motion_threshold=0.0,
                                               labels_per_segment=3))  # fmt: skip
    assert sorted(s.label for s in every) == ["clap", "clap", "wave", "wave"]
    # a stricter actionness threshold drops the less certain action
    strict = find_segments(
        track, DetectOptions(smooth=1, motion_threshold=0.0, action_threshold=0.75)
    )
    assert [s.label for s in strict] == ["clap"]


def test_centre_scores_interpolate_between_window_centres():
    track = background_track(np.zeros(5), np.zeros(5, int))
    track.starts, track.ends = np.array([0.0, 0.2]), np.array([0.2, 0.4])  # centres 0.1, 0.3
    track.probs = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], np.float32)
    scores = track.center_scores()
    np.testing.assert_allclose(scores[:, 0], [1.0, 1.0, 0.5, 0.0, 0.0], atol=1e-6)


# --- UTKinect's recordings (real data) ---------------------------------------------------


@pytest.mark.real_data
def test_utkinect_recordings_as_a_training_set():
    recordings = load_utkinect_recording_set(shared_path("utkinect_dev"))
    assert len(recordings) == 10 and recordings.protocols[0] == "loso-s1"
    train, test = recordings.split("loso-s5")
    assert {r.subject for r in test.recordings} == {5} and len(train) == 8
    assert sum(len(r.segments) for r in recordings.recordings) == 100
    assert 3.5 <= window_seconds(train, {}) <= 4.5  # the median labelled action lasts ~4 s
    entry = get_dataset("utkinect-recordings")
    assert entry.folder == "utkinect_dev"


@pytest.mark.real_data
def test_train_on_utkinect_recordings_then_detect_from_the_command_line(tmp_path):
    """Two epochs on four subjects' recordings: the model has a background class and
    ``actscope detect`` runs on a left-out recording saved as a world-only poses file."""
    folder = shared_path("utkinect_dev")
    env = {**os.environ, "ACTSCOPE_DATA": str(SHARED_DATA)}

    def cli(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "actscope", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)

    out = tmp_path / "run"
    trained = cli(
        "train", "--dataset", "utkinect-recordings", "--protocol", "loso-s9",
        "--epochs", "2", "--out", str(out), "threads=1", "progress=false",
        "data.options.windows_per_second=0.2",
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert "recipe: in-domain" in trained.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["test"]["num_samples"] > 400  # windows every 0.5 s of two recordings
    recording = next(r for r in load_utkinect_recording_set(folder).recordings if r.subject == 9)
    poses = tmp_path / "s09.npz"
    recording.skeleton.save(poses)
    found = cli("detect", str(poses), "-m", str(out / "model.pt"), "--json")
    assert found.returncode == 0, found.stderr[-2000:]
    result = json.loads(found.stdout)
    assert result["frames_with_person"] > 0.9 * result["frames"]
    assert all(s["label"] != BACKGROUND for s in result["segments"])
