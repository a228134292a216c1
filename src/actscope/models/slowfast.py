"""SlowFast ResNet-50 (Feichtenhofer et al., ICCV 2019).

Two ResNet pathways over the same clip: the Slow one sees every ``alpha``-th frame with full
width, the Fast one every frame with ``1/beta_inv`` of the width. After the stem and each of
the first three stages a lateral connection (a ``k x 1 x 1`` conv with temporal stride
``alpha``) brings Fast features into the Slow pathway by concatenation. The model takes one
clip ``(N, 3, T, H, W)`` and makes both pathways itself, so it is called like every other
model. Layout as PySlowFast's ``SlowFast`` and PyTorchVideo's ``create_slowfast``; their
checkpoints load through :mod:`actscope.models.convert`.

Published parameter counts: 34.57 M (8x8) and 34.48 M (4x16), PyTorchVideo model zoo table.
"""

from __future__ import annotations

import torch
from torch import nn

from actscope.errors import ModelError
from actscope.models.kinetics import PYSLOWFAST_LICENCE, PYTORCHVIDEO_LICENCE, kinetics400_weights
from actscope.models.layers import ResNetStem3d, batch_norm, resnet_stage
from actscope.models.registry import WeightsInfo, register_model, variant
from actscope.video.spec import ClipSpec

# Temporal size of the first conv of every block, per stage (res2..res5).
SLOW_KERNELS = (1, 1, 3, 3)
FAST_KERNELS = (3, 3, 3, 3)


class FastToSlow(nn.Module):
    """Lateral connection: ``(N, c, T, H, W)`` Fast features -> ``(N, c * ratio, T / alpha,
    H, W)``, concatenated to the Slow features."""

    def __init__(self, channels: int, ratio: int, kernel: int, alpha: int) -> None:
        super().__init__()
        self.conv = nn.Conv3d(
            channels,
            channels * ratio,
            (kernel, 1, 1),
            stride=(alpha, 1, 1),
            padding=(kernel // 2, 0, 0),
            bias=False,
        )
        self.bn = batch_norm(channels * ratio)

    def forward(self, slow: torch.Tensor, fast: torch.Tensor) -> torch.Tensor:
        return torch.cat([slow, torch.relu(self.bn(self.conv(fast)))], dim=1)


class SlowFast(nn.Module):
    """SlowFast ResNet mapping clips ``(N, 3, T, H, W)`` to logits ``(N, num_classes)``.

    ``T`` frames feed the Fast pathway; ``T // alpha`` evenly spaced ones feed the Slow
    pathway (``T`` must be a multiple of ``alpha``). ``width`` and ``depths`` shrink the
    network for tests (ResNet-50: 64 and (3, 4, 6, 3)).
    """

    def __init__(
        self,
        num_classes: int = 400,
        *,
        alpha: int = 4,
        beta_inv: int = 8,
        fusion_ratio: int = 2,
        fusion_kernel: int = 7,
        width: int = 64,
        depths: tuple[int, int, int, int] = (3, 4, 6, 3),
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.alpha = alpha
        fast_width = width // beta_inv
        self.slow_stem = ResNetStem3d(3, width, temporal_kernel=1)
        self.fast_stem = ResNetStem3d(3, fast_width, temporal_kernel=5)
        self.fusions = nn.ModuleList([FastToSlow(fast_width, fusion_ratio, fusion_kernel, alpha)])
        self.slow_layers = nn.ModuleList()
        self.fast_layers = nn.ModuleList()
        slow_in, fast_in = width + fast_width * fusion_ratio, fast_width
        for stage, depth in enumerate(depths):
            slow_out = width * 4 * 2**stage
            fast_out = slow_out // beta_inv
            stride = 1 if stage == 0 else 2
            self.slow_layers.append(
                resnet_stage(
                    slow_in, slow_out // 4, slow_out, [SLOW_KERNELS[stage]] * depth, stride
                )
            )
            self.fast_layers.append(
                resnet_stage(
                    fast_in, fast_out // 4, fast_out, [FAST_KERNELS[stage]] * depth, stride
                )
            )
            if stage < 3:
                self.fusions.append(FastToSlow(fast_out, fusion_ratio, fusion_kernel, alpha))
                slow_in = slow_out + fast_out * fusion_ratio
            fast_in = fast_out
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(slow_out + fast_out, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        frames = x.shape[2]
        if frames % self.alpha:
            raise ModelError(
                f"SlowFast needs a multiple of {self.alpha} frames, got {frames}; "
                "sample a clip of the model's input length"
            )
        index = torch.linspace(0, frames - 1, frames // self.alpha, device=x.device).long()
        slow = self.slow_stem(x.index_select(2, index))
        fast = self.fast_stem(x)
        slow = self.fusions[0](slow, fast)
        for stage in range(4):
            slow = self.slow_layers[stage](slow)
            fast = self.fast_layers[stage](fast)
            if stage < 3:
                slow = self.fusions[stage + 1](slow, fast)
        features = torch.cat([slow.mean(dim=(2, 3, 4)), fast.mean(dim=(2, 3, 4))], dim=1)
        return self.fc(self.dropout(features))


SLOWFAST_MEAN = (0.45, 0.45, 0.45)
SLOWFAST_STD = (0.225, 0.225, 0.225)


def _weights(config: str, ptv_top1: float, c2_top1: float) -> tuple[WeightsInfo, ...]:
    return (
        kinetics400_weights(
            "kinetics400-pytorchvideo",
            (
                "url:https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo/kinetics/"
                f"SLOWFAST_{config}_R50.pyth"
            ),
            PYTORCHVIDEO_LICENCE,
            {"acc@1 (PyTorchVideo)": ptv_top1},
        ),
        kinetics400_weights(
            "kinetics400-pyslowfast-caffe2",
            (
                "url:https://dl.fbaipublicfiles.com/pyslowfast/model_zoo/kinetics400/"
                f"SLOWFAST_{config}_R50.pkl"
            ),
            PYSLOWFAST_LICENCE,
            {"acc@1 (30-view)": c2_top1},
        ),
    )


# 32 frames x stride 2 for the Fast pathway, short side 256 and a 256 crop: the test setting
# of PySlowFast's configs/Kinetics/c2/SLOWFAST_*_R50.yaml.
_INPUT = ClipSpec(frames=32, stride=2, size=256, resize=256, mean=SLOWFAST_MEAN, std=SLOWFAST_STD)
# config, alpha, fusion kernel, acc@1 PyTorchVideo, acc@1 PySlowFast (30 views), summary
_CONFIGS = (
    ("8x8", 4, 7, 76.94, 77.0, "SlowFast R50 8x8 (alpha 4, fusion kernel 7): 34.6 M parameters."),
    ("4x16", 8, 5, 75.34, 75.6, "SlowFast R50 4x16 (alpha 8, fusion kernel 5): 34.5 M parameters."),
)
for _config, _alpha, _kernel, _ptv_top1, _top1, _summary in _CONFIGS:
    register_model(
        f"slowfast_r50_{_config}",
        family="cnn3d",
        input=_INPUT,
        weights=_weights(_config, _ptv_top1, _top1),
    )(variant(SlowFast, f"slowfast_r50_{_config}", _summary, alpha=_alpha, fusion_kernel=_kernel))
