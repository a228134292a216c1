"""Parameter counts and compute of registered models at their default input.

:func:`measure` builds a model on PyTorch's ``meta`` device (shapes only: no memory for
weights, no arithmetic) and counts its operations with
``torch.utils.flop_counter.FlopCounterMode``. Compute is reported in multiply-adds (MACs),
the unit the PySlowFast, PyTorchVideo and torchvision model-zoo tables call "FLOPs";
FlopCounterMode counts two FLOPs per multiply-add, so ``gmacs = flops / 2e9``.

:data:`MEASURED` holds the values of the RGB zoo, written by
``benchmarks/bench_models.py --write-stats`` so that ``actscope models`` need not build
every model; ``tests/test_rgb_models.py`` checks it against :func:`measure`. Models missing
from it are measured when asked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
from torch.utils.flop_counter import FlopCounterMode

from actscope.models.registry import ModelEntry
from actscope.pose.features import BodyFeatures
from actscope.video.spec import ClipSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelStats:
    """``params``: number of parameters; ``gmacs``: multiply-adds (1e9) for one clip at the
    entry's default input; ``None`` where they could not be measured."""

    params: int | None
    gmacs: float | None


def example_shape(entry: ModelEntry) -> tuple[int, ...] | None:
    """One input of the entry's default size: ``(1, 3, T, H, W)`` for video,
    ``(1, C, T, V, M)`` for skeletons (``V`` from the joint layout); None if unknown."""
    spec = entry.input
    if isinstance(spec, ClipSpec):
        return (1, 3, spec.frames, spec.size, spec.size)
    if isinstance(spec, BodyFeatures):
        return (1, spec.channels, spec.frames, spec.num_joints, spec.persons)
    return None


def _build_on_meta(entry: ModelEntry) -> torch.nn.Module:
    with torch.device("meta"):
        try:
            return entry.builder()
        except TypeError:  # builders that require the number of classes
            classes = entry.weights[0].classes if entry.weights else ()
            return entry.builder(num_classes=len(classes) or 10)


def measure(entry: ModelEntry) -> ModelStats:
    """Build ``entry`` on the meta device and count its parameters and multiply-adds."""
    try:
        model = _build_on_meta(entry).eval()
    except Exception as exc:  # a family's builder that cannot be called without arguments
        log.info("cannot build %s without arguments: %s", entry.name, exc)
        return ModelStats(None, None)
    params = sum(p.numel() for p in model.parameters())
    shape = example_shape(entry)
    if shape is None:
        return ModelStats(params, None)
    counter = FlopCounterMode(display=False)
    try:
        with counter, torch.no_grad():
            model(torch.empty(shape, device="meta"))
    except Exception as exc:  # an op without a meta implementation
        log.info("cannot count the operations of %s: %s", entry.name, exc)
        return ModelStats(params, None)
    return ModelStats(params, round(counter.get_total_flops() / 2e9, 3))


def stats_of(entry: ModelEntry) -> ModelStats:
    """Recorded stats of ``entry`` when :data:`MEASURED` has them, else measured now."""
    return MEASURED.get(entry.name) or measure(entry)


# Written by `benchmarks/bench_models.py --write-stats`; do not edit by hand.
# fmt: off
MEASURED: dict[str, ModelStats] = {
    "i3d_r50": ModelStats(28043472, 37.104),
    "mc3_18": ModelStats(11695440, 43.343),
    "mvit_v1_b": ModelStats(36610672, 70.599),
    "mvit_v2_s": ModelStats(34537744, 64.224),
    "r2plus1d_18": ModelStats(31505325, 40.519),
    "r3d_18": ModelStats(33371472, 40.697),
    "s3d": ModelStats(8320048, 143.833),
    "slowfast_r50_4x16": ModelStats(34480216, 36.099),
    "slowfast_r50_8x8": ModelStats(34566488, 65.709),
    "swin3d_b": ModelStats(88048984, 281.333),
    "swin3d_s": ModelStats(49816678, 165.682),
    "swin3d_t": ModelStats(28158070, 87.764),
    "timesformer_base": ModelStats(121566352, 195.83),
    "tsm_r50": ModelStats(24327632, 32.704),
    "tsn_r50": ModelStats(24327632, 32.704),
    "videomae_base": ModelStats(86534800, 180.345),
    "vivit_b": ModelStats(88954000, 451.525),
    "x3d_l": ModelStats(6153432, 18.368),
    "x3d_m": ModelStats(3794322, 4.732),
    "x3d_s": ModelStats(3794322, 1.963),
    "x3d_xs": ModelStats(3794322, 0.605),
}
# fmt: on
