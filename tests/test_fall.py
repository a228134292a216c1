"""Fall detection: real falls (UR Fall), synthetic falls and near-falls made from real
standing poses (3D, and projected to 2D COCO keypoints with scores), real sitting,
squatting, bending and push-up sequences, recordings that end just after a fall, noisy
lying keypoints, and the command line."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from actscope.apps.fall import FallConfig, FallDetector, body_track, detect_falls
from actscope.apps.fall_synth import SCENARIOS, project_to_image, synthesize
from actscope.pose import Skeleton
from actscope.pose.layouts import BODY15
from realdata import shared_path
from videogen import write_video

# A standing person in body15 world coordinates (metres; x right, y up, z towards the
# camera), measured off a Kinect frame and rounded; used where no real data is needed.
STANDING = np.array(
    [
        [0.00, 1.62, 0.00],  # head
        [0.00, 1.42, 0.00],  # neck
        [0.00, 0.95, 0.00],  # pelvis
        [0.18, 1.40, 0.00], [0.22, 1.12, 0.02], [0.24, 0.86, 0.05],  # left arm
        [-0.18, 1.40, 0.00], [-0.22, 1.12, 0.02], [-0.24, 0.86, 0.05],  # right arm
        [0.10, 0.92, 0.00], [0.11, 0.50, 0.02], [0.11, 0.08, 0.00],  # left leg
        [-0.10, 0.92, 0.00], [-0.11, 0.50, 0.02], [-0.11, 0.08, 0.00],  # right leg
    ],
    np.float32,
)  # fmt: skip


def standing(seconds: float = 3.0, fps: float = 30.0) -> Skeleton:
    """The standing pose swaying a little, as a body15 world skeleton 3 m from the camera."""
    frames = round(seconds * fps)
    sway = 0.02 * np.sin(np.linspace(0, 4 * np.pi, frames))[:, None, None] * np.array([1, 0, 0])
    coords = (STANDING + sway + np.array([0, 0, -3.0]))[None].astype(np.float32)
    return Skeleton(coords, np.ones(coords.shape[:3]), BODY15.name, fps, "world", "stand")


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_made_up_standing_pose_falls_and_does_not(scenario):
    """Without any dataset: only the fall raises an alert, timed at the impact."""
    rng = np.random.default_rng(1)
    for _ in range(3):
        made = synthesize(standing(), scenario, rng)
        alerts = detect_falls(made.skeleton)
        if scenario == "fall":
            assert len(alerts) == 1
            assert alerts[0].time == pytest.approx(made.ends, abs=0.35)
            assert alerts[0].onset == pytest.approx(made.begins, abs=0.35)
            assert 0.5 <= alerts[0].confidence < 1.0  # clear falls pass every check widely
            assert alerts[0].confirmed > alerts[0].time
        else:
            assert alerts == []


def test_the_same_fall_in_coco_image_keypoints_with_scores():
    rng = np.random.default_rng(2)
    made = synthesize(standing(), "fall", rng)
    image = project_to_image(made.skeleton, rng)
    assert image.layout == "coco17" and image.space == "image"
    ankles_y = image.coords[0, :, 15:17, 1]
    shoulders_y = image.coords[0, :, 5:7, 1]
    assert (shoulders_y[0] < ankles_y[0]).all()  # pixels, y down: standing at first
    assert ((image.coords[..., 0] > 0) & (image.coords[..., 0] < 640))[..., 5:].all()
    alerts = detect_falls(image)
    assert len(alerts) == 1 and alerts[0].time == pytest.approx(made.ends, abs=0.35)


def test_missing_joints_and_nobody_raise_no_alert():
    rng = np.random.default_rng(3)
    made = synthesize(standing(), "fall", rng)
    blind = made.skeleton.replace(
        coords=np.where(
            np.arange(made.skeleton.num_frames)[None, :, None, None] > 50,
            np.nan,
            made.skeleton.coords,
        )
    )  # the person leaves the picture as the fall begins
    assert detect_falls(blind) == []
    empty = Skeleton.empty("coco17", 100, 30.0, "image")
    assert detect_falls(empty) == []


def test_stricter_thresholds_turn_a_fall_down():
    rng = np.random.default_rng(4)
    made = synthesize(standing(), "fall", rng)
    assert detect_falls(made.skeleton)
    assert detect_falls(made.skeleton, FallConfig(min_speed=50.0)) == []
    # in 3D the upper body of a person on the floor is never below the floor
    assert detect_falls(made.skeleton, FallConfig(low=-0.2)) == []


def test_streaming_detector_agrees_with_the_offline_one():
    rng = np.random.default_rng(5)
    made = synthesize(standing(), "fall", rng)
    coords, scores = body_track(made.skeleton)
    detector = FallDetector()
    streamed = [
        alert
        for t, time in enumerate(made.skeleton.times)
        if (alert := detector.update(float(time), coords[0, t], scores[0, t])) is not None
    ]
    assert [a.time for a in streamed] == [a.time for a in detect_falls(made.skeleton)]


def test_live_analyser_raises_one_fall_event_with_skipped_frames():
    from actscope.apps.fall import FallAnalyzer
    from actscope.live import PoseSample

    rng = np.random.default_rng(9)
    made = synthesize(standing(), "fall", rng)
    image = project_to_image(made.skeleton, rng)
    analyzer = FallAnalyzer()
    blank = np.zeros((480, 640, 3), np.uint8)
    events, lines = [], []
    kept = [t for t in range(image.num_frames) if rng.random() > 0.3]  # a third skipped
    for batch in np.array_split(np.array(kept), len(kept) // 3):
        samples = [
            PoseSample(int(t), float(image.times[t]), 0.0, blank, "coco17",
                       image.coords[0, t], image.scores[0, t])
            for t in batch
        ]  # fmt: skip
        analysis = analyzer.update(samples)
        events += analysis.events
        lines += analysis.lines
    assert [e["event"] for e in events] == ["fall"]
    assert events[0]["time"] == pytest.approx(made.ends, abs=0.4)
    assert lines[0] == "no fall" and lines[-1].startswith("FALL at")


def test_a_recording_that_ends_just_after_the_fall_still_alerts():
    """The person has only just reached the floor when the recording ends: the alert comes
    at its end, marked incomplete; a recording that ends during the descent gives none."""
    rng = np.random.default_rng(11)
    made = synthesize(standing(), "fall", rng)
    end = made.ends + 0.2
    cut = made.skeleton.slice_time(0.0, end)
    [alert] = detect_falls(cut)
    assert not alert.complete and alert.lying < 0.5
    assert alert.confirmed == pytest.approx(cut.times[-1])
    assert alert.time == pytest.approx(made.ends, abs=0.35)
    assert alert.confidence < detect_falls(made.skeleton)[0].confidence
    during = made.skeleton.slice_time(0.0, made.begins + 0.3 * (made.ends - made.begins))
    assert detect_falls(during) == []


def test_the_live_analyser_reports_a_fall_at_the_end_of_the_stream():
    from actscope.apps.fall import FallAnalyzer
    from actscope.live import PoseSample

    rng = np.random.default_rng(12)
    made = synthesize(standing(), "fall", rng)
    image = project_to_image(made.skeleton, rng).slice_time(0.0, made.ends + 0.3)
    analyzer = FallAnalyzer()
    blank = np.zeros((480, 640, 3), np.uint8)
    samples = [
        PoseSample(t, float(image.times[t]), 0.0, blank, "coco17", image.coords[0, t],
                   image.scores[0, t])
        for t in range(image.num_frames)
    ]  # fmt: skip
    assert analyzer.update(samples).events == []  # not lying long enough to be sure
    [event] = analyzer.finish(float(image.times[-1]))
    assert event["event"] == "fall" and event["complete"] is False
    assert analyzer.finish(float(image.times[-1])) == []  # reported once


def test_a_pose_that_jumps_away_after_the_fall_is_not_the_person():
    """After the impact the estimator locks onto something standing 2 m away (as in UR
    Fall's fall-13): that is not the person getting up, so the fall is still reported."""
    rng = np.random.default_rng(13)
    made = synthesize(standing(), "fall", rng)
    coords = made.skeleton.coords.copy()
    after = made.skeleton.times > made.ends + 0.1
    coords[0, after] = STANDING + np.array([2.0, 0.0, -3.0])  # a still, standing figure
    ghost = made.skeleton.replace(coords=coords).slice_time(0.0, made.ends + 0.9)
    [alert] = detect_falls(ghost)
    assert alert.time == pytest.approx(made.ends, abs=0.35)
    # getting back up where the person lay, over 1.5 s (as people do), is no fall
    coords = made.skeleton.coords.copy()
    lying = coords[0, after][0]
    standing_there = STANDING + made.skeleton.coords[0, 0, 2] * np.array([1, 0, 1])
    rise = np.clip((made.skeleton.times[after] - made.ends - 0.1) / 1.5, 0, 1)
    coords[0, after] = lying + rise[:, None, None] * (standing_there - lying)
    assert detect_falls(made.skeleton.replace(coords=coords)) == []


# --- from real standing poses ---------------------------------------------------------------


def real_standing_poses() -> list[Skeleton]:
    """UTD-MHAD arm actions performed standing (actions 1-10), one trial per subject."""
    from actscope.datasets.utd_mhad import read_utd_mhad_skeleton

    folder = shared_path("utd_mhad", "Skeleton")
    return [
        read_utd_mhad_skeleton(folder / f"a{action}_s{subject}_t1_skeleton.mat")
        for action in range(1, 11)
        for subject in (1, 4, 6, 8)
    ]


@pytest.mark.real_data
def test_precision_and_recall_on_synthetic_sequences_from_real_poses():
    bases = real_standing_poses()
    rng = np.random.default_rng(7)
    found = {(scenario, view): [] for scenario in SCENARIOS for view in ("3d", "2d")}
    for _ in range(12):
        for scenario in SCENARIOS:
            made = synthesize(bases[rng.integers(len(bases))], scenario, rng)
            for view in ("3d", "2d"):
                skeleton = made.skeleton if view == "3d" else project_to_image(made.skeleton, rng)
                alerts = detect_falls(skeleton)
                found[(scenario, view)].append(alerts)
                if scenario == "fall" and alerts:
                    assert alerts[0].time == pytest.approx(made.ends, abs=0.5)
    for view in ("3d", "2d"):
        hits = sum(bool(a) for a in found[("fall", view)])
        false_alarms = sum(bool(a) for s in SCENARIOS[1:] for a in found[(s, view)])
        recall = hits / 12
        precision = hits / max(1, hits + false_alarms)
        assert recall >= 0.85, (view, recall)
        assert precision >= 0.95, (view, precision, false_alarms)


@pytest.mark.real_data
def test_no_alarm_on_real_sitting_squatting_and_bending():
    from actscope.datasets.msr_action3d import read_msr_skeleton
    from actscope.datasets.utd_mhad import read_utd_mhad_skeleton

    utd = shared_path("utd_mhad", "Skeleton")
    msr = shared_path("msr_action3d")
    # UTD-MHAD: 21 pick up and throw, 24 sit to stand, 25 stand to sit, 27 squat
    sequences = [
        read_utd_mhad_skeleton(p)
        for a in (21, 24, 25, 27)
        for p in sorted(utd.glob(f"a{a}_s*_t*_skeleton.mat"))
    ]
    # MSR Action3D: 13 bend, 20 pickup and throw
    sequences += [
        read_msr_skeleton(p)
        for a in (13, 20)
        for p in sorted(msr.glob(f"a{a:02d}_s*_e*_skeleton3D.txt"))
    ]
    sequences = [s for s in sequences if s.num_frames > 10]
    assert len(sequences) > 150
    alarms = [s.source for s in sequences if detect_falls(s)]
    assert alarms == []


@pytest.mark.real_data
def test_no_alarm_on_real_pushup_videos_in_2d():
    """People going down to the floor on purpose, seen by a camera: MoveNet's COCO keypoints
    with scores of all 261 push-up clips."""
    import csv

    from actscope.apps.pushup_form import read_movenet_json

    root = shared_path("pushup_form")
    with open(root / "labels.tsv") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    alarms = [
        row["video"]
        for row in rows
        if detect_falls(read_movenet_json(root / row["movenet_json"], float(row["fps"])))
    ]
    assert len(rows) == 261 and alarms == []


# --- real falls: UR Fall (2D keypoints of real recordings) ---------------------------------


def urfall(name: str):
    """One sequence of ``urfall_dev`` (skips when the data is absent)."""
    from actscope.datasets.urfall import load_urfall

    return next(s for s in load_urfall(shared_path("urfall_dev")) if s.name == name)


def falling_starts(sequence) -> float:
    """Time (s) of the first frame labelled "falling"."""
    return float(np.flatnonzero(sequence.labels == 1)[0] / sequence.skeleton.fps)


def test_urfall_reader_pixels_time_labels_and_bad_files(tmp_path):
    """A made-up file in UR Fall's format: coordinates come back in pixels of 640x480,
    skipped frame ids stay as empty frames (time is kept), duplicates keep the first row."""
    from actscope.datasets.urfall import FILE_JOINTS, load_urfall, read_urfall_csv
    from actscope.errors import DatasetError

    names = ["Nose", "LShoulder", "RShoulder", "LElbow", "RElbow", "LWrist", "RWrist"]
    names += ["LHip", "RHip", "LKnee", "RKnee", "LAnkle", "RAnkle"]
    header = ["video", "frame", *[f"{n}{a}" for n in names for a in ("_x", "_y", "_s")], "label"]

    def row(video, frame, x, label):
        return [video, str(frame), *[f"{v}" for _ in names for v in (x, 0.5, 0.9)], str(label)]

    lines = [
        header,
        row("fall-02", 5, 0.5, 0),
        row("fall-02", 6, 0.25, 1),
        row("fall-02", 6, 0.9, 0),
    ]
    lines += [row("fall-02", 8, 0.75, 2), row("fall-04", 3, 0.1, 0)]
    path = tmp_path / "urfd.csv"
    path.write_text("\n".join(",".join(r) for r in lines) + "\n")
    first, second = read_urfall_csv(path)
    assert second.name == "fall-04" and second.skeleton.num_frames == 1
    assert first.name == "fall-02" and first.first_frame == 5
    assert first.skeleton.layout == "coco17" and first.skeleton.fps == 30.0
    assert first.labels.tolist() == [0, 1, -1, 2]  # frame 7 is absent; frame 6 kept first
    nose = first.skeleton.coords[0, :, 0]
    assert nose[1].tolist() == [160.0, 240.0] and np.isnan(nose[2]).all()
    assert np.isnan(first.skeleton.coords[0, :, 1:5]).all()  # eyes and ears: not in the file
    assert first.first_lying == pytest.approx(3 / 30) and len(FILE_JOINTS) == 13
    assert [s.name for s in load_urfall(tmp_path)] == ["fall-02", "fall-04"]
    path.write_text("video,frame,label\nfall-02,5,0\n")
    with pytest.raises(DatasetError, match="not a URFD keypoint CSV"):
        read_urfall_csv(path)
    with pytest.raises(DatasetError, match="no such file"):
        read_urfall_csv(tmp_path / "missing.csv")


@pytest.mark.real_data
def test_a_real_fall_alerts_once_after_the_person_is_down():
    fall = urfall("fall-01")  # 1.6 s on the floor after the fall
    [alert] = detect_falls(fall.skeleton)
    assert alert.complete and alert.lying >= 1.0
    assert falling_starts(fall) <= alert.time <= fall.first_lying + 0.5
    assert fall.first_lying <= alert.confirmed <= fall.first_lying + 1.5


@pytest.mark.real_data
def test_urfall_dev_floors_recall_and_delay():
    """The issue's floors on the 15 dev falls (the thresholds were checked on them too)."""
    from actscope.datasets.urfall import load_urfall

    sequences = load_urfall(shared_path("urfall_dev"))
    found = {s.name: detect_falls(s.skeleton) for s in sequences}
    long = [s for s in sequences if s.lying_after >= 1.0]
    delays = [found[s.name][0].confirmed - s.first_lying for s in sequences if found[s.name]]
    assert len(sequences) == 15 and len(long) >= 5
    assert sum(bool(found[s.name]) for s in sequences) >= 0.9 * 15
    assert sum(bool(found[s.name]) for s in long) >= 0.9 * len(long)
    assert np.median(delays) < 1.5
    assert all(len(a) <= 1 for a in found.values())


@pytest.mark.real_data
def test_a_real_recording_that_ends_just_after_the_fall_still_alerts():
    fall = urfall("fall-01")
    cut = fall.skeleton.slice_time(0.0, fall.first_lying + 0.1)
    [alert] = detect_falls(cut)
    assert not alert.complete and alert.confirmed == pytest.approx(cut.times[-1])
    assert falling_starts(fall) <= alert.time <= fall.first_lying + 0.1
    # ended while the person was still going down: nothing to confirm
    assert detect_falls(fall.skeleton.slice_time(0.0, falling_starts(fall) + 0.3)) == []


@pytest.mark.real_data
def test_noisy_real_lying_keypoints_still_alert():
    """A real lying pose with every joint jumping by about a tenth of the frame between
    frames and scores of 0.1-0.3 (as estimators see people on the floor) after a real
    fall; the same noise on the real standing pose raises nothing."""
    fall = urfall("fall-11")
    skeleton, rng = fall.skeleton, np.random.default_rng(0)
    lying = np.flatnonzero(fall.labels == 2)
    best = lying[np.argmax(skeleton.scores[0, lying].mean(axis=1))]  # a real lying frame
    first = int(lying[0])

    def noisy(pose: np.ndarray, frames: int) -> tuple[np.ndarray, np.ndarray]:
        coords = pose + rng.normal(0, 0.07 * 480, (frames, *pose.shape))
        scores = rng.uniform(0.1, 0.3, coords.shape[:2])
        return coords, np.where(np.isnan(coords[..., 0]), 0, scores)

    coords, scores = noisy(skeleton.coords[0, best], 45)
    jumps = np.linalg.norm(np.diff(coords, axis=0), axis=-1)
    assert np.nanmedian(jumps) > 0.08 * 480  # really a tenth of the frame
    made = skeleton.replace(
        coords=np.concatenate([skeleton.coords[0, :first], coords])[None],
        scores=np.concatenate([skeleton.scores[0, :first], scores])[None],
    )
    [alert] = detect_falls(made)
    assert alert.complete and alert.confirmed < made.times[-1]
    coords, scores = noisy(skeleton.coords[0, 10], 90)
    standing_noise = skeleton.replace(
        coords=np.concatenate([skeleton.coords[0, :30], coords])[None],
        scores=np.concatenate([skeleton.scores[0, :30], scores])[None],
    )
    assert detect_falls(standing_noise) == []


@pytest.mark.real_data
def test_real_front_view_pushups_misread_as_standing_raise_no_alarm():
    """MoveNet takes the arms of these front-view push-ups for legs, so the person seems to
    stand and drop to the floor again and again (earlier versions alarmed on both)."""
    from actscope.apps.pushup_form import read_movenet_json

    root = shared_path("pushup_form", "movenet")
    for name, fps in (("wrong/wrong118.json", 30.0), ("correct/correct138.json", 29.97)):
        assert detect_falls(read_movenet_json(root / name, fps)) == []


# --- command line ---------------------------------------------------------------------------


def run_fall(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "actscope", "fall", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_reports_the_fall_in_a_poses_file(tmp_path):
    rng = np.random.default_rng(8)
    made = synthesize(standing(), "fall", rng)
    project_to_image(made.skeleton, rng).save(tmp_path / "fall.npz")
    result = run_fall(str(tmp_path / "fall.npz"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("fall at ") and "confidence" in result.stdout
    result = run_fall(str(tmp_path / "fall.npz"), "--json")
    alerts = json.loads(result.stdout)
    assert len(alerts) == 1 and alerts[0]["event"] == "fall"
    assert alerts[0]["time"] == pytest.approx(made.ends, abs=0.35)


def test_cli_video_with_nobody_in_it(tmp_path):
    video = write_video(tmp_path / "empty.mp4", 20, fps=10, width=96, height=64)
    result = run_fall(str(video))
    assert result.returncode == 0, result.stderr
    assert "nobody in view" in result.stderr
    assert result.stdout.startswith("no fall in 2.0 s (a person in view in 0%")
