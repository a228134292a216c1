"""I3D ResNet-50 (Carreira & Zisserman 2017, in the ResNet form of Wang et al. 2018).

A ResNet-50 with "inflated" temporal kernels: a ``5 x 7 x 7`` stem, ``3 x 1 x 1`` first convs
in a fixed pattern of blocks, and a ``2 x 1 x 1`` temporal max pool after the first stage. The
layout follows PySlowFast's ``i3d`` architecture and PyTorchVideo's I3D R50, so their Kinetics
checkpoints load through :mod:`actscope.models.convert`.

Published parameter count: 28.04 M (PyTorchVideo model zoo table, I3D R50 8x8).
"""

from __future__ import annotations

import torch
from torch import nn

from actscope.models.kinetics import PYSLOWFAST_LICENCE, PYTORCHVIDEO_LICENCE, kinetics400_weights
from actscope.models.layers import ResNetStem3d, cycle_kernels, resnet_stage
from actscope.models.registry import register_model
from actscope.video.spec import ClipSpec

# Temporal size of each block's first conv, per stage, repeated over the stage's blocks.
I3D_TEMPORAL_KERNELS = ([3], [3, 1], [3, 1], [1, 3])


class I3D(nn.Module):
    """I3D ResNet mapping clips ``(N, 3, T, H, W)`` to logits ``(N, num_classes)``.

    ``width`` is the stem width (64 for ResNet-50) and ``depths`` the blocks per stage;
    small values give tiny models for tests. ``T`` must be even (the first stage is followed
    by a temporal max pool of 2).
    """

    def __init__(
        self,
        num_classes: int = 400,
        *,
        width: int = 64,
        depths: tuple[int, int, int, int] = (3, 4, 6, 3),
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.stem = ResNetStem3d(3, width, temporal_kernel=5)
        dims = [width * 4 * 2**i for i in range(4)]  # 256, 512, 1024, 2048
        kernels = [cycle_kernels(k, d) for k, d in zip(I3D_TEMPORAL_KERNELS, depths, strict=True)]
        self.layer1 = resnet_stage(width, dims[0] // 4, dims[0], kernels[0], 1)
        self.pool1 = nn.MaxPool3d((2, 1, 1), stride=(2, 1, 1))
        self.layer2 = resnet_stage(dims[0], dims[1] // 4, dims[1], kernels[1], 2)
        self.layer3 = resnet_stage(dims[1], dims[2] // 4, dims[2], kernels[2], 2)
        self.layer4 = resnet_stage(dims[2], dims[3] // 4, dims[3], kernels[3], 2)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(dims[3], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.layer1(self.stem(x)))
        x = self.layer4(self.layer3(self.layer2(x)))
        return self.fc(self.dropout(x.mean(dim=(2, 3, 4))))


@register_model(
    "i3d_r50",
    family="cnn3d",
    # 8 frames x stride 8, short side 256 and a 256 crop: PySlowFast's I3D_8x8_R50 test setting.
    input=ClipSpec(
        frames=8, stride=8, size=256, resize=256, mean=(0.45, 0.45, 0.45), std=(0.225, 0.225, 0.225)
    ),
    weights=(
        kinetics400_weights(
            "kinetics400-pytorchvideo",
            "url:https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo/kinetics/I3D_8x8_R50.pyth",
            PYTORCHVIDEO_LICENCE,
            {"acc@1 (PyTorchVideo)": 73.27},
        ),
        kinetics400_weights(
            "kinetics400-pyslowfast-caffe2",
            "url:https://dl.fbaipublicfiles.com/pyslowfast/model_zoo/kinetics400/I3D_8x8_R50.pkl",
            PYSLOWFAST_LICENCE,
            {"acc@1 (30-view)": 73.5},
        ),
    ),
)
def i3d_r50(num_classes: int = 400, dropout: float = 0.5) -> I3D:
    """I3D ResNet-50 (8x8): 28.0 M parameters."""
    return I3D(num_classes, dropout=dropout)
