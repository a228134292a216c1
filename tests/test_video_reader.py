"""Reading generated and real videos, checked against an independent plain-PyAV decode."""

from __future__ import annotations

import functools
import http.server
import threading

import numpy as np
import pytest

from actscope.errors import CorruptVideoError, VideoError
from actscope.video import (
    DenseSampler,
    MultiViewSampler,
    UniformSampler,
    iter_video_frames,
    probe,
    read_video,
)
from actscope.video import reader as reader_module
from realdata import shared_path
from videogen import decode_all, level, write_video

GENERATED = [
    "h264_mp4",
    "mpeg4_avi",
    "vp9_webm",
    "mjpeg_mkv",
    "ffv1_mkv",
    "hevc_mov",
    "audio_mp4",
    "faststart_mp4",
]
EXPECTED = {  # name: (frames, fps, width, height) as written by conftest
    "h264_mp4": (40, 25, 64, 48),
    "mpeg4_avi": (33, 30, 64, 48),
    "vp9_webm": (24, 24, 80, 64),
    "mjpeg_mkv": (20, 15, 64, 48),
    "ffv1_mkv": (25, 50, 96, 54),
    "hevc_mov": (18, 12, 64, 48),
    "audio_mp4": (25, 25, 64, 48),
    "faststart_mp4": (60, 30, 64, 48),
}
REAL_CLIPS = [
    "S001C001P001R001A001_rgb.avi",
    "demo.mp4",
    "demo_skeleton.mp4",
    "test.avi",
    "test.mp4",
    "vtest.avi",
]


@pytest.mark.parametrize("name", GENERATED)
def test_probe_generated(videos, name):
    frames, fps, width, height = EXPECTED[name]
    info = probe(videos[name])
    assert (info.frame_count, info.width, info.height, info.rotation) == (frames, width, height, 0)
    assert info.fps == pytest.approx(fps, rel=1e-3)
    assert info.duration == pytest.approx(frames / fps, abs=1.5 / fps)
    assert info.has_audio == (name == "audio_mp4")


@pytest.mark.parametrize("name", GENERATED)
def test_read_all_frames_matches_plain_decode(videos, name):
    reference, _ = decode_all(videos[name])
    clip = read_video(videos[name])
    assert clip.frames.dtype == np.uint8
    np.testing.assert_array_equal(clip.frames, reference)
    np.testing.assert_array_equal(clip.indices, np.arange(len(reference)))
    fps = EXPECTED[name][1]
    np.testing.assert_allclose(clip.times, np.arange(len(reference)) / fps, atol=1e-3)
    # frame i shows grey level(i) outside its marker (lossy codecs stay within a few levels)
    greys = clip.frames[:, -8:, -8:].mean(axis=(1, 2, 3))
    np.testing.assert_allclose(greys, [level(i) for i in range(len(reference))], atol=6)


@pytest.mark.parametrize("name", ["h264_mp4", "vp9_webm", "mpeg4_avi"])
@pytest.mark.parametrize(
    "sampler",
    [
        UniformSampler(8),
        UniformSampler(5, random=True),
        DenseSampler(6, 3),
        DenseSampler(64, 2),
        MultiViewSampler(3, 4, 2),
    ],
    ids=["uniform", "uniform-random", "dense", "dense-too-long", "multiview"],
)
def test_sampled_frames_match_plain_decode(videos, name, sampler):
    reference, _ = decode_all(videos[name])
    clip = read_video(videos[name], sampler, rng=np.random.default_rng(0))
    expected_indices = sampler(len(reference), np.random.default_rng(0))
    np.testing.assert_array_equal(clip.indices, expected_indices)
    assert clip.frames.shape == expected_indices.shape + reference.shape[1:]
    np.testing.assert_array_equal(clip.frames, reference[expected_indices])


def test_explicit_indices_any_order_with_repeats(videos):
    reference, _ = decode_all(videos["h264_mp4"])
    wanted = np.array([[30, 2, 2], [0, 39, 5]])
    clip = read_video(videos["h264_mp4"], wanted)
    np.testing.assert_array_equal(clip.frames, reference[wanted])
    np.testing.assert_allclose(clip.times, wanted / 25, atol=1e-3)


