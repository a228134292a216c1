"""X3D (Feichtenhofer, CVPR 2020): a small 3D ResNet expanded along width and depth.

Layout as in PySlowFast's ``X3D`` and PyTorchVideo's ``create_x3d``: a stem of a ``1 x 3 x 3``
conv and a channel-wise ``5 x 1 x 1`` conv; four stages of bottlenecks with channel-wise
``3 x 3 x 3`` convs, squeeze-excitation on every other block and Swish; a head of
``1 x 1 x 1`` conv, global average pooling, a ``1 x 1 x 1`` conv to 2048 features, dropout and
a linear classifier. Published checkpoints load through :mod:`actscope.models.convert`.

Parameter counts (Kinetics-400 head, 400 classes) published: X3D-XS/S/M 3.79 M, X3D-L 6.2 M
(PyTorchVideo model zoo table; PySlowFast MODEL_ZOO.md lists 3.8 M / 6.2 M).
"""

from __future__ import annotations

import torch
from torch import nn

from actscope.models.kinetics import PYSLOWFAST_LICENCE, PYTORCHVIDEO_LICENCE, kinetics400_weights
from actscope.models.layers import Bottleneck3d, batch_norm, round_repeats, round_width
from actscope.models.registry import WeightsInfo, register_model, variant
from actscope.video.spec import ClipSpec

X3D_MEAN = (0.45, 0.45, 0.45)
X3D_STD = (0.225, 0.225, 0.225)


class X3DStem(nn.Module):
    """``(N, 3, T, H, W) -> (N, dim_out, T, H/2, W/2)``: spatial conv, channel-wise temporal
    conv, BN, ReLU."""

    def __init__(self, dim_in: int, dim_out: int, temporal_kernel: int = 5) -> None:
        super().__init__()
        self.conv_xy = nn.Conv3d(
            dim_in, dim_out, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1), bias=False
        )
        self.conv_t = nn.Conv3d(
            dim_out,
            dim_out,
            (temporal_kernel, 1, 1),
            padding=(temporal_kernel // 2, 0, 0),
            groups=dim_out,
            bias=False,
        )
        self.bn = batch_norm(dim_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.conv_t(self.conv_xy(x))))


class X3DHead(nn.Module):
    """``(N, dim_in, T, H, W) -> (N, num_classes)`` logits."""

    def __init__(
        self, dim_in: int, dim_inner: int, dim_features: int, num_classes: int, dropout: float
    ) -> None:
        super().__init__()
        self.conv5 = nn.Conv3d(dim_in, dim_inner, 1, bias=False)
        self.bn5 = batch_norm(dim_inner)
        self.lin5 = nn.Conv3d(dim_inner, dim_features, 1, bias=False)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(dim_features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn5(self.conv5(x)))
        x = x.mean(dim=(2, 3, 4), keepdim=True)
        x = torch.relu(self.lin5(x)).flatten(1)
        return self.fc(self.dropout(x))


class X3D(nn.Module):
    """X3D network mapping clips ``(N, 3, T, H, W)`` to logits ``(N, num_classes)``.

    ``width_factor``/``depth_factor`` are the X3D expansion factors (2.0/2.2 for XS, S, M;
    2.0/5.0 for L); ``base_width`` is the stem width before expansion (PySlowFast
    ``DIM_C1``). Small values give tiny models for tests.
    """

    def __init__(
        self,
        num_classes: int = 400,
        *,
        width_factor: float = 2.0,
        depth_factor: float = 2.2,
        base_width: int = 12,
        bottleneck_factor: float = 2.25,
        head_features: int = 2048,
        se_ratio: float = 0.0625,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        stem_width = round_width(base_width, width_factor)
        self.stem = X3DStem(3, stem_width)
        stage_widths = [base_width]
        for _ in range(3):
            stage_widths.append(round_width(stage_widths[-1], 2.0, divisor=8))
        dim_in = stem_width
        stages = []
        for base_depth, width in zip((1, 2, 5, 3), stage_widths, strict=True):
            dim_out = round_width(width, width_factor)
            dim_inner = int(bottleneck_factor * dim_out)
            se_channels = round_width(dim_inner, se_ratio, min_width=8, divisor=8)
            blocks = [
                Bottleneck3d(
                    dim_in if i == 0 else dim_out,
                    dim_inner,
                    dim_out,
                    spatial_stride=2 if i == 0 else 1,
                    kernel_b=3,
                    groups_b=dim_inner,
                    # Squeeze-excitation on blocks 0, 2, 4, ... of each stage.
                    se_channels=se_channels if se_ratio > 0 and i % 2 == 0 else 0,
                    swish=True,
                )
                for i in range(round_repeats(base_depth, depth_factor))
            ]
            stages.append(nn.Sequential(*blocks))
            dim_in = dim_out
        self.stages = nn.Sequential(*stages)
        self.head = X3DHead(dim_in, dim_inner, head_features, num_classes, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))


def _weights(size: str, slowfast_top1: float, ptv_top1: float | None) -> tuple[WeightsInfo, ...]:
    pyslowfast = kinetics400_weights(
        "kinetics400-pyslowfast",
        f"url:https://dl.fbaipublicfiles.com/pyslowfast/x3d_models/x3d_{size}.pyth",
        PYSLOWFAST_LICENCE,
        {"acc@1 (10-view)": slowfast_top1},
    )
    if ptv_top1 is None:
        return (pyslowfast,)
    pytorchvideo = kinetics400_weights(
        "kinetics400-pytorchvideo",
        (
            "url:https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo/kinetics/"
            f"X3D_{size.upper()}.pyth"
        ),
        PYTORCHVIDEO_LICENCE,
        {"acc@1 (PyTorchVideo)": ptv_top1},
    )
    return (pyslowfast, pytorchvideo)


# Inputs from PySlowFast's configs/Kinetics/X3D_*.yaml: frames x sampling stride and the
# single-crop test size (short side resized to the crop size); accuracies from its MODEL_ZOO.md
# (10 clips x 1 crop) and PyTorchVideo's model zoo table.
# size, frames, stride, crop, depth factor, acc@1 PySlowFast, acc@1 PyTorchVideo, summary
_SIZES = (
    ("xs", 4, 12, 160, 2.2, 68.7, 69.12, "X3D-XS: 4 frames, 3.8 M parameters."),
    ("s", 13, 6, 160, 2.2, 73.1, 73.33, "X3D-S: 13 frames, 3.8 M parameters."),
    ("m", 16, 5, 224, 2.2, 75.1, 75.94, "X3D-M: 16 frames, 3.8 M parameters."),
    ("l", 16, 5, 312, 5.0, 76.9, None, "X3D-L: 16 frames, 6.2 M parameters."),
)
for _size, _frames, _stride, _crop, _depth, _top1, _ptv_top1, _summary in _SIZES:
    register_model(
        f"x3d_{_size}",
        family="cnn3d",
        input=ClipSpec(
            frames=_frames, stride=_stride, size=_crop, resize=_crop, mean=X3D_MEAN, std=X3D_STD
        ),
        weights=_weights(_size, _top1, _ptv_top1),
    )(variant(X3D, f"x3d_{_size}", _summary, depth_factor=_depth))
