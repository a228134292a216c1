"""Clip transforms: shapes, values and crop positions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from actscope.video.transforms import (
    KINETICS_MEAN,
    KINETICS_STD,
    CenterCrop,
    Compose,
    Normalize,
    ResizeShortSide,
    ThreeCrop,
    ToTensor,
)


def gradient_frames(t=4, h=60, w=100) -> np.ndarray:
    """Frames whose red channel encodes the column and green the row."""
    frames = np.zeros((t, h, w, 3), np.uint8)
    frames[..., 0] = np.arange(w)[None, None, :] * 255 // (w - 1)
    frames[..., 1] = np.arange(h)[None, :, None] * 255 // (h - 1)
    frames[..., 2] = np.arange(t)[:, None, None] * 60
    return frames


def test_to_tensor_layout_and_range():
    frames = gradient_frames()
    clip = ToTensor()(frames)
    assert clip.shape == (3, 4, 60, 100) and clip.dtype == torch.float32
    assert clip.min() >= 0 and clip.max() <= 1
    torch.testing.assert_close(clip[2, 3, 0, 0], torch.tensor(180 / 255))  # blue = time
    torch.testing.assert_close(clip[0, 0, 0, -1], torch.tensor(1.0))  # red = last column


def test_to_tensor_rejects_wrong_shape():
    with pytest.raises(ValueError, match=r"\(T, H, W, 3\)"):
        ToTensor()(np.zeros((4, 3, 60, 100), np.uint8))


@pytest.mark.parametrize(
    "shape,size,expected",
    [((60, 100), 30, (30, 50)), ((100, 60), 30, (50, 30)), ((48, 64), 48, (48, 64))],
)
def test_resize_short_side(shape, size, expected):
    clip = torch.rand(3, 2, *shape)
    assert ResizeShortSide(size)(clip).shape[-2:] == expected


def test_resize_works_on_uint8_and_keeps_content():
    frames = torch.as_tensor(gradient_frames()).permute(3, 0, 1, 2)  # uint8 (C, T, H, W)
    small = ResizeShortSide(30)(frames)
    assert small.dtype == torch.uint8 and small.shape == (3, 4, 30, 50)
    assert small[0, 0, :, -1].float().mean() > 240 and small[0, 0, :, 0].float().mean() < 15


def test_center_crop_takes_the_middle():
    clip = ToTensor()(gradient_frames(h=60, w=100))
    crop = CenterCrop(40)(clip)
    assert crop.shape == (3, 4, 40, 40)
    full = clip[0, 0, 0]  # red along the columns
    torch.testing.assert_close(crop[0, 0, 0, 0], full[30])


def test_three_crop_spans_the_long_side():
    clip = ToTensor()(gradient_frames(h=40, w=100))
    views = ThreeCrop(40)(clip)
    assert views.shape == (3, 3, 4, 40, 40)
    red = clip[0, 0, 0]
    assert views[0, 0, 0, 0, 0] == red[0]  # left
    assert views[1, 0, 0, 0, 0] == red[30]  # centre
    assert views[2, 0, 0, 0, -1] == red[-1]  # right
    tall = ThreeCrop(40)(ToTensor()(gradient_frames(h=100, w=40)))
    assert tall[2, 1, 0, -1, 0] == 1.0  # bottom crop reaches the last row


def test_three_crop_rejects_small_clip():
    with pytest.raises(ValueError, match="smaller"):
        ThreeCrop(64)(torch.rand(3, 2, 40, 100))


def test_normalize_per_channel():
    clip = torch.ones(3, 2, 4, 4) * 0.5
    out = Normalize(KINETICS_MEAN, KINETICS_STD)(clip)
    for c in range(3):
        expected = (0.5 - KINETICS_MEAN[c]) / KINETICS_STD[c]
        torch.testing.assert_close(out[c], torch.full((2, 4, 4), expected))
    views = Normalize(KINETICS_MEAN, KINETICS_STD)(torch.ones(3, 3, 2, 4, 4) * 0.5)
    torch.testing.assert_close(views[1], out)  # the view axis passes through


def test_normalize_refuses_uint8():
    with pytest.raises(TypeError, match="ToTensor"):
        Normalize(KINETICS_MEAN, KINETICS_STD)(torch.zeros(3, 2, 4, 4, dtype=torch.uint8))


def test_compose_pipeline_on_real_decode(videos):
    from actscope.video import UniformSampler, read_video

    clip = read_video(videos["vp9_webm"], UniformSampler(8))  # 80x64
    pipeline = Compose(
        [ToTensor(), ResizeShortSide(32), CenterCrop(32), Normalize(KINETICS_MEAN, KINETICS_STD)]
    )
    out = pipeline(clip.frames)
    assert out.shape == (3, 8, 32, 32)
    assert "ResizeShortSide(32)" in repr(pipeline)
