"""TSN and TSM: a 2D CNN applied to every frame, scores averaged over the frames.

TSN (Wang et al. 2016) sees each frame alone and averages, so it is blind to frame order.
TSM (Lin et al., ICCV 2019) adds a temporal shift before the first conv of every residual
block: 1/``shift_div`` of the channels take the next frame's values, another 1/``shift_div``
the previous frame's, at no parameter or FLOP cost. The backbone is torchvision's ResNet-50,
with the shift wrapping ``conv1`` as ``conv1.net``, the layout of the official TSM code, so
its checkpoints load through :mod:`actscope.models.convert`.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import resnet50

from actscope.errors import ModelError
from actscope.models.kinetics import TSM_LICENCE, kinetics400_weights
from actscope.models.registry import register_model
from actscope.video.spec import ClipSpec
from actscope.video.transforms import IMAGENET_MEAN, IMAGENET_STD


def temporal_shift(x: torch.Tensor, num_frames: int, shift_div: int) -> torch.Tensor:
    """Shift channels along time: ``(N * T, C, H, W) -> (N * T, C, H, W)``.

    Channels ``[0, C/d)`` take the next frame's values, ``[C/d, 2C/d)`` the previous
    frame's, zeros at the clip's ends; the rest stay.
    """
    nt, channels, height, width = x.shape
    x = x.view(nt // num_frames, num_frames, channels, height, width)
    fold = channels // shift_div
    out = torch.zeros_like(x)
    out[:, :-1, :fold] = x[:, 1:, :fold]
    out[:, 1:, fold : 2 * fold] = x[:, :-1, fold : 2 * fold]
    out[:, :, 2 * fold :] = x[:, :, 2 * fold :]
    return out.view(nt, channels, height, width)


class TemporalShift(nn.Module):
    """Temporal shift, then the wrapped module ``net`` (a residual block's first conv)."""

    def __init__(self, net: nn.Module, num_frames: int, shift_div: int) -> None:
        super().__init__()
        self.net = net
        self.num_frames = num_frames
        self.shift_div = shift_div

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(temporal_shift(x, self.num_frames, self.shift_div))


def insert_temporal_shift(backbone: nn.Module, num_frames: int, shift_div: int) -> int:
    """Wrap ``conv1`` of every residual block of ``backbone`` (torchvision ``BasicBlock`` or
    ``Bottleneck``) in a :class:`TemporalShift`; returns how many blocks were changed."""
    blocks = [m for m in backbone.modules() if hasattr(m, "conv1") and hasattr(m, "conv2")]
    for block in blocks:
        block.conv1 = TemporalShift(block.conv1, num_frames, shift_div)
    return len(blocks)


class TSM(nn.Module):
    """Frame-level 2D CNN mapping clips ``(N, 3, T, H, W)`` to logits ``(N, num_classes)``.

    ``backbone`` maps frames ``(N * T, 3, H, W)`` to features ``(N * T, feature_dim)``.
    With ``shift_div`` set, temporal shifts are inserted into its residual blocks (TSM) and
    clips must have ``num_frames`` frames; with ``shift_div=None`` it is TSN. Logits are
    averaged over the frames, as in the official code.
    """

    def __init__(
        self,
        backbone: nn.Module,
        feature_dim: int,
        num_classes: int,
        *,
        num_frames: int = 8,
        shift_div: int | None = 8,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.num_frames = num_frames
        self.shifted = shift_div is not None
        if self.shifted and insert_temporal_shift(backbone, num_frames, shift_div) == 0:
            raise ValueError("the backbone has no residual blocks with a conv1 to shift")
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(feature_dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, frames, height, width = x.shape
        if self.shifted and frames != self.num_frames:
            raise ModelError(
                f"this TSM model was built for {self.num_frames} frames, got {frames}; "
                "sample that many frames or build it with num_frames={frames}"
            )
        frames_2d = x.transpose(1, 2).reshape(batch * frames, channels, height, width)
        logits = self.fc(self.dropout(self.backbone(frames_2d)))
        return logits.view(batch, frames, -1).mean(dim=1)


def _resnet50_backbone() -> nn.Module:
    backbone = resnet50()
    backbone.fc = nn.Identity()
    return backbone


# TSN-style input: 8 frames, one from each of 8 equal segments of the video; short side 256,
# 224 crop, ImageNet normalisation (the official test_models.py).
TSM_INPUT = ClipSpec(
    frames=8,
    stride=8,
    size=224,
    resize=256,
    mean=IMAGENET_MEAN,
    std=IMAGENET_STD,
    sampling="segments",
)
_TSM_URL = "url:https://file.lzhu.me/projects/tsm/models/"


@register_model(
    "tsn_r50",
    family="cnn2d",
    input=TSM_INPUT,
    weights=(
        kinetics400_weights(
            "kinetics400-tsm-repo",
            _TSM_URL + "TSM_kinetics_RGB_resnet50_avg_segment5_e50.pth",
            TSM_LICENCE,
            {"acc@1 (8 frames, 1 crop)": 68.8},
        ),
    ),
)
def tsn_r50(num_classes: int = 400, num_frames: int = 8, dropout: float = 0.5) -> TSM:
    """TSN ResNet-50: frame-level 2D CNN, scores averaged over frames."""
    return TSM(
        _resnet50_backbone(),
        2048,
        num_classes,
        num_frames=num_frames,
        shift_div=None,
        dropout=dropout,
    )


@register_model(
    "tsm_r50",
    family="cnn2d",
    input=TSM_INPUT,
    weights=(
        kinetics400_weights(
            "kinetics400-tsm-repo",
            _TSM_URL + "TSM_kinetics_RGB_resnet50_shift8_blockres_avg_segment8_e50.pth",
            TSM_LICENCE,
            {"acc@1 (8 frames, 1 crop)": 71.2},
        ),
    ),
)
def tsm_r50(
    num_classes: int = 400, num_frames: int = 8, shift_div: int = 8, dropout: float = 0.5
) -> TSM:
    """TSM ResNet-50: TSN with a temporal shift in every residual block."""
    return TSM(
        _resnet50_backbone(),
        2048,
        num_classes,
        num_frames=num_frames,
        shift_div=shift_div,
        dropout=dropout,
    )
