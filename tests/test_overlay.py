"""Seeing the result: the label box and confidence bar, the overlay video (generated and
real clip: frame count, size, overlay present) and the timeline PNG."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from actscope.inference import Segment, detect, plot_timeline, render_overlay
from actscope.inference.overlay import BAR, current_action, draw_label
from actscope.inference.scoring import ScoreTrack
from actscope.pose.render import image_points
from actscope.video import probe, read_video
from realdata import shared_path
from test_recognizer import skeleton_checkpoint
from videogen import write_video


def bar_pixels(image: np.ndarray) -> int:
    return int((np.abs(image.astype(int) - BAR).sum(axis=-1) < 60).sum())


def test_the_bar_fills_in_proportion_to_the_score():
    grey = np.full((240, 320, 3), 128, np.uint8)
    quarter = bar_pixels(draw_label(grey.copy(), "wave", 0.25))
    three_quarters = bar_pixels(draw_label(grey.copy(), "wave", 0.75))
    assert quarter > 0 and three_quarters / quarter == pytest.approx(3, rel=0.15)
    nothing = draw_label(grey.copy(), None, 0.0)
    assert bar_pixels(nothing) == 0
    assert (nothing[:20, :60] != 128).any() and (nothing[120:, 160:] == 128).all()


def _scores() -> ScoreTrack:
    starts = np.array([0.0, 1.0, 2.0])
    probs = np.array([[0.8, 0.2], [0.3, 0.7], [0.1, 0.9]], np.float32)
    return ScoreTrack(
        ["a", "b"], starts, starts + 1.0, probs, np.zeros(0), np.zeros(0, bool), None, 3.0
    )


def test_the_current_action_by_hand():
    segments = [Segment(1.0, 2.0, "b", 0.7), Segment(1.5, 2.5, "a", 0.9)]
    assert current_action(1.2, None, segments) == ("b", 0.7)
    assert current_action(1.7, None, segments) == ("a", 0.9)  # the better of two
    assert current_action(0.5, _scores(), segments) == (None, 0.0)  # segments decide
    label, score = current_action(0.5, _scores(), None, smooth=1)
    assert (label, score) == ("a", pytest.approx(0.8))
    assert current_action(5.0, _scores(), None) == (None, 0.0)


def test_overlay_video_on_generated_frames(tmp_path):
    video = write_video(tmp_path / "in.mp4", 30, fps=10, width=160, height=120)
    out = tmp_path / "out.mp4"
    written = render_overlay(video, out, segments=[Segment(1.0, 2.0, "wave", 0.8)])
    info = probe(out)
    assert written == 30 and info.frame_count == 30 and (info.width, info.height) == (160, 120)
    frames = read_video(out).frames
    assert all(bar_pixels(frames[t]) > 20 for t in range(10, 20))  # in the segment
    assert all(bar_pixels(frames[t]) == 0 for t in (*range(8), *range(22, 30)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "out.mp4"]


def test_a_failed_render_leaves_no_file(tmp_path):
    with pytest.raises(Exception, match="no such file"):
        render_overlay(tmp_path / "missing.mp4", tmp_path / "out.mp4")
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def ntu(tmp_path_factory):
    """MediaPipe on the NTU RGB+D sample clip, detection kept with its poses."""
    clip = shared_path("sample_clips", "S001C001P001R001A001_rgb.avi")
    folder = tmp_path_factory.mktemp("ntu")
    model = skeleton_checkpoint(folder / "tcn.pt", window=1.5)
    result = detect(clip, model, keep_poses=True, threshold=0.0, motion_threshold=0.3)
    return clip, folder, result


def test_overlay_of_a_real_clip(ntu):
    clip, folder, result = ntu
    out = folder / "overlay.mp4"
    render_overlay(clip, out, result.scores, result.segments, result.skeleton, short_side=360)
    info = probe(out)
    assert info.frame_count == 103 and (info.width, info.height) == (640, 360)
    drawn = read_video(out).frames
    plain = read_video(clip, short_side=360).frames
    # the label box darkens the top-left corner of every frame
    assert (drawn[:, 5:20, 5:100].mean() + 30) < plain[:, 5:20, 5:100].mean()
    # the skeleton: the pixels around the left shoulder change, the room far from her does not
    t = 50
    x, y = image_points(result.skeleton, t, (640, 360))[0, 11].round().astype(int)  # shoulder
    near = np.abs(
        drawn[t, y - 3 : y + 4, x - 3 : x + 4].astype(int) - plain[t, y - 3 : y + 4, x - 3 : x + 4]
    )
    far = np.abs(drawn[t, 300:350, 20:80].astype(int) - plain[t, 300:350, 20:80])
    assert near.mean() > 25 and far.mean() < 6
    inside = [s for s in result.segments if s.end - s.start > 0.3]
    if inside:  # frames inside a detected segment show a filled bar
        middle = round((inside[0].start + inside[0].end) / 2 * 30)
        assert bar_pixels(drawn[middle]) > 20


def test_timeline_of_a_real_clip(ntu):
    _, folder, result = ntu
    assert result.segments, "the NTU clip has movement; the gate at 0.3 should find some"
    path = folder / "timeline.png"
    plot_timeline(result.scores, path, result.segments, title="NTU sample")
    image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    assert image.shape == (420, 1200, 3)
    # the segment bar in the lower panel is drawn in its class's colour (not grey/white)
    lower = image[300:390, 100:1100].reshape(-1, 3).astype(int)
    coloured = (lower.max(axis=1) - lower.min(axis=1)) > 60
    assert coloured.mean() > 0.01