def test_index_past_the_end_is_an_error(videos):
    with pytest.raises(VideoError, match="only 40 decodable frames"):
        read_video(videos["h264_mp4"], [3, 40])


@pytest.mark.parametrize("name", ["vfr_mp4", "vfr_mkv"])
def test_variable_frame_rate_times_come_from_timestamps(videos, name):
    written = [0.0, 0.1, 0.15, 0.4, 0.5, 0.9, 1.0, 1.05, 1.3, 1.5, 1.52, 2.0]
    info = probe(videos[name])
    assert info.frame_count == len(written)
    assert info.duration >= written[-1]
    assert info.fps == pytest.approx(info.frame_count / info.duration)
    clip = read_video(videos[name])
    np.testing.assert_allclose(clip.times, written, atol=1e-3)
    sampled = read_video(videos[name], [2, 9])
    np.testing.assert_allclose(sampled.times, [0.15, 1.5], atol=1e-3)


def test_rotation_metadata_is_honoured(videos):
    # Stored 64x48 with a marker in the top-left; the display matrix says "turn 90 degrees
    # clockwise" (what phones write for portrait video), so the marker ends up top-right.
    info = probe(videos["rotated_mp4"])
    assert (info.rotation, info.width, info.height) == (90, 48, 64)
    clip = read_video(videos["rotated_mp4"], [0])
    frame = clip.frames[0]
    assert frame.shape == (64, 48, 3)
    assert frame[:8, -8:].mean() > 240 and frame[:8, :8].mean() < 100
    reference, _ = decode_all(videos["rotated_mp4"])
    np.testing.assert_array_equal(frame, np.rot90(reference[0], k=-1))


def test_rotated_resize_keeps_display_orientation(videos):
    clip = read_video(videos["rotated_mp4"], [0, 1], short_side=24)
    assert clip.frames.shape == (2, 32, 24, 3)


@pytest.mark.parametrize("short_side,shape", [(24, (24, 32)), (96, (96, 128))])
def test_short_side_resize_while_decoding(videos, short_side, shape):
    clip = read_video(videos["h264_mp4"], [0, 10], short_side=short_side)
    assert clip.frames.shape == (2, *shape, 3)
    assert abs(clip.frames[1, -4:, -4:].mean() - level(10)) < 6


def test_long_video_is_read_by_seeking(tmp_path, monkeypatch):
    path = write_video(tmp_path / "long.mp4", 300, fps=30, gop=30)
    reference, _ = decode_all(path)
    monkeypatch.setattr(reader_module, "SEEK_MIN_FRAMES", 100)
    monkeypatch.setattr(reader_module, "SEEK_MIN_GAP", 20)
    sampler = UniformSampler(6)
    wanted = sampler(300)
    assert reader_module._should_seek(probe(path), wanted)
    seeks = []
    original = reader_module._read_by_seeking
    monkeypatch.setattr(
        reader_module, "_read_by_seeking", lambda *a: seeks.append(1) or original(*a)
    )
    clip = read_video(path, sampler)
    assert seeks, "the long-video path was not taken"
    np.testing.assert_array_equal(clip.frames, reference[wanted])
    np.testing.assert_allclose(clip.times, wanted / 30, atol=1e-3)


def test_iter_video_frames_streams_every_step(videos):
    reference, _ = decode_all(videos["h264_mp4"])
    frames = list(iter_video_frames(videos["h264_mp4"], step=3))
    assert [f.index for f in frames] == list(range(0, 40, 3))
    for frame in frames:
        np.testing.assert_array_equal(frame.image, reference[frame.index])
        assert frame.time == pytest.approx(frame.index / 25, abs=1e-3)


# --- partly corrupt files -------------------------------------------------------------------


@pytest.fixture(scope="module")
def damaged(videos, tmp_path_factory):
    """The faststart mp4 (header first) truncated at 60% and with noise in the middle."""
    folder = tmp_path_factory.mktemp("damaged")
    data = videos["faststart_mp4"].read_bytes()
    truncated = folder / "truncated.mp4"
    truncated.write_bytes(data[: int(len(data) * 0.6)])
    payload = data.find(b"mdat") + 8
    middle = payload + (len(data) - payload) // 2
    noisy = bytearray(data)
    noisy[middle : middle + 300] = np.random.default_rng(0).bytes(300)
    corrupt = folder / "corrupt_middle.mp4"
    corrupt.write_bytes(bytes(noisy))
    return {"truncated": truncated, "corrupt": corrupt}


