"""Bad input: each case gives its VideoError type, and the CLI one line and exit code 2."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest

from actscope.errors import (
    CorruptVideoError,
    NotAVideoError,
    NoVideoStreamError,
    UnsupportedCodecError,
    VideoError,
    VideoNotFoundError,
)
from actscope.video import probe, read_video, stream_windows
from realdata import shared_path
from videogen import write_audio_only, write_video


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "actscope", *args], capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory, videos):
    folder = tmp_path_factory.mktemp("bad")
    files = {}
    files["empty"] = folder / "empty.mp4"
    files["empty"].write_bytes(b"")
    files["random"] = folder / "random.mp4"
    files["random"].write_bytes(random.Random(0).randbytes(20000))
    # bytes that FFmpeg's lyrics demuxer claims (about 1 random file in 300): still not a video
    files["random_as_lyrics"] = folder / "lyrics_noise.mp4"
    files["random_as_lyrics"].write_bytes(random.Random(131).randbytes(20000))
    files["text"] = folder / "notes.txt"
    files["text"].write_text("not a video\n" * 200)
    files["text_as_mp4"] = folder / "notes.mp4"
    files["text_as_mp4"].write_text("not a video\n" * 200)
    files["audio_only"] = write_audio_only(folder / "voice.m4a")
    files["directory"] = folder
    files["missing"] = folder / "does-not-exist.mp4"
    # an AVI whose codec FourCC is one FFmpeg has never heard of
    avi = write_video(folder / "clip.avi", 10, codec="mpeg4").read_bytes()
    files["unknown_codec"] = folder / "unknown.avi"
    files["unknown_codec"].write_bytes(avi.replace(b"FMP4", b"ZQXW"))
    # header first, every frame's payload replaced by noise: nothing decodes
    data = write_video(folder / "fs.mp4", 20, container_options={"movflags": "faststart"})
    raw = data.read_bytes()
    payload = raw.find(b"mdat") + 8
    files["no_decodable_frames"] = folder / "noise.mp4"
    files["no_decodable_frames"].write_bytes(raw[:payload] + bytes(len(raw) - payload))
    return files


CASES = {
    "missing": (VideoNotFoundError, "no such file"),
    "empty": (NotAVideoError, "empty"),
    "random": (NotAVideoError, "not a video"),
    "random_as_lyrics": (NotAVideoError, "not a video"),
    "text": (NotAVideoError, "text file"),
    "text_as_mp4": (NotAVideoError, "not a video"),
    "directory": (NotAVideoError, "directory"),
    "audio_only": (NoVideoStreamError, "no video stream"),
    "unknown_codec": (UnsupportedCodecError, "codec"),
    "no_decodable_frames": (CorruptVideoError, "no frame"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_api_raises_typed_error(bad_files, case):
    error_type, words = CASES[case]
    for call in (probe, read_video, lambda p: next(stream_windows(p))):
        with pytest.raises(error_type, match=words) as caught:
            call(bad_files[case])
        assert isinstance(caught.value, VideoError)
        assert str(bad_files[case]) in str(caught.value)  # the message names the file


@pytest.mark.parametrize("case", sorted(CASES))
def test_cli_prints_one_line_and_exits_2(bad_files, case):
    result = run_cli("info", str(bad_files[case]))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    assert CASES[case][1] in lines[0]


@pytest.mark.real_data
def test_truncated_real_mp4(tmp_path):
    data = shared_path("sample_clips", "test.mp4").read_bytes()  # moov atom at the end
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptVideoError, match="truncated or corrupt"):
        probe(truncated)
    result = run_cli("info", str(truncated))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "truncated" in result.stderr


@pytest.mark.real_data
def test_truncated_real_avi_reads_partially(tmp_path):
    data = shared_path("sample_clips", "vtest.avi").read_bytes()  # index at the end
    truncated = tmp_path / "vtest_cut.avi"
    truncated.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(CorruptVideoError, match="--allow-partial"):
        read_video(truncated)
    clip = read_video(truncated, allow_partial=True, short_side=32)
    assert 300 < len(clip.frames) < 795
    assert clip.frames_lost == 795 - len(clip.frames)


def test_one_bad_file_among_good_ones(bad_files, videos):
    result = run_cli("info", str(videos["h264_mp4"]), str(bad_files["random"]))
    assert result.returncode == 2
    assert "h264.mp4" in result.stdout  # the good file is still reported
    assert result.stderr.count("error:") == 1
