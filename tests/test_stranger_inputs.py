"""What a stranger broke, probed as a new user would (issue 13, item 8): every case gives one
clear line and loses nothing, through the CLI and the Python API."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest

import actscope
from actscope.errors import ActscopeError, DatasetError, OutputError, VideoArgumentError
from actscope.files import check_writable
from actscope.inference.detection import DetectOptions, find_segments
from actscope.inference.scoring import ScoreTrack, moving_average
from realdata import shared_path
from videogen import write_video


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "actscope", *args], capture_output=True, text=True, timeout=timeout
    )


def one_error_line(result: subprocess.CompletedProcess) -> str:
    """The single ``error:`` line of a failed command (exit code 2, no traceback)."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


# --- a clip of exactly two windows ------------------------------------------------------


@pytest.mark.parametrize("rows", [1, 2, 3, 7])
@pytest.mark.parametrize("size", [2, 3, 4, 9])
def test_moving_average_keeps_the_shape_and_averages_neighbours(rows, size):
    values = np.arange(rows * 2, dtype=np.float32).reshape(rows, 2)
    smoothed = moving_average(values, size)
    assert smoothed.shape == values.shape
    for i in range(rows):  # row i averages rows i - size // 2 .. i + (size - 1) // 2
        low, high = max(0, i - size // 2), min(rows, i + (size - 1) // 2 + 1)
        np.testing.assert_allclose(smoothed[i], values[low:high].mean(axis=0))


def test_segments_of_a_track_with_two_windows():
    times = np.arange(75) / 30.0
    track = ScoreTrack(
        class_names=["wave", "clap"],
        starts=np.array([0.0, 0.5]),
        ends=np.array([2.0, 2.5]),
        probs=np.array([[0.9, 0.1], [0.8, 0.2]], np.float32),
        times=times,
        present=np.ones(75, bool),
        motion=np.ones(75, np.float32),
        duration=2.5,
    )
    segments = find_segments(track, DetectOptions(smooth=3))
    assert [s.label for s in segments] == ["wave"]
    assert segments[0].start == 0.0 and segments[0].end == pytest.approx(2.5)


@pytest.fixture(scope="module")
def two_windows(tmp_path_factory) -> Path:
    """The first 75 frames (2.5 s) of the real sample clip ``test.mp4``."""
    source = shared_path("sample_clips", "test.mp4")
    target = tmp_path_factory.mktemp("cut") / "first75.mp4"
    with av.open(str(source)) as inp, av.open(str(target), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 340, 256, "yuv420p"
        for index, frame in enumerate(inp.decode(video=0)):
            if index == 75:
                break
            image = frame.to_ndarray(format="rgb24")
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode(None))
    return target


def test_detect_on_a_clip_of_two_windows(two_windows, tmp_path):
    found = actscope.detect(two_windows)
    assert found.scores.num_windows == 2
    assert found.duration == pytest.approx(2.5, abs=0.05)
    result = run_cli("detect", str(two_windows), "--json", "-o", str(tmp_path / "found.json"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "found.json").is_file()


# --- outputs that cannot be written -----------------------------------------------------


@pytest.fixture
def unwritable(tmp_path):
    """Per suffix, a path below a regular file (never writable), and, where the file system
    lets this test make one, an immutable file."""
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    paths: dict[str, list[Path]] = {}
    for suffix in (".json", ".mp4"):
        paths[suffix] = [blocker / f"out{suffix}"]
        frozen = tmp_path / f"frozen{suffix}"
        frozen.write_text("old")
        if subprocess.run(["chattr", "+i", str(frozen)], capture_output=True).returncode == 0:
            paths[suffix].append(frozen)
    yield paths
    for path in tmp_path.glob("frozen.*"):
        subprocess.run(["chattr", "-i", str(path)], capture_output=True)


def test_unwritable_outputs_are_refused_before_the_work(unwritable, videos):
    for path in unwritable[".json"]:
        with pytest.raises(OutputError, match="cannot be written"):
            check_writable(path)
        started = time.perf_counter()
        result = run_cli("predict", str(videos["h264_mp4"]), "--json", "-o", str(path))
        line = one_error_line(result)
        assert str(path) in line and "cannot be written" in line
        assert time.perf_counter() - started < 30  # refused at once, not after the model ran
    for path in unwritable[".mp4"]:
        result = run_cli("detect", str(videos["h264_mp4"]), "--render", str(path))
        assert "cannot be written" in one_error_line(result)
        assert not path.exists() or path.read_text() == "old"


def test_a_writable_output_is_left_as_it_was_by_the_check(tmp_path):
    target = tmp_path / "new" / "out.json"
    check_writable(target)
    assert target.parent.is_dir() and not target.exists()
    assert os.listdir(target.parent) == []


# --- SIGTERM leaves no partial file -----------------------------------------------------


def test_sigterm_during_pose_render_removes_the_partial_video(tmp_path):
    video = write_video(tmp_path / "long.mp4", 900, fps=30, width=320, height=240)
    rendered, poses = tmp_path / "drawn.mp4", tmp_path / "clip.poses.npz"
    command = ["pose", str(video), "-o", str(poses), "--render", str(rendered)]
    process = subprocess.Popen(
        [sys.executable, "-m", "actscope", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".drawn.*.part.mp4")):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the render never started"
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert "Traceback" not in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.mp4"]


# --- commands that suggested options they did not have ----------------------------------


@pytest.mark.parametrize("command", [["fall"], ["exercise", "--no-form"]])
def test_fall_and_exercise_read_a_truncated_video_when_asked(command, tmp_path):
    whole = write_video(
        tmp_path / "whole.mp4", 60, fps=30, width=96, height=64,
        container_options={"movflags": "faststart"},
    )  # fmt: skip
    data = whole.read_bytes()
    truncated = tmp_path / "cut.mp4"
    truncated.write_bytes(data[: int(len(data) * 0.6)])
    refused = run_cli(*command, str(truncated))
    assert "--allow-partial" in one_error_line(refused)
    accepted = run_cli(*command, str(truncated), "--allow-partial")
    # the frames that decode were read (the generated video shows nobody, which exercise
    # reports as its one error line)
    assert "ends after" in accepted.stderr and "--allow-partial" not in accepted.stderr
    assert "Traceback" not in accepted.stderr


# --- messages that misled ----------------------------------------------------------------


def test_a_symbolic_link_loop_is_named_as_one(tmp_path):
    loop = tmp_path / "loop.mp4"
    loop.symlink_to(loop)
    line = one_error_line(run_cli("info", str(loop)))
    assert "loop" in line and "no such file" not in line


def test_a_huge_claimed_resolution_is_reported_as_such(tmp_path):
    huge = tmp_path / "huge.y4m"
    huge.write_bytes(b"YUV4MPEG2 W60000 H60000 F30:1 Ip A1:1 C420jpeg\nFRAME\n" + bytes(1000))
    line = one_error_line(run_cli("info", str(huge)))
    assert "60000x60000" in line and "busy" not in line.lower()


def test_a_file_that_is_not_a_checkpoint_gets_cli_advice(tmp_path, videos):
    weights = tmp_path / "weights.pt"
    import torch

    torch.save({"conv.weight": torch.zeros(2, 2)}, weights)
    line = one_error_line(run_cli("predict", str(videos["h264_mp4"]), "--model", str(weights)))
    assert "--weights" in line and "from_pretrained" not in line


class _Payload:
    """Pickles to a call that would create a marker file when unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_malicious_pickle_is_named_and_never_runs(tmp_path, videos):
    import pickle

    import torch

    marker = tmp_path / "ran"
    as_pickle, as_torch = tmp_path / "plain.pt", tmp_path / "zipped.pt"
    as_pickle.write_bytes(pickle.dumps(_Payload(marker)))
    torch.save({"state": _Payload(marker)}, as_torch)
    for path in (as_pickle, as_torch):
        line = one_error_line(run_cli("predict", str(videos["h264_mp4"]), "--model", str(path)))
        assert "never loads" in line and "corrupt" not in line
        line = one_error_line(run_cli("eval", str(path), "--dataset", "utd-mhad"))
        assert "never loads" in line
    assert not marker.exists()


def test_a_non_skeleton_file_in_a_labels_list_is_named(tmp_path):
    import pickle

    (tmp_path / "a.npz").write_bytes(pickle.dumps({"not": "a skeleton"}))
    (tmp_path / "labels.csv").write_text("file,label,subject\na.npz,wave,1\n")
    from actscope.datasets import load_skeleton_folder

    with pytest.raises(ActscopeError) as caught:
        load_skeleton_folder(tmp_path)[0]
    message = str(caught.value)
    assert "a.npz" in message and "pickle" in message and "allow_pickle" not in message


def test_predict_on_an_empty_folder_named_like_a_video_prints_one_line(tmp_path):
    folder = tmp_path / "x.mp4"
    folder.mkdir()
    line = one_error_line(run_cli("predict", str(folder)))
    assert "x.mp4" in line and "no video files" in line


@pytest.mark.parametrize("outside", ["../elsewhere.npz", "/etc/passwd"])
def test_labels_may_not_point_outside_the_dataset_folder(tmp_path, outside):
    root = tmp_path / "data"
    root.mkdir()
    (tmp_path / "elsewhere.npz").write_bytes(b"x")
    (root / "labels.csv").write_text(f"file,label\n{outside},wave\n")
    from actscope.datasets import load_skeleton_folder

    with pytest.raises(DatasetError, match="outside the dataset folder"):
        load_skeleton_folder(root)


@pytest.mark.parametrize("value", [None, 123, 4.5, object()])
def test_predict_and_detect_refuse_what_is_not_a_video_with_a_typed_error(value):
    with pytest.raises(VideoArgumentError, match="expected a video"):
        actscope.predict(value)
    with pytest.raises(VideoArgumentError, match="expected a video"):
        actscope.detect(value)
    assert issubclass(VideoArgumentError, ActscopeError)
    assert issubclass(VideoArgumentError, TypeError)
