"""predict(): top-k actions of whole videos, batches with bad files, folders, RGB models,
videos without a person, the CLI on a real clip, and the shipped default model."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from actscope.errors import VideoError
from actscope.inference import Recognizer, detect, predict
from actscope.inference.prediction import (
    collect_videos,
    output_path,
    predict_read,
    read_for_model,
)
from actscope.inference.recognizer import default_checkpoint
from realdata import shared_path
from test_detect import ScriptedPerson, between, run_main
from test_recognizer import CLASSES, skeleton_checkpoint, video_checkpoint
from videogen import write_video


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("predict")
    text = folder / "notes.mp4"
    text.write_text("not a video\n" * 100)
    return {
        "model": skeleton_checkpoint(folder / "tcn.pt", window=1.2),
        "rgb": video_checkpoint(folder / "x3d.pt"),
        "clip": write_video(folder / "clip.mp4", 100, fps=10, width=96, height=72),
        "short": write_video(folder / "short.mp4", 40, fps=20, width=64, height=48),
        "text": text,
        "missing": folder / "missing.mp4",
    }


def test_top_k_actions_of_a_video(files):
    person = ScriptedPerson(moving=between(2.0, 8.0))
    [result] = predict(files["clip"], files["model"], top_k=3, estimator=person)
    assert result.ok and result.frames == 100 and result.frames_with_person == 100
    labels = [label for label, _ in result.top]
    assert sorted(labels) == sorted(CLASSES) and result.label == labels[0]
    scores = [score for _, score in result.top]
    assert scores == sorted(scores, reverse=True)
    assert sum(scores) == pytest.approx(1.0, abs=1e-5)  # all 3 classes: a distribution
    # windows of 1.2 s every 0.3 s (a quarter) over 10 s end at 1.2, 1.5, ..., 9.9, and a
    # last one at 10.0 covers the tail: 31 windows
    assert result.windows == 31 and result.duration == pytest.approx(10.0)
    assert json.loads(json.dumps(result.to_dict()))["top"][0]["label"] == result.label


def test_a_video_without_a_person_gives_no_action(files):
    [result] = predict(files["clip"], files["model"], estimator=ScriptedPerson(absent=lambda t: 1))
    assert result.ok and result.top == [] and result.label is None
    assert result.frames_with_person == 0 and "no person" in result.warnings[0]


def test_a_person_seen_too_briefly_gives_no_action(files):
    brief = ScriptedPerson(absent=lambda t: not 40 <= t < 43)
    [result] = predict(files["clip"], files["model"], estimator=brief)
    assert result.top == [] and result.frames_with_person == 3
    assert "only 3 of 100 frames" in result.warnings[0]


def test_one_bad_file_among_many_is_reported_and_skipped(files):
    videos = [files["missing"], files["clip"], files["text"], files["short"]]
    results = predict(videos, files["model"], top_k=2, estimator=ScriptedPerson())
    assert [r.video for r in results] == [str(v) for v in videos]
    assert [r.ok for r in results] == [False, True, False, True]
    assert "no such file" in results[0].error and "not a video" in results[2].error
    assert str(files["text"]) in results[2].error
    assert len(results[1].top) == 2 and len(results[3].top) == 2


def test_folders_are_searched_for_videos(tmp_path):
    write_video(tmp_path / "b.mp4", 3)
    (tmp_path / "sub").mkdir()
    write_video(tmp_path / "sub" / "a.avi", 3, codec="mpeg4")
    (tmp_path / "notes.txt").write_text("x")
    found = collect_videos([tmp_path, tmp_path / "notes.txt"])
    assert found == [
        str(tmp_path / "b.mp4"),
        str(tmp_path / "sub" / "a.avi"),
        str(tmp_path / "notes.txt"),
    ]
    (tmp_path / "empty").mkdir()
    with pytest.raises(VideoError, match="a folder with no video files"):
        collect_videos(tmp_path / "empty")


def test_outputs_for_many_videos_go_into_a_folder(tmp_path):
    assert output_path(tmp_path / "one.mp4", "a/clip.avi", 1, ".mp4") == tmp_path / "one.mp4"
    assert output_path(tmp_path / "out", "a/clip.avi", 2, ".png") == tmp_path / "out" / "clip.png"


def test_an_rgb_model_predicts_from_clips(files):
    [result] = predict(files["short"], files["rgb"], top_k=2, clips=3)
    assert result.ok and len(result.top) == 2 and result.windows == 3
    assert result.frames == 40 and result.frames_with_person is None


def test_an_rgb_model_detects_over_streamed_windows(files):
    result = detect(files["short"], Recognizer.load(files["rgb"]), threshold=0.0)
    scores = result.scores
    # 4 frames 2 apart span 0.4 s; windows every 0.2 s over the 2 s video: 9 of them
    assert scores.motion is None and scores.num_windows == 9
    np.testing.assert_allclose(np.diff(scores.starts), 0.2, atol=1e-6)
    assert all(s.label in CLASSES for s in result.segments)
    assert result.segments and result.segments[0].start == pytest.approx(0.0)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "actscope", *args], capture_output=True, text=True, timeout=300
    )


def test_cli_predict_on_a_real_clip_and_a_bad_file(files, tmp_path):
    """MediaPipe on the NTU RGB+D sample; the bad file is reported, the clip is not lost."""
    clip = shared_path("sample_clips", "S001C001P001R001A001_rgb.avi")
    done = run_cli(
        "predict", str(clip), str(files["text"]), "-m", str(files["model"]), "--json",
        "--render", str(tmp_path / "drawn"), "--timeline", str(tmp_path / "drawn"),
    )  # fmt: skip
    assert done.returncode == 2
    good, bad = json.loads(done.stdout)
    assert good["frames"] == 103 and good["frames_with_person"] >= 95
    assert len(good["top"]) == 3 and good["error"] is None
    assert bad["top"] == [] and "not a video" in bad["error"]
    assert done.stderr.strip().splitlines()[-1].startswith(f"error: {files['text']}")
    drawn = sorted(p.name for p in (tmp_path / "drawn").iterdir())
    assert drawn == ["S001C001P001R001A001_rgb.mp4", "S001C001P001R001A001_rgb.png"]


def test_cli_predict_usage_errors(files, tmp_path):
    two = run_cli("predict", str(files["clip"]), str(files["short"]), "--json", "--csv")
    assert two.returncode == 2 and "--json or --csv" in two.stderr


def test_cli_device_option(files, capsys):
    """--device cpu and auto (the default) name the same actions here; cuda where there is
    none is one line, before any video is read, in predict and in detect."""
    import torch

    video = str(files["short"])
    runs = {
        device: run_main(capsys, "predict", video, "-m", str(files["rgb"]), "--json", *device)
        for device in ((), ("--device", "cpu"), ("--device", "auto"))
    }
    assert all(code == 0 for code, _, _ in runs.values())
    results = [json.loads(out) for _, out, _ in runs.values()]
    for result in results:
        del result[0]["seconds"]
    assert results[0] == results[1] == results[2]
    if torch.cuda.is_available():
        return
    for command in ("predict", "detect"):
        code, out, err = run_main(capsys, command, video, "--device", "cuda")
        assert code == 2 and out == "" and "Traceback" not in err
        assert err.strip() == "error: device 'cuda' asked for but CUDA is not available; use cpu"


def test_the_default_model_answers_honestly_on_the_readme_clip():
    """The README's main-job command, through the API, on the shipped model: the clip shows
    drinking, which is not in the default's vocabulary, so the answer is "unknown action"
    with the nearest known actions."""
    if not default_checkpoint().exists():
        pytest.skip(
            "the default model is not shipped yet (src/actscope/assets/default_skeleton.pt)"
        )
    clip = shared_path("sample_clips", "S001C001P001R001A001_rgb.avi")
    [result] = predict(clip)
    names = Recognizer.load("default").class_names
    assert result.ok and result.frames_with_person >= 95
    assert "drinking" not in names and result.unknown and result.label == "unknown action"
    assert result.top[0][0] in names and 0 < result.top[0][1] <= 1


def _bad_videos(folder: Path) -> list[Path]:
    """Not a video, a truncated mp4 (header first, cut at 60 %), and an mp4 whose frame data
    is all zeros (nothing decodes)."""
    text = folder / "notes.mp4"
    text.write_text("not a video\n" * 100)
    full = write_video(folder / "full.mp4", 60, container_options={"movflags": "faststart"})
    raw = full.read_bytes()
    full.unlink()
    truncated = folder / "truncated.mp4"
    truncated.write_bytes(raw[: len(raw) * 6 // 10])
    payload = raw.find(b"mdat") + 8
    zeroed = folder / "zeroed.mp4"
    zeroed.write_bytes(raw[:payload] + bytes(len(raw) - payload))
    return [text, truncated, zeroed]


def test_cli_bad_videos_are_one_line_each_and_leave_no_output(files, tmp_path, capsys):
    """Three bad files and one video with nobody in it (MediaPipe on generated frames): the
    empty video is reported with no action and a warning, each bad file with one error line,
    exit code 2, no traceback, and nothing drawn for the bad files."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    bad = _bad_videos(inputs)
    empty = write_video(inputs / "empty_room.mp4", 20, fps=10, width=96, height=72)
    out = tmp_path / "out"
    code, _, stderr = run_main(
        capsys, "predict", *map(str, [*bad, empty]), "-m", str(files["model"]),
        "-o", str(out / "predictions.json"), "--render", str(out / "drawn"),
    )  # fmt: skip
    assert code == 2 and "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert [e.split(":")[1].strip() for e in errors] == [str(p) for p in bad]
    assert any("not a video" in e for e in errors) and any("truncated" in e for e in errors)
    warnings = [line for line in lines if line.startswith("warning: empty_room.mp4: no person")]
    assert len(warnings) == 1
    # and the two files written: the JSON and the (empty) video's overlay; nothing else
    assert len(lines) == len(errors) + len(warnings) + 2
    written = json.loads((out / "predictions.json").read_text())
    assert [r["top"] for r in written] == [[], [], [], []]
    assert [r["error"] is None for r in written] == [False, False, False, True]
    assert sorted(p.name for p in (out / "drawn").iterdir()) == ["empty_room.mp4"]


