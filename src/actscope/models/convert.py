"""Key mappings from published checkpoint formats to actscope's own models.

Pure functions, state dict in, state dict out; reading files lives in :mod:`actscope.weights`.

Formats and where their parameter names come from:

* ``pyslowfast`` -- ``torch.save({"model_state": ...})`` files of PySlowFast
  (``slowfast/models/video_model_builder.py``: ``s1.pathway0_stem``, ``s2.pathway0_res0``,
  ``s1_fuse``, ``head.projection``), e.g. its X3D model zoo ``x3d_*.pyth``;
* ``pyslowfast-caffe2`` -- the Caffe2 ``.pkl`` files of PySlowFast's SlowFast/I3D model zoo
  (``{"blobs": {name: ndarray}}``, names such as ``res2_0_branch2a_w``); renamed to the
  ``pyslowfast`` names first (:func:`caffe2_to_pyslowfast`);
* ``pytorchvideo`` -- PyTorchVideo's model zoo ``.pyth`` files (``{"model_state": ...}``,
  ``blocks.N...`` names of ``create_x3d``/``create_resnet``/``create_slowfast``);
* ``tsm`` -- the official TSM repository's ``{"state_dict": ...}`` files
  (``module.base_model...``, ``module.new_fc``);
* ``efficientgcn`` -- the EfficientGCN authors' ``{"model": ...}`` files
  (``input_branches.0.stem_scn...``, ``main_stream.block-0_tcn-0...``), renamed by
  :func:`actscope.models.efficientgcn.efficientgcn_from_official`.

Block-level correspondence (ResNet and X3D bottlenecks share actscope's
:class:`~actscope.models.layers.Bottleneck3d`):

=====================  ========================  ===========================
actscope               PySlowFast                PyTorchVideo
=====================  ========================  ===========================
``conv1`` / ``bn1``    ``branch2.a`` / ``a_bn``  ``branch2.conv_a`` / ``norm_a``
``conv2`` / ``bn2``    ``branch2.b`` / ``b_bn``  ``branch2.conv_b`` / ``norm_b`` (X3D: ``norm_b.0``)
``se.fc1``/``se.fc2``  ``branch2.se.fc1/fc2``    ``branch2.norm_b.1.block.0`` / ``.block.2``
``conv3`` / ``bn3``    ``branch2.c`` / ``c_bn``  ``branch2.conv_c`` / ``norm_c``
``shortcut.conv/bn``   ``branch1`` / ``branch1_bn``  ``branch1_conv`` / ``branch1_norm``
=====================  ========================  ===========================

PyTorchVideo's X3D has no batch norm on a shortcut that keeps the channel count (the first
block of the first stage); the mapping inserts an identity batch norm there, which leaves the
outputs unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import torch
from torch import nn

from actscope.errors import ModelError
from actscope.models.efficientgcn import EfficientGCN, efficientgcn_from_official
from actscope.models.i3d import I3D
from actscope.models.layers import BN_EPS
from actscope.models.slowfast import SlowFast
from actscope.models.tsm import TSM
from actscope.models.x3d import X3D

StateDict = dict[str, torch.Tensor]

_PYSLOWFAST_BLOCK = {
    "branch1": "shortcut.conv",
    "branch1_bn": "shortcut.bn",
    "branch2.a": "conv1",
    "branch2.a_bn": "bn1",
    "branch2.b": "conv2",
    "branch2.b_bn": "bn2",
    "branch2.c": "conv3",
    "branch2.c_bn": "bn3",
    "branch2.se.fc1": "se.fc1",
    "branch2.se.fc2": "se.fc2",
}
_PYTORCHVIDEO_BLOCK = {
    "branch1_conv": "shortcut.conv",
    "branch1_norm": "shortcut.bn",
    "branch2.conv_a": "conv1",
    "branch2.norm_a": "bn1",
    "branch2.conv_b": "conv2",
    "branch2.norm_b": "bn2",
    "branch2.norm_b.0": "bn2",
    "branch2.norm_b.1.block.0": "se.fc1",
    "branch2.norm_b.1.block.2": "se.fc2",
    "branch2.conv_c": "conv3",
    "branch2.norm_c": "bn3",
}
# Parameter and buffer names at the end of a key: "weight", "running_mean", ...
_LEAF = r"(weight|bias|running_mean|running_var|num_batches_tracked)"


def _block_key(rest: str, table: Mapping[str, str]) -> str | None:
    """``"branch2.a_bn.weight"`` -> ``"bn1.weight"`` through ``table``; None if unknown."""
    match = re.fullmatch(rf"(.+)\.{_LEAF}", rest)
    if match is None or match.group(1) not in table:
        return None
    return f"{table[match.group(1)]}.{match.group(2)}"


def _swap_prefix(key: str, prefixes: Mapping[str, str]) -> str | None:
    """``key`` with its first matching prefix replaced (``prefixes``: old -> new)."""
    for old, new in prefixes.items():
        if key.startswith(old):
            return new + key[len(old) :]
    return None


def _rename(state: Mapping[str, torch.Tensor], rename: Callable[[str], str | None]) -> StateDict:
    """Apply ``rename`` to every key; keys it does not know keep their name (and are then
    reported as unexpected by :func:`load_checked`)."""
    return {rename(key) or key: value for key, value in state.items()}


# --- PySlowFast ------------------------------------------------------------------------


def x3d_from_pyslowfast(state: Mapping[str, torch.Tensor]) -> StateDict:
    """PySlowFast ``X3D`` names -> :class:`~actscope.models.x3d.X3D` names."""

    prefixes = {
        "s1.pathway0_stem.conv_xy.": "stem.conv_xy.",
        "s1.pathway0_stem.conv.": "stem.conv_t.",
        "s1.pathway0_stem.bn.": "stem.bn.",
        "head.conv_5.": "head.conv5.",
        "head.conv_5_bn.": "head.bn5.",
        "head.lin_5.": "head.lin5.",
        "head.projection.": "head.fc.",
    }

    def rename(key: str) -> str | None:
        if new := _swap_prefix(key, prefixes):
            return new
        match = re.fullmatch(r"s([2-5])\.pathway0_res(\d+)\.(.+)", key)
        if match and (leaf := _block_key(match.group(3), _PYSLOWFAST_BLOCK)):
            return f"stages.{int(match.group(1)) - 2}.{match.group(2)}.{leaf}"
        return None

    return _rename(state, rename)


def i3d_from_pyslowfast(state: Mapping[str, torch.Tensor]) -> StateDict:
    """PySlowFast ``ResNet`` (arch ``i3d``) names -> :class:`~actscope.models.i3d.I3D` names."""

    prefixes = {"s1.pathway0_stem.": "stem.", "head.projection.": "fc."}

    def rename(key: str) -> str | None:
        if new := _swap_prefix(key, prefixes):
            return new
        match = re.fullmatch(r"s([2-5])\.pathway0_res(\d+)\.(.+)", key)
        if match and (leaf := _block_key(match.group(3), _PYSLOWFAST_BLOCK)):
            return f"layer{int(match.group(1)) - 1}.{match.group(2)}.{leaf}"
        return None

    return _rename(state, rename)


def slowfast_from_pyslowfast(state: Mapping[str, torch.Tensor]) -> StateDict:
    """PySlowFast ``SlowFast`` names -> :class:`~actscope.models.slowfast.SlowFast` names."""
    pathways = ("slow", "fast")

    def rename(key: str) -> str | None:
        if key.startswith("head.projection."):
            return "fc." + key[len("head.projection.") :]
        if match := re.fullmatch(r"s1\.pathway([01])_stem\.(.+)", key):
            return f"{pathways[int(match.group(1))]}_stem.{match.group(2)}"
        if match := re.fullmatch(rf"s([1-4])_fuse\.(conv_f2s|bn)\.{_LEAF}", key):
            part = "conv" if match.group(2) == "conv_f2s" else "bn"
            return f"fusions.{int(match.group(1)) - 1}.{part}.{match.group(3)}"
        match = re.fullmatch(r"s([2-5])\.pathway([01])_res(\d+)\.(.+)", key)
        if match and (leaf := _block_key(match.group(4), _PYSLOWFAST_BLOCK)):
            pathway, stage = pathways[int(match.group(2))], int(match.group(1)) - 2
            return f"{pathway}_layers.{stage}.{match.group(3)}.{leaf}"
        return None

    return _rename(state, rename)


# Caffe2 blob names of PySlowFast's .pkl model zoo, as rules applied in order; the "t_"
# prefix marks the Fast pathway. Written from the names in PySlowFast's
# slowfast/utils/c2_model_loading.py.
_CAFFE2_RULES: list[tuple[str, str]] = [
    (r"t_pool1_subsample_bn_(.+)", r"s1_fuse.bn.\1"),
    (r"t_pool1_subsample_(.+)", r"s1_fuse.conv_f2s.\1"),
    (r"t_res(\d)_\d+_branch2c_bn_subsample_bn_(.+)", r"s\1_fuse.bn.\2"),
    (r"t_res(\d)_\d+_branch2c_bn_subsample_(.+)", r"s\1_fuse.conv_f2s.\2"),
    (r"(t_)?res(\d)_(\d+)_branch2([abc])_bn_(.+)", r"s\2.pathway{p}_res\3.branch2.\4_bn.\5"),
    (r"(t_)?res(\d)_(\d+)_branch2([abc])_(.+)", r"s\2.pathway{p}_res\3.branch2.\4.\5"),
    (r"(t_)?res(\d)_(\d+)_branch1_bn_(.+)", r"s\2.pathway{p}_res\3.branch1_bn.\4"),
    (r"(t_)?res(\d)_(\d+)_branch1_(.+)", r"s\2.pathway{p}_res\3.branch1.\4"),
    (r"(t_)?res_conv1_bn_(.+)", r"s1.pathway{p}_stem.bn.\2"),
    (r"(t_)?conv1_(.+)", r"s1.pathway{p}_stem.conv.\2"),
    (r"pred_(.+)", r"head.projection.\1"),
]
_CAFFE2_LEAVES = {
    "w": "weight",
    "b": "bias",
    "s": "weight",
    "rm": "running_mean",
    "riv": "running_var",
}


def caffe2_to_pyslowfast(blobs: Mapping[str, torch.Tensor]) -> StateDict:
    """Caffe2 blob names (``res2_0_branch2a_bn_s``) -> PySlowFast names
    (``s2.pathway0_res0.branch2.a_bn.weight``). Optimiser state (``*_momentum``) and
    bookkeeping blobs (``lr``, ``model_iter``) are dropped."""
    renamed: StateDict = {}
    for name, value in blobs.items():
        if name.endswith("_momentum") or name in ("lr", "model_iter", "iter"):
            continue
        new = name
        for pattern, template in _CAFFE2_RULES:
            match = re.fullmatch(pattern, name)
            if match:
                pathway = "1" if name.startswith("t_") else "0"
                new = match.expand(template.replace("{p}", pathway))
                stem, _, leaf = new.rpartition(".")
                new = f"{stem}.{_CAFFE2_LEAVES.get(leaf, leaf)}"
                break
        renamed[new] = value
    return renamed


# --- PyTorchVideo ----------------------------------------------------------------------


def _strip_wrapper(key: str) -> str:
    # PySlowFast's PTV* wrappers keep the PyTorchVideo network as ``model``.
    return key[len("model.") :] if key.startswith("model.blocks.") else key


def x3d_from_pytorchvideo(state: Mapping[str, torch.Tensor]) -> StateDict:
    """PyTorchVideo ``create_x3d`` names -> :class:`~actscope.models.x3d.X3D` names.

    The stem's ``conv.conv_t`` holds the spatial ``1 x 3 x 3`` conv and ``conv.conv_xy``
    the temporal one (PyTorchVideo's ``Conv2plus1d`` slot names, swapped by
    ``create_x3d_stem``).
    """

    prefixes = {
        "blocks.0.conv.conv_t.": "stem.conv_xy.",
        "blocks.0.conv.conv_xy.": "stem.conv_t.",
        "blocks.0.norm.": "stem.bn.",
        "blocks.5.pool.pre_conv.": "head.conv5.",
        "blocks.5.pool.pre_norm.": "head.bn5.",
        "blocks.5.pool.post_conv.": "head.lin5.",
        "blocks.5.proj.": "head.fc.",
    }

    def rename(key: str) -> str | None:
        key = _strip_wrapper(key)
        if new := _swap_prefix(key, prefixes):
            return new
        match = re.fullmatch(r"blocks\.([1-4])\.res_blocks\.(\d+)\.(.+)", key)
        if match and (leaf := _block_key(match.group(3), _PYTORCHVIDEO_BLOCK)):
            return f"stages.{int(match.group(1)) - 1}.{match.group(2)}.{leaf}"
        return None

    return _add_identity_shortcut_norms(_rename(state, rename))


def _add_identity_shortcut_norms(state: StateDict) -> StateDict:
    """A batch norm that passes values through, for every projection shortcut without one."""
    for key in [k for k in state if k.endswith("shortcut.conv.weight")]:
        prefix = key[: -len("conv.weight")]
        if prefix + "bn.weight" in state:
            continue
        channels = state[key].shape[0]
        state[prefix + "bn.weight"] = torch.ones(channels)
        state[prefix + "bn.bias"] = torch.zeros(channels)
        state[prefix + "bn.running_mean"] = torch.zeros(channels)
        # (x - 0) / sqrt(var + eps) == x
        state[prefix + "bn.running_var"] = torch.full((channels,), 1.0 - BN_EPS)
        state[prefix + "bn.num_batches_tracked"] = torch.tensor(0)
    return state


def i3d_from_pytorchvideo(state: Mapping[str, torch.Tensor]) -> StateDict:
    """PyTorchVideo ``create_resnet`` (I3D R50) names -> :class:`~actscope.models.i3d.I3D`
    names. ``blocks.2`` is the parameter-free temporal pool after the first stage."""
    stage_of_block = {"1": 1, "3": 2, "4": 3, "5": 4}
    prefixes = {
        "blocks.0.conv.": "stem.conv.",
        "blocks.0.norm.": "stem.bn.",
        "blocks.6.proj.": "fc.",
    }

    def rename(key: str) -> str | None:
        key = _strip_wrapper(key)
        if new := _swap_prefix(key, prefixes):
            return new
        match = re.fullmatch(r"blocks\.(\d)\.res_blocks\.(\d+)\.(.+)", key)
        if match and match.group(1) in stage_of_block:
            leaf = _block_key(match.group(3), _PYTORCHVIDEO_BLOCK)
            if leaf:
                return f"layer{stage_of_block[match.group(1)]}.{match.group(2)}.{leaf}"
        return None

    return _rename(state, rename)


def slowfast_from_pytorchvideo(state: Mapping[str, torch.Tensor]) -> StateDict:
    """PyTorchVideo ``create_slowfast`` names -> :class:`~actscope.models.slowfast.SlowFast`
    names (``blocks.0``-``4``: stem and stages, each with ``multipathway_blocks.{0,1}`` and a
    ``multipathway_fusion``; ``blocks.6``: head)."""
    pathways = ("slow", "fast")

    def rename(key: str) -> str | None:
        key = _strip_wrapper(key)
        if key.startswith("blocks.6.proj."):
            return "fc." + key[len("blocks.6.proj.") :]
        if match := re.fullmatch(r"blocks\.0\.multipathway_blocks\.([01])\.(conv|norm)\.(.+)", key):
            part = "conv" if match.group(2) == "conv" else "bn"
            return f"{pathways[int(match.group(1))]}_stem.{part}.{match.group(3)}"
        pattern = r"blocks\.([0-3])\.multipathway_fusion\.(conv_fast_to_slow|norm)\.(.+)"
        if match := re.fullmatch(pattern, key):
            part = "conv" if match.group(2) == "conv_fast_to_slow" else "bn"
            return f"fusions.{match.group(1)}.{part}.{match.group(3)}"
        pattern = r"blocks\.([1-4])\.multipathway_blocks\.([01])\.res_blocks\.(\d+)\.(.+)"
        match = re.fullmatch(pattern, key)
        if match and (leaf := _block_key(match.group(4), _PYTORCHVIDEO_BLOCK)):
            pathway, stage = pathways[int(match.group(2))], int(match.group(1)) - 1
            return f"{pathway}_layers.{stage}.{match.group(3)}.{leaf}"
        return None

    return _rename(state, rename)


# --- TSM -------------------------------------------------------------------------------


def tsm_from_official(state: Mapping[str, torch.Tensor]) -> StateDict:
    """Official TSM/TSN names (``base_model.layer1.0.conv1.net.weight``, ``new_fc.weight``,
    after removing ``module.``) -> :class:`~actscope.models.tsm.TSM` names."""

    prefixes = {"base_model.": "backbone.", "new_fc.": "fc."}
    return _rename(state, lambda key: _swap_prefix(key, prefixes))


# --- detection and checked loading -------------------------------------------------------

_CONVERTERS: dict[tuple[type[nn.Module], str], Callable[[Mapping], StateDict]] = {
    (X3D, "pyslowfast"): x3d_from_pyslowfast,
    (X3D, "pytorchvideo"): x3d_from_pytorchvideo,
    (I3D, "pyslowfast"): i3d_from_pyslowfast,
    (I3D, "pytorchvideo"): i3d_from_pytorchvideo,
    (SlowFast, "pyslowfast"): slowfast_from_pyslowfast,
    (SlowFast, "pytorchvideo"): slowfast_from_pytorchvideo,
    (TSM, "tsm"): tsm_from_official,
    (EfficientGCN, "efficientgcn"): efficientgcn_from_official,
}


def strip_prefix(state: Mapping[str, torch.Tensor], prefix: str = "module.") -> StateDict:
    """Drop ``prefix`` (DataParallel's ``module.``) from every key that has it."""
    return {k[len(prefix) :] if k.startswith(prefix) else k: v for k, v in state.items()}


def detect_format(state: Mapping[str, torch.Tensor]) -> str:
    """Which naming a state dict uses: ``pyslowfast``, ``pytorchvideo``, ``tsm``,
    ``efficientgcn`` or ``native`` (actscope's own, torchvision's and Hugging Face's names)."""
    keys = list(state)
    if any(k.startswith(("s1.pathway", "head.projection.")) for k in keys):
        return "pyslowfast"
    if any(k.startswith(("blocks.", "model.blocks.")) for k in keys):
        return "pytorchvideo"
    if any(k.startswith(("base_model.", "new_fc.")) for k in keys):
        return "tsm"
    if any(k.startswith(("input_branches.", "main_stream.")) for k in keys):
        return "efficientgcn"
    return "native"


def to_native(model: nn.Module, state: Mapping[str, torch.Tensor]) -> StateDict:
    """Rename an upstream state dict for ``model``; native ones pass through unchanged."""
    state = strip_prefix(state)
    fmt = detect_format(state)
    if fmt == "native":
        return dict(state)
    for (cls, name), converter in _CONVERTERS.items():
        if name == fmt and isinstance(model, cls):
            return converter(state)
    raise ModelError(
        f"a {fmt} checkpoint cannot be loaded into {type(model).__name__}; "
        "pass a checkpoint made for this model"
    )


def _listed(keys: list[str], limit: int = 4) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


def load_checked(model: nn.Module, state: Mapping[str, torch.Tensor], what: str) -> None:
    """Load ``state`` into ``model`` strictly; a :class:`ModelError` names the missing,
    unexpected and mis-shaped keys when it does not fit. Missing ``num_batches_tracked``
    buffers (absent from Caffe2 files) keep the model's values."""
    expected = model.state_dict()
    state = dict(state)
    for key, value in expected.items():
        if key.endswith("num_batches_tracked") and key not in state:
            state[key] = value
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    misshaped = [
        f"{k} {tuple(state[k].shape)} vs {tuple(expected[k].shape)}"
        for k in sorted(set(state) & set(expected))
        if tuple(state[k].shape) != tuple(expected[k].shape)
    ]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing keys ({_listed(missing)})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected keys ({_listed(unexpected)})")
    if misshaped:
        problems.append(f"{len(misshaped)} mis-shaped (checkpoint vs model: {_listed(misshaped)})")
    if problems:
        raise ModelError(
            f"{what} does not fit {type(model).__name__}: {'; '.join(problems)}; "
            "check that the checkpoint is for this model and number of classes"
        )
    model.load_state_dict(state, strict=True)


def classifier_names(model: nn.Module) -> list[str]:
    """Module names of ``model``'s classifiers: its last ``nn.Linear`` (or, for S3D,
    ``nn.Conv3d``) in module order, or each branch's for a multi-stream model."""
    branches = getattr(model, "branches", None)
    if isinstance(branches, nn.ModuleDict):
        return [
            f"branches.{name}.{head}"
            for name, b in branches.items()
            for head in classifier_names(b)
        ]
    last = None
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear | nn.Conv3d):
            last = name
    if last is None:
        raise ModelError(f"{type(model).__name__} has no linear classifier to replace")
    return [last]


def replace_classifier(model: nn.Module, num_classes: int) -> nn.Module:
    """Give ``model`` freshly initialised classifiers (:func:`classifier_names`) with
    ``num_classes`` outputs. Returns ``model``."""
    for name in classifier_names(model):
        last = model.get_submodule(name)
        if isinstance(last, nn.Linear):
            new = nn.Linear(last.in_features, num_classes, bias=last.bias is not None)
        else:
            new = nn.Conv3d(
                last.in_channels, num_classes, last.kernel_size, bias=last.bias is not None
            )
        parent_name, _, attr = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, attr, new)
    return model
