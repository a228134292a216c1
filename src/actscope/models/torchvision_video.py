"""torchvision's video classification models, registered with their Kinetics-400 weights.

The builders return torchvision's own modules (random weights), so torchvision's checkpoints
load into them unchanged; :func:`actscope.weights.load_pretrained` fetches them through
torchvision's weights enums when online, or reads a local copy of the ``.pth`` file.

Inputs follow each weights enum's metadata: clip length and frame rate (``stride`` assumes a
30 fps video: 15 fps is every 2nd frame, 7.5 fps every 4th), resize and crop, mean and std.
"""

from __future__ import annotations

from torch import nn
from torchvision.models import video as tv

from actscope.models.kinetics import KINETICS400_CLASSES, KINETICS_TERMS, TORCHVISION_LICENCE
from actscope.models.registry import VideoInput, WeightsInfo, register_model
from actscope.video.transforms import IMAGENET_MEAN, IMAGENET_STD, KINETICS_MEAN, KINETICS_STD

_PORTED_MVIT = f"Apache-2.0 (PySlowFast weights, ported by torchvision); {KINETICS_TERMS}"
_PORTED_SWIN = (
    f"Apache-2.0 (Video Swin Transformer weights, ported by torchvision); {KINETICS_TERMS}"
)


def _weights(enum_member, licence: str = TORCHVISION_LICENCE) -> WeightsInfo:
    meta = enum_member.meta
    top1 = meta["_metrics"]["Kinetics-400"]["acc@1"]
    return WeightsInfo(
        name=enum_member.name.lower().replace("_", "-"),
        source=f"torchvision:{type(enum_member).__name__}.{enum_member.name}",
        classes=KINETICS400_CLASSES,
        licence=licence,
        metrics={"acc@1": top1},
        dataset="Kinetics-400",
    )


_RESNET_INPUT = VideoInput(16, 2, 112, 128, KINETICS_MEAN, KINETICS_STD)
_MVIT_INPUT = VideoInput(16, 4, 224, 256, (0.45, 0.45, 0.45), (0.225, 0.225, 0.225))
_SWIN_INPUT = VideoInput(32, 2, 224, 256, IMAGENET_MEAN, IMAGENET_STD)


@register_model(
    "r3d_18",
    family="cnn3d",
    input=_RESNET_INPUT,
    weights=(_weights(tv.R3D_18_Weights.KINETICS400_V1),),
)
def r3d_18(num_classes: int = 400) -> nn.Module:
    """R3D-18: 3D ResNet-18 (torchvision)."""
    return tv.r3d_18(num_classes=num_classes)


@register_model(
    "mc3_18",
    family="cnn3d",
    input=_RESNET_INPUT,
    weights=(_weights(tv.MC3_18_Weights.KINETICS400_V1),),
)
def mc3_18(num_classes: int = 400) -> nn.Module:
    """MC3-18: mixed 3D/2D convolution ResNet-18 (torchvision)."""
    return tv.mc3_18(num_classes=num_classes)


@register_model(
    "r2plus1d_18",
    family="cnn3d",
    input=_RESNET_INPUT,
    weights=(_weights(tv.R2Plus1D_18_Weights.KINETICS400_V1),),
)
def r2plus1d_18(num_classes: int = 400) -> nn.Module:
    """R(2+1)D-18: factorised spatial/temporal convolution ResNet-18 (torchvision)."""
    return tv.r2plus1d_18(num_classes=num_classes)


# torchvision evaluates S3D on 128-frame clips at 15 fps, resized to 256x256 (not keeping
# the aspect ratio) and centre-cropped to 224.
@register_model(
    "s3d",
    family="cnn3d",
    input=VideoInput(128, 2, 224, 256, KINETICS_MEAN, KINETICS_STD),
    weights=(_weights(tv.S3D_Weights.KINETICS400_V1),),
)
def s3d(num_classes: int = 400, dropout: float = 0.2) -> nn.Module:
    """S3D: separable 3D Inception network (torchvision)."""
    return tv.s3d(num_classes=num_classes, dropout=dropout)


@register_model(
    "mvit_v1_b",
    family="transformer",
    input=_MVIT_INPUT,
    weights=(_weights(tv.MViT_V1_B_Weights.KINETICS400_V1, _PORTED_MVIT),),
)
def mvit_v1_b(num_classes: int = 400, dropout: float = 0.5) -> nn.Module:
    """MViT-B v1: multiscale vision transformer; input fixed at 16 x 224 x 224 (torchvision)."""
    return tv.mvit_v1_b(num_classes=num_classes, dropout=dropout)


@register_model(
    "mvit_v2_s",
    family="transformer",
    input=_MVIT_INPUT,
    weights=(_weights(tv.MViT_V2_S_Weights.KINETICS400_V1, _PORTED_MVIT),),
)
def mvit_v2_s(num_classes: int = 400, dropout: float = 0.5) -> nn.Module:
    """MViT-S v2: multiscale vision transformer; input fixed at 16 x 224 x 224 (torchvision)."""
    return tv.mvit_v2_s(num_classes=num_classes, dropout=dropout)


@register_model(
    "swin3d_t",
    family="transformer",
    input=_SWIN_INPUT,
    weights=(_weights(tv.Swin3D_T_Weights.KINETICS400_V1, _PORTED_SWIN),),
)
def swin3d_t(num_classes: int = 400, dropout: float = 0.0) -> nn.Module:
    """Video Swin-T: shifted-window video transformer (torchvision)."""
    return tv.swin3d_t(num_classes=num_classes, dropout=dropout)


@register_model(
    "swin3d_s",
    family="transformer",
    input=_SWIN_INPUT,
    weights=(_weights(tv.Swin3D_S_Weights.KINETICS400_V1, _PORTED_SWIN),),
)
def swin3d_s(num_classes: int = 400, dropout: float = 0.0) -> nn.Module:
    """Video Swin-S: shifted-window video transformer (torchvision)."""
    return tv.swin3d_s(num_classes=num_classes, dropout=dropout)


@register_model(
    "swin3d_b",
    family="transformer",
    input=_SWIN_INPUT,
    weights=(
        _weights(tv.Swin3D_B_Weights.KINETICS400_V1, _PORTED_SWIN),
        _weights(tv.Swin3D_B_Weights.KINETICS400_IMAGENET22K_V1, _PORTED_SWIN),
    ),
)
def swin3d_b(num_classes: int = 400, dropout: float = 0.0) -> nn.Module:
    """Video Swin-B: shifted-window video transformer (torchvision)."""
    return tv.swin3d_b(num_classes=num_classes, dropout=dropout)
