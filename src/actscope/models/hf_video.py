"""TimeSformer, VideoMAE and ViViT through Hugging Face transformers.

:class:`HFVideoClassifier` wraps a ``*ForVideoClassification`` model so it takes actscope's
``(N, C, T, H, W)`` clips like every other model. Builders create the architecture from a
config (random weights; small sizes give tiny models for tests); pretrained weights come from
a local ``save_pretrained`` folder or, online, a hub id, through
:func:`actscope.weights.load_pretrained`. transformers is imported inside functions only.

Preprocessing is actscope's own (:mod:`actscope.video.transforms`); each entry's
:class:`~actscope.video.spec.ClipSpec` carries the values of the model's card and
preprocessor config.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from actscope.errors import ModelError
from actscope.models.kinetics import CC_BY_NC_LICENCE, MIT_LICENCE, kinetics400_weights
from actscope.models.registry import register_model
from actscope.video.spec import ClipSpec
from actscope.video.transforms import IMAGENET_MEAN, IMAGENET_STD

# model_type in a Hugging Face config.json -> (config class, model class) in transformers.
HF_CLASSES = {
    "timesformer": ("TimesformerConfig", "TimesformerForVideoClassification"),
    "videomae": ("VideoMAEConfig", "VideoMAEForVideoClassification"),
    "vivit": ("VivitConfig", "VivitForVideoClassification"),
}
# Registered name -> the model_type its Hugging Face checkpoints must have.
HF_MODEL_TYPES = {
    "timesformer_base": "timesformer",
    "videomae_base": "videomae",
    "vivit_b": "vivit",
}


def transformers_module():
    """The transformers package, or a :class:`ModelError` saying how to install it."""
    try:
        import transformers
    except ImportError:
        raise ModelError(
            "this model needs Hugging Face transformers; install it with "
            "`pip install 'actscope[hf]'`"
        ) from None
    return transformers


class HFVideoClassifier(nn.Module):
    """``(N, C, T, H, W)`` clips -> ``(N, num_labels)`` logits of a transformers video model."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    @property
    def model_type(self) -> str:
        return self.model.config.model_type

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # transformers' video models take pixel_values as (N, T, C, H, W).
        return self.model(pixel_values=x.transpose(1, 2)).logits


def vit_config(
    num_classes: int,
    num_frames: int,
    image_size: int,
    *,
    hidden_size: int = 768,
    num_layers: int = 12,
    num_heads: int = 12,
    intermediate_size: int = 3072,
    dropout: float = 0.0,
    **extra: Any,
) -> dict[str, Any]:
    """A video ViT's transformers config values, ViT-B sizes by default; ``extra`` are
    passed as they are (``patch_size``, ``tubelet_size``, ...)."""
    return {
        "num_labels": num_classes,
        "num_frames": num_frames,
        "image_size": image_size,
        "hidden_size": hidden_size,
        "num_hidden_layers": num_layers,
        "num_attention_heads": num_heads,
        "intermediate_size": intermediate_size,
        "hidden_dropout_prob": dropout,
        **extra,
    }


def build_hf(model_type: str, **config: object) -> HFVideoClassifier:
    """A randomly initialised ``model_type`` model from config values (transformers names)."""
    transformers = transformers_module()
    config_name, model_name = HF_CLASSES[model_type]
    hf_config = getattr(transformers, config_name)(**config)
    return HFVideoClassifier(getattr(transformers, model_name)(hf_config))


@register_model(
    "timesformer_base",
    family="transformer",
    # Model card / preprocessor config of facebook/timesformer-base-finetuned-k400: 8 frames
    # (1 of every 32 in the paper's 8x32 setting), short side 224, 224 crop, mean 0.45,
    # std 0.225.
    input=ClipSpec(
        frames=8,
        stride=32,
        size=224,
        resize=224,
        mean=(0.45, 0.45, 0.45),
        std=(0.225, 0.225, 0.225),
    ),
    weights=(
        kinetics400_weights(
            "kinetics400-hf",
            "hf:facebook/timesformer-base-finetuned-k400",
            CC_BY_NC_LICENCE,
            {"acc@1 (paper, 3 crops)": 78.0},
        ),
    ),
)
def timesformer_base(
    num_classes: int = 400, num_frames: int = 8, image_size: int = 224, **vit: Any
) -> HFVideoClassifier:
    """TimeSformer-B: ViT with divided space-time attention (Hugging Face).

    ``vit``: :func:`vit_config`'s sizes (``hidden_size``, ``num_layers``, ``num_heads``,
    ``intermediate_size``, ``dropout``) and ``patch_size`` (16)."""
    vit = {"patch_size": 16, **vit}
    return build_hf("timesformer", **vit_config(num_classes, num_frames, image_size, **vit))


@register_model(
    "videomae_base",
    family="transformer",
    # MCG-NJU/videomae-base-finetuned-kinetics: 16 frames x stride 4, short side 224, 224 crop,
    # ImageNet mean/std.
    input=ClipSpec(frames=16, stride=4, size=224, resize=224, mean=IMAGENET_MEAN, std=IMAGENET_STD),
    weights=(
        kinetics400_weights(
            "kinetics400-hf",
            "hf:MCG-NJU/videomae-base-finetuned-kinetics",
            CC_BY_NC_LICENCE,
            {"acc@1 (model card)": 80.9},
        ),
    ),
)
def videomae_base(
    num_classes: int = 400, num_frames: int = 16, image_size: int = 224, **vit: Any
) -> HFVideoClassifier:
    """VideoMAE ViT-B: ViT on 2 x 16 x 16 tubelets, mean-pooled (Hugging Face).

    ``vit``: :func:`vit_config`'s sizes, ``patch_size`` (16) and ``tubelet_size`` (2)."""
    vit = {"patch_size": 16, "tubelet_size": 2, **vit}
    return build_hf("videomae", **vit_config(num_classes, num_frames, image_size, **vit))


@register_model(
    "vivit_b",
    family="transformer",
    # google/vivit-b-16x2-kinetics400: 32 frames x stride 2, short side 256, 224 crop. Its
    # processor maps [0, 255] to [-1, 1] and then normalises by mean 0.5, std 0.5, i.e.
    # 4u - 3 for u in [0, 1]: mean 0.75, std 0.25 on actscope's [0, 1] values.
    input=ClipSpec(
        frames=32, stride=2, size=224, resize=256, mean=(0.75, 0.75, 0.75), std=(0.25, 0.25, 0.25)
    ),
    weights=(
        kinetics400_weights("kinetics400-hf", "hf:google/vivit-b-16x2-kinetics400", MIT_LICENCE),
    ),
)
def vivit_b(
    num_classes: int = 400,
    num_frames: int = 32,
    image_size: int = 224,
    tubelet_size: tuple[int, int, int] = (2, 16, 16),
    **vit: Any,
) -> HFVideoClassifier:
    """ViViT-B/16x2: ViT over 2 x 16 x 16 tubelets, joint space-time attention (Hugging Face).

    ``vit``: :func:`vit_config`'s sizes."""
    config = vit_config(num_classes, num_frames, image_size, tubelet_size=list(tubelet_size), **vit)
    return build_hf("vivit", **config)
