"""Learning, not just running: small configs of each RGB family learn a task only motion solves.

The task: a disc slides horizontally across a 16 x 16 frame, wrapping around at the edge, by
+1/8, -1/8, +3/8 or -3/8 of the width per frame (four classes). Over 8 frames it visits the
same 8 evenly spaced positions whatever the class, so every class shows the same set of
frames and only their order differs: a model blind to frame order (TSN, which averages
per-frame scores) is at chance, 25%. Train and test clips come from different random seeds.
Background colour, disc colour, size, row and start position are random; pixel noise is added.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torchvision.models.resnet import BasicBlock

from actscope.models import create_model
from actscope.models.i3d import I3D
from actscope.models.slowfast import SlowFast
from actscope.models.tsm import TSM

FRAMES, SIZE = 8, 16


pytestmark = pytest.mark.usefixtures("one_thread")


STEPS = (1, -1, 3, -3)  # eighths of the width per frame


def disc_positions(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Labels ``(n,)`` and the disc's x position in every frame ``(n, FRAMES)``, in pixels."""
    labels = rng.permutation(np.arange(n) % len(STEPS))
    step = np.array(STEPS)[labels][:, None]
    start = rng.uniform(0, SIZE, (n, 1))
    return labels, (start + SIZE * step * np.arange(FRAMES) / FRAMES) % SIZE


def sliding_disc_clips(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` clips ``(n, 3, FRAMES, SIZE, SIZE)``, normalised, and their labels ``(n,)``."""
    rng = np.random.default_rng(seed)
    labels, x = disc_positions(n, rng)
    y = rng.uniform(0.3 * SIZE, 0.7 * SIZE, (n, 1))
    radius = rng.uniform(0.12 * SIZE, 0.16 * SIZE, (n, 1, 1, 1))
    rows, cols = np.mgrid[0:SIZE, 0:SIZE]
    dx = np.abs(cols - x[..., None, None])
    dx = np.minimum(dx, SIZE - dx)  # the frame wraps around horizontally
    distance = np.hypot(dx, rows - y[..., None, None])
    coverage = np.clip(radius - distance + 0.5, 0, 1)[:, None]  # anti-aliased edge
    disc = rng.uniform(0.6, 1.0, (n, 3, 1, 1, 1))
    background = rng.uniform(0.0, 0.3, (n, 3, 1, 1, 1))
    clips = background * (1 - coverage) + disc * coverage
    clips += rng.normal(0, 0.03, clips.shape)
    return torch.from_numpy(((clips - 0.5) / 0.25).astype(np.float32)), torch.from_numpy(labels)


def train_and_test(model: nn.Module, train_size: int, epochs: int, lr: float = 3e-3) -> float:
    """Train with AdamW and a one-cycle schedule on fresh clips; accuracy on held-out clips."""
    torch.manual_seed(0)
    clips, labels = sliding_disc_clips(train_size, seed=0)
    test_clips, test_labels = sliding_disc_clips(256, seed=1)
    batch = 32
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, lr, total_steps=epochs * (train_size // batch), pct_start=0.2
    )
    model.train()
    for _ in range(epochs):
        order = torch.randperm(train_size)
        for start in range(0, train_size - batch + 1, batch):
            index = order[start : start + batch]
            loss = nn.functional.cross_entropy(model(clips[index]), labels[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
    model.eval()
    with torch.no_grad():
        predicted = model(test_clips).argmax(dim=1)
    return (predicted == test_labels).float().mean().item()


def tiny_frame_cnn(width: int = 8) -> nn.Sequential:
    """A small 2D ResNet of torchvision ``BasicBlock``s: frames ``(N, 3, H, W)`` -> ``(N, 4w)``."""

    def down(dim_in: int, dim_out: int) -> nn.Sequential:
        return nn.Sequential(nn.Conv2d(dim_in, dim_out, 1, 2, bias=False), nn.BatchNorm2d(dim_out))

    return nn.Sequential(
        nn.Conv2d(3, width, 3, padding=1, bias=False),
        nn.BatchNorm2d(width),
        nn.ReLU(),
        BasicBlock(width, width),
        BasicBlock(width, 2 * width, 2, down(width, 2 * width)),
        BasicBlock(2 * width, 4 * width, 2, down(2 * width, 4 * width)),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
    )


def test_every_class_shows_the_same_set_of_frames():
    labels, x = disc_positions(400, np.random.default_rng(0))
    offsets = np.sort((x - x[:, :1]) % SIZE, axis=1)  # positions relative to the first frame
    np.testing.assert_allclose(offsets, np.tile(np.arange(FRAMES) * SIZE / FRAMES, (400, 1)),
                               atol=1e-9)  # fmt: skip
    assert set(labels.tolist()) == {0, 1, 2, 3}


def test_frame_order_blind_baseline_stays_near_chance():
    torch.manual_seed(0)
    tsn = TSM(tiny_frame_cnn(), 32, 4, num_frames=FRAMES, shift_div=None, dropout=0.0)
    assert train_and_test(tsn, train_size=512, epochs=4) < 0.4


@pytest.mark.parametrize(
    "family, build",
    [
        ("3D CNN (I3D)", lambda: I3D(4, width=8, depths=(1, 1, 1, 1), dropout=0.0)),
        ("SlowFast", lambda: SlowFast(4, width=8, beta_inv=2, depths=(1, 1, 1, 1), dropout=0.0)),
        ("TSM", lambda: TSM(tiny_frame_cnn(), 32, 4, num_frames=FRAMES, shift_div=4, dropout=0.0)),
    ],
    ids=["i3d", "slowfast", "tsm"],
)
def test_cnn_families_learn_motion(family, build):
    torch.manual_seed(0)
    assert train_and_test(build(), train_size=512, epochs=4) >= 0.9, family


def test_video_transformer_learns_motion():
    torch.manual_seed(0)
    videomae = create_model(
        "videomae_base",
        num_classes=4,
        num_frames=FRAMES,
        image_size=SIZE,
        patch_size=4,
        hidden_size=64,
        num_layers=2,
        num_heads=4,
        intermediate_size=128,
    )
    assert train_and_test(videomae, train_size=1024, epochs=12) >= 0.9
