"""The command-line interface, run as a user runs it (a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import actscope
from realdata import shared_path


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "actscope", *args], capture_output=True, text=True, timeout=120
    )


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"actscope {actscope.__version__}"


def test_help_lists_commands():
    result = run_cli("--help")
    assert result.returncode == 0 and "info" in result.stdout
    bare = run_cli()
    assert bare.returncode == 0 and "info" in bare.stdout


def test_info_json_reports_metadata(videos):
    result = run_cli("info", "--json", str(videos["h264_mp4"]), str(videos["rotated_mp4"]))
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["frame_count"] for r in rows] == [40, 10]
    assert rows[0]["fps"] == pytest.approx(25) and rows[0]["codec"] == "h264"
    assert (rows[1]["width"], rows[1]["height"], rows[1]["rotation"]) == (48, 64, 90)


def test_info_table(videos):
    result = run_cli("info", str(videos["vp9_webm"]))
    assert result.returncode == 0
    header, row = result.stdout.strip().splitlines()[:2]
    assert "fps" in header and "frames" in header
    assert "vp9.webm" in row and "80x64" in row and " 24 " in row


def test_info_decode_counts_frames(tmp_path, videos):
    data = videos["faststart_mp4"].read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    result = run_cli("info", "--json", "--decode", str(videos["faststart_mp4"]), str(cut))
    rows = json.loads(result.stdout)
    assert rows[0]["decoded_frames"] == 60
    assert 0 < rows[1]["decoded_frames"] < 60 and rows[1]["frame_count"] == 60


@pytest.mark.parametrize("args", [["info", "--bogus", "x.mp4"], ["info"], ["no-such-command"]])
def test_usage_errors_are_one_line(args):
    result = run_cli(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr


@pytest.mark.real_data
def test_info_on_real_clips():
    clips = [
        shared_path("sample_clips", name) for name in ("S001C001P001R001A001_rgb.avi", "vtest.avi")
    ]
    rows = json.loads(run_cli("info", "--json", *map(str, clips)).stdout)
    assert [(r["width"], r["height"], r["frame_count"]) for r in rows] == [
        (1920, 1080, 103),
        (768, 576, 795),
    ]