@pytest.mark.parametrize("kind", ["truncated", "corrupt"])
def test_damaged_file_raises_unless_partial_allowed(damaged, kind):
    with pytest.raises(CorruptVideoError, match="--allow-partial"):
        read_video(damaged[kind])


def test_truncated_file_partial_read_returns_what_decodes(damaged):
    reference, _ = decode_all(damaged["truncated"])
    clip = read_video(damaged["truncated"], allow_partial=True)
    kept = len(clip.frames)
    # Frame-threaded decoding may also drop the last frame or two in flight at the cut.
    assert 10 < len(reference) - 2 <= kept <= len(reference) < 60
    np.testing.assert_array_equal(clip.frames, reference[:kept])
    assert clip.frames_lost == 60 - kept
    # a sampler is re-applied to the frames that exist
    sampled = read_video(damaged["truncated"], UniformSampler(8), allow_partial=True)
    np.testing.assert_array_equal(sampled.indices, UniformSampler(8)(kept))
    np.testing.assert_array_equal(sampled.frames, reference[UniformSampler(8)(kept)])
    assert sampled.frames_lost == 60 - kept


def test_corrupt_middle_partial_read_skips_damage(damaged):
    clip = read_video(damaged["corrupt"], allow_partial=True)
    assert 0 < clip.frames_lost < 10
    assert len(clip.frames) == 60 - clip.frames_lost
    assert np.all(np.diff(clip.times) > 0)


def test_frames_before_damage_read_without_complaint(damaged):
    clip = read_video(damaged["truncated"], [0, 5])
    assert clip.frames_lost == 0 and clip.frames.shape[0] == 2


# --- URLs -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def http_server(videos):
    folder = videos["h264_mp4"].parent
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))

    class Quiet(handler.func):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_read_over_http(http_server, videos):
    url = f"{http_server}/{videos['h264_mp4'].name}"
    assert probe(url).frame_count == 40
    reference, _ = decode_all(videos["h264_mp4"])
    clip = read_video(url, UniformSampler(4))
    np.testing.assert_array_equal(clip.frames, reference[UniformSampler(4)(40)])


def test_missing_url_is_a_video_error(http_server):
    with pytest.raises(VideoError):
        probe(f"{http_server}/nothing-here.mp4")


# --- real clips -----------------------------------------------------------------------------


@pytest.mark.real_data
@pytest.mark.parametrize("clip_name", REAL_CLIPS)
def test_real_clip_metadata_matches_full_decode(clip_name):
    path = shared_path("sample_clips", clip_name)
    reference, _ = decode_all(path)
    info = probe(path)
    assert info.frame_count == len(reference)
    assert (info.height, info.width) == reference.shape[1:3]
    assert info.duration == pytest.approx(info.frame_count / info.fps, rel=1e-3)


@pytest.mark.real_data
@pytest.mark.parametrize("clip_name", REAL_CLIPS)
def test_real_clip_sampling_matches_full_decode(clip_name):
    path = shared_path("sample_clips", clip_name)
    reference, _ = decode_all(path)
    for sampler in (UniformSampler(16), DenseSampler(16, 2), MultiViewSampler(2, 8, 4)):
        clip = read_video(path, sampler)
        np.testing.assert_array_equal(clip.frames, reference[sampler(len(reference))])
        assert np.all(np.diff(clip.times.reshape(-1, clip.times.shape[-1]), axis=-1) > 0)


@pytest.mark.real_data
def test_real_avi_with_b_frames_has_monotonic_times():
    # The NTU clip is H.264 in AVI: PyAV reports its pts out of order (1, 2, 4, 3, 6, 5...).
    path = shared_path("sample_clips", "S001C001P001R001A001_rgb.avi")
    clip = read_video(path, short_side=64)
    np.testing.assert_allclose(clip.times, np.arange(103) / 30, atol=1e-6)
    assert clip.frames.shape == (103, 64, 114, 3)
