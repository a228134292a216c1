"""torchvision's video classification models, registered with their Kinetics-400 weights.

The builders return torchvision's own modules (random weights), so torchvision's checkpoints
load into them unchanged; :func:`actscope.weights.load_pretrained` fetches them through
torchvision's weights enums when online, or reads a local copy of the ``.pth`` file.

Inputs follow each weights enum's metadata: clip length and frame rate (``stride`` assumes a
30 fps video: 15 fps is every 2nd frame, 7.5 fps every 4th), resize and crop, mean and std.
"""

from __future__ import annotations

from torchvision.models import video as tv

from actscope.models.kinetics import KINETICS_TERMS, TORCHVISION_LICENCE, kinetics400_weights
from actscope.models.registry import WeightsInfo, register_model, variant
from actscope.video.spec import ClipSpec
from actscope.video.transforms import IMAGENET_MEAN, IMAGENET_STD, KINETICS_MEAN, KINETICS_STD

_PORTED_MVIT = f"Apache-2.0 (PySlowFast weights, ported by torchvision); {KINETICS_TERMS}"
_PORTED_SWIN = (
    f"Apache-2.0 (Video Swin Transformer weights, ported by torchvision); {KINETICS_TERMS}"
)


def _weights(enum_member, licence: str = TORCHVISION_LICENCE) -> WeightsInfo:
    meta = enum_member.meta
    top1 = meta["_metrics"]["Kinetics-400"]["acc@1"]
    return kinetics400_weights(
        enum_member.name.lower().replace("_", "-"),
        f"torchvision:{type(enum_member).__name__}.{enum_member.name}",
        licence,
        {"acc@1": top1},
    )


_RESNET_INPUT = ClipSpec(
    frames=16, stride=2, size=112, resize=128, mean=KINETICS_MEAN, std=KINETICS_STD
)
_MVIT_INPUT = ClipSpec(
    frames=16, stride=4, size=224, resize=256, mean=(0.45, 0.45, 0.45), std=(0.225, 0.225, 0.225)
)
_SWIN_INPUT = ClipSpec(
    frames=32, stride=2, size=224, resize=256, mean=IMAGENET_MEAN, std=IMAGENET_STD
)


# torchvision evaluates S3D on 128-frame clips at 15 fps, resized to 256x256 (not keeping
# the aspect ratio) and centre-cropped to 224.
_S3D_INPUT = ClipSpec(
    frames=128, stride=2, size=224, resize=256, mean=KINETICS_MEAN, std=KINETICS_STD
)

# name, family, input, weights, torchvision builder, summary
_MODELS = (
    ("r3d_18", "cnn3d", _RESNET_INPUT, (_weights(tv.R3D_18_Weights.KINETICS400_V1),),
     tv.r3d_18, "R3D-18: 3D ResNet-18 (torchvision)."),
    ("mc3_18", "cnn3d", _RESNET_INPUT, (_weights(tv.MC3_18_Weights.KINETICS400_V1),),
     tv.mc3_18, "MC3-18: mixed 3D/2D convolution ResNet-18 (torchvision)."),
    ("r2plus1d_18", "cnn3d", _RESNET_INPUT, (_weights(tv.R2Plus1D_18_Weights.KINETICS400_V1),),
     tv.r2plus1d_18,
     "R(2+1)D-18: factorised spatial/temporal convolution ResNet-18 (torchvision)."),
    ("s3d", "cnn3d", _S3D_INPUT, (_weights(tv.S3D_Weights.KINETICS400_V1),),
     tv.s3d, "S3D: separable 3D Inception network (torchvision)."),
    ("mvit_v1_b", "transformer", _MVIT_INPUT,
     (_weights(tv.MViT_V1_B_Weights.KINETICS400_V1, _PORTED_MVIT),), tv.mvit_v1_b,
     "MViT-B v1: multiscale vision transformer; input fixed at 16 x 224 x 224 (torchvision)."),
    ("mvit_v2_s", "transformer", _MVIT_INPUT,
     (_weights(tv.MViT_V2_S_Weights.KINETICS400_V1, _PORTED_MVIT),), tv.mvit_v2_s,
     "MViT-S v2: multiscale vision transformer; input fixed at 16 x 224 x 224 (torchvision)."),
    ("swin3d_t", "transformer", _SWIN_INPUT,
     (_weights(tv.Swin3D_T_Weights.KINETICS400_V1, _PORTED_SWIN),), tv.swin3d_t,
     "Video Swin-T: shifted-window video transformer (torchvision)."),
    ("swin3d_s", "transformer", _SWIN_INPUT,
     (_weights(tv.Swin3D_S_Weights.KINETICS400_V1, _PORTED_SWIN),), tv.swin3d_s,
     "Video Swin-S: shifted-window video transformer (torchvision)."),
    ("swin3d_b", "transformer", _SWIN_INPUT,
     (_weights(tv.Swin3D_B_Weights.KINETICS400_V1, _PORTED_SWIN),
      _weights(tv.Swin3D_B_Weights.KINETICS400_IMAGENET22K_V1, _PORTED_SWIN)), tv.swin3d_b,
     "Video Swin-B: shifted-window video transformer (torchvision)."),
)  # fmt: skip

for _name, _family, _input, _known, _make, _summary in _MODELS:
    register_model(_name, family=_family, input=_input, weights=_known)(
        variant(_make, _name, _summary)
    )
