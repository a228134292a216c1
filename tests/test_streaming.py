"""The streaming window reader, checked against a plain full decode."""

from __future__ import annotations

import numpy as np
import pytest

from actscope.errors import CorruptVideoError
from actscope.video import stream_windows
from videogen import decode_all, write_video


@pytest.mark.parametrize("window,hop,step", [(8, 8, 1), (8, 4, 1), (6, 10, 1), (5, 3, 2)])
def test_windows_match_full_decode(videos, window, hop, step):
    reference, _ = decode_all(videos["h264_mp4"])  # 40 frames at 25 fps
    kept = np.arange(0, 40, step)
    windows = list(stream_windows(videos["h264_mp4"], window, hop, frame_step=step))
    for win in windows:
        assert win.frames.shape == (window, 48, 64, 3)
        np.testing.assert_array_equal(win.frames, reference[win.indices])
        np.testing.assert_allclose(win.times, win.indices / 25, atol=1e-3)
        assert win.start == pytest.approx(win.times[0])
        assert win.end == pytest.approx(win.times[-1] + step / 25, abs=1e-3)
        assert np.all(np.isin(win.indices, kept))
    starts = [int(np.searchsorted(kept, w.indices[0])) for w in windows]
    regular = [s for s in starts if s % hop == 0]
    assert regular == list(range(0, len(kept) - window + 1, hop))
    assert windows[-1].indices[-1] == kept[-1]  # the tail is always covered
    if hop <= window:  # every kept frame appears in some window
        seen = np.unique(np.concatenate([w.indices for w in windows]))
        np.testing.assert_array_equal(seen, kept)


def test_short_video_gives_one_padded_window(videos):
    windows = list(stream_windows(videos["hevc_mov"], window=32))  # 18 frames
    assert len(windows) == 1
    indices = windows[0].indices
    np.testing.assert_array_equal(indices, np.minimum(np.arange(32), 17))


def test_variable_frame_rate_windows_carry_real_times(videos):
    windows = list(stream_windows(videos["vfr_mkv"], window=4, hop=4))
    np.testing.assert_allclose(windows[0].times, [0.0, 0.1, 0.15, 0.4], atol=1e-3)
    assert windows[1].start == pytest.approx(0.5, abs=1e-3)


def test_streaming_stops_at_damage_unless_partial(tmp_path):
    path = write_video(tmp_path / "clip.mp4", 60, container_options={"movflags": "faststart"})
    data = path.read_bytes()
    damaged = tmp_path / "damaged.mp4"
    payload = data.find(b"mdat") + 8
    noisy = bytearray(data)
    middle = payload + (len(data) - payload) // 2
    noisy[middle : middle + 300] = np.random.default_rng(1).bytes(300)
    damaged.write_bytes(bytes(noisy))
    with pytest.raises(CorruptVideoError):
        list(stream_windows(damaged, window=8))
    windows = list(stream_windows(damaged, window=8, allow_partial=True))
    assert len(windows) >= 5


def test_truncated_stream_is_reported_at_its_end(videos, tmp_path, caplog):
    data = videos["faststart_mp4"].read_bytes()  # 60 frames, header first
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptVideoError, match="truncated"):
        list(stream_windows(cut, window=8))
    windows = list(stream_windows(cut, window=8, allow_partial=True))
    assert 0 < windows[-1].indices[-1] < 59
    assert "truncated" in caplog.text
