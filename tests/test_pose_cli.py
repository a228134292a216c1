"""``actscope pose``, run as a user runs it (a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from actscope.pose import PoseTrack
from actscope.video import probe
from realdata import shared_path
from videogen import write_video


def run_pose(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "actscope", "pose", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


@pytest.mark.real_data
def test_pose_video_writes_poses_render_and_json(tmp_path):
    video = shared_path("pushup_form", "videos", "correct", "correct1.mp4")
    result = run_pose(
        str(video),
        "-o",
        str(tmp_path / "poses.npz"),
        "--render",
        str(tmp_path / "render.mp4"),
        "--json",
        str(tmp_path / "poses.json"),
        "--workers",
        "1",
    )
    assert result.returncode == 0, result.stderr
    assert "61 frames, a person in 61 (100%)" in result.stdout
    track = PoseTrack.load(tmp_path / "poses.npz")
    assert track.image.coords.shape == (1, 61, 33, 2) and track.world.channels == 3
    rendered = probe(tmp_path / "render.mp4")
    assert (rendered.frame_count, rendered.width, rendered.height) == (61, 640, 360)
    data = json.loads((tmp_path / "poses.json").read_text())
    assert len(data["frames"]) == 61 and data["layout"] == "mediapipe33"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["poses.json", "poses.npz", "render.mp4"]


def test_pose_default_output_name_and_nobody_warning(tmp_path):
    video = write_video(tmp_path / "corridor.mp4", 10, width=96, height=64)
    result = run_pose(str(video), "--workers", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "no person found" in result.stderr
    assert "a person in 0 (0%)" in result.stdout
    track = PoseTrack.load(tmp_path / "corridor.poses.npz")
    assert track.image.num_people == 0 and track.num_frames == 10


def test_pose_dataset_is_resumable(tmp_path):
    folder = tmp_path / "videos"
    (folder / "sub").mkdir(parents=True)
    for name in ("a.mp4", "b.avi", "sub/c.mp4"):
        codec = "mpeg4" if name.endswith(".avi") else "h264"
        write_video(folder / name, 6, width=64, height=48, codec=codec)
    (folder / "broken.mp4").write_text("not a video")
    (folder / "notes.txt").write_text("ignored")

    first = run_pose("--dataset", str(folder), "--workers", "1")
    assert first.returncode == 2  # one video failed, the others are cached
    assert "3 extracted, 0 already cached, 1 failed" in first.stdout
    assert "broken.mp4" in first.stderr
    cache = folder / "poses"
    cached = sorted(p.relative_to(cache).as_posix() for p in cache.rglob("*.npz"))
    assert cached == ["a.mp4.npz", "b.avi.npz", "sub/c.mp4.npz"]

    (folder / "broken.mp4").unlink()
    again = run_pose("--dataset", str(folder), "--workers", "1")
    assert again.returncode == 0, again.stderr
    assert "0 extracted, 3 already cached" in again.stdout

    # an interrupted run leaves no partial file (writes are atomic), but a stale or foreign
    # file in the cache is re-extracted, as is a missing one
    (cache / "a.mp4.npz").write_bytes(b"PK\x03\x04 stale")
    (cache / "sub" / "c.mp4.npz").unlink()
    resumed = run_pose("--dataset", str(folder), "-o", str(cache), "--workers", "1")
    assert resumed.returncode == 0, resumed.stderr
    assert "2 extracted, 1 already cached" in resumed.stdout
    assert PoseTrack.load(cache / "a.mp4.npz").num_frames == 6


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give either a VIDEO or --dataset DIR"),
        (["x.mp4", "--dataset", "."], "give either a VIDEO or --dataset DIR"),
        (["--dataset", ".", "--render", "r.mp4"], "--render and --json work on one VIDEO"),
        (["/no/such/video.mp4"], "no such file"),
        (["x.mp4", "--workers", "0"], "--workers"),
    ],
)
def test_pose_user_errors_are_one_line(args, message, tmp_path):
    result = run_pose(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