def test_cli_detect_on_a_bad_video_writes_nothing(files, tmp_path, capsys):
    truncated = _bad_videos(tmp_path)[1]
    out = tmp_path / "out"
    out.mkdir()
    code, _, stderr = run_main(
        capsys, "detect", str(truncated), "-m", str(files["model"]),
        "-o", str(out / "found.json"), "--render", str(out / "found.mp4"),
        "--timeline", str(out / "found.png"),
    )  # fmt: skip
    assert code == 2 and "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {truncated}: ")
    assert list(out.iterdir()) == []


def test_the_two_halves_of_predict_give_its_results(files, tmp_path):
    """``read_for_model`` then ``predict_read`` (actscope batch's Ray stages, with the read
    pickled between them) give predict's results exactly: a skeleton model on a video and on
    a poses file, an RGB model on a video."""
    from actscope.pose.estimate import extract_poses

    person = ScriptedPerson(moving=between(2.0, 8.0))
    poses = tmp_path / "poses.npz"
    extract_poses(files["clip"], ScriptedPerson(moving=between(3.0, 6.0))).save(poses)
    for model, video, options in (
        (files["model"], str(files["clip"]), {"estimator": person}),
        (files["model"], str(poses), {}),
        (files["rgb"], str(files["short"]), {"clips": 3}),
    ):
        recognizer = Recognizer.load(model)
        [whole] = predict(video, recognizer, top_k=3, **options)
        read = pickle.loads(pickle.dumps(read_for_model(recognizer, video, **options)))
        halves = predict_read(recognizer, video, read, top_k=3)
        assert whole.ok and whole.top and halves.seconds == 0.0
        assert halves.to_dict() == {**whole.to_dict(), "seconds": 0.0}, video
        assert np.array_equal(halves.scores.probs, whole.scores.probs)
