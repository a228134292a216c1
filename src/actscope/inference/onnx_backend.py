"""Run an exported ``.onnx`` model with ONNX Runtime, in place of the PyTorch model.

:class:`OnnxModel` is an ``nn.Module`` whose forward runs an ONNX Runtime session, so a
:class:`~actscope.inference.recognizer.Recognizer` built on it scores exactly as one built
on the eager model, and predict, detect and live do not know the difference.
:func:`load_onnx` reads the file and the metadata ``actscope export`` stored in it (input
spec, class names, unknown-action rule). onnx and onnxruntime are imported inside functions:
they are the optional extra ``actscope[onnx]``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from actscope.engine.calibration import UnknownRule
from actscope.errors import ModelError
from actscope.models.registry import InputSpec, input_from_dict

INPUT_NAME = "input"
OUTPUT_NAME = "logits"
META_INPUT = "actscope.input"
META_CLASSES = "actscope.classes"
META_MODEL = "actscope.model"
META_SOURCE = "actscope.source"
META_VERSION = "actscope.version"
META_UNKNOWN = "actscope.unknown"
INSTALL_HINT = "install them with `pip install 'actscope[onnx]'`"
CPU_PROVIDER = "CPUExecutionProvider"
CUDA_PROVIDER = "CUDAExecutionProvider"
CUDA_HINT = "install onnxruntime-gpu in place of onnxruntime, or use --device cpu"
CPU = torch.device("cpu")


def require_onnx() -> tuple[Any, Any]:
    """The ``onnx`` and ``onnxruntime`` modules, or a one-line :class:`ModelError` saying how
    to install them."""
    try:
        import onnx
        import onnxruntime
    except ImportError as exc:
        raise ModelError(
            f"ONNX export and the onnx backend need {exc.name}; {INSTALL_HINT}"
        ) from None
    return onnx, onnxruntime


def actscope_version() -> str:
    """The installed actscope's version (``"unknown"`` when run from a source tree)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("actscope")
    except PackageNotFoundError:
        return "unknown"


def providers(device: torch.device) -> list[Any]:
    """ONNX Runtime's execution providers for ``device``: the CPU's; for CUDA, CUDA's first
    (the CPU's run what it lacks), or a one-line :class:`ModelError` when this onnxruntime
    has no CUDA."""
    if device.type == "cpu":
        return [CPU_PROVIDER]
    if not has_cuda_provider():
        raise ModelError(
            f"device {str(device)!r} with the onnx backend needs ONNX Runtime's "
            f"{CUDA_PROVIDER}, which this onnxruntime lacks; {CUDA_HINT}"
        )
    return [(CUDA_PROVIDER, {"device_id": device.index or 0}), CPU_PROVIDER]


def has_cuda_provider() -> bool:
    """Whether this onnxruntime can run models on CUDA."""
    _, ort = require_onnx()
    return CUDA_PROVIDER in ort.get_available_providers()


def new_session(
    path: str | os.PathLike, threads: int | None = None, device: torch.device = CPU
) -> Any:
    """An ONNX Runtime session of ``path`` on ``device`` (:func:`providers`) using
    ``threads`` intra-op threads (default: as many as torch uses, so
    ``torch.set_num_threads`` governs both backends). A file ONNX Runtime cannot read is a
    one-line :class:`ModelError`."""
    _, ort = require_onnx()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.log_severity_level = 4  # fatal only: its errors are raised, its warnings noise
    name = os.fspath(path)
    if not Path(name).is_file():
        raise ModelError(f"{name}: no such ONNX file; check the path")
    chosen = providers(device)  # outside the try: its error is not the file's
    try:
        return ort.InferenceSession(name, options, providers=chosen)
    except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelError(
            f"{name}: not a model ONNX Runtime can load ({first[:160]}); export it again with "
            "`actscope export`"
        ) from None


class OnnxModel(nn.Module):
    """An ONNX Runtime session of ``path`` as a module: ``(N, ...)`` float32 -> ``(N, K)``
    logits, on the CPU.

    It has no parameters: :meth:`run_on` moves it to another device (a new session with
    that device's providers). ONNX Runtime copies inputs to its device itself, so inputs are
    taken from anywhere and copied to the CPU first.
    """

    def __init__(self, path: str | os.PathLike, threads: int | None = None) -> None:
        super().__init__()
        self.path, self.threads = os.fspath(path), threads
        self.device = CPU
        self.session = new_session(path, threads)
        self.input_name = self.session.get_inputs()[0].name

    def run_on(self, device: torch.device) -> None:
        """Run on ``device`` from now on (a no-op if it already does)."""
        if device != self.device:
            self.session = new_session(self.path, self.threads, device)
            self.device = device

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        array = x.detach().to("cpu", torch.float32).numpy()
        (logits,) = self.session.run(None, {self.input_name: np.ascontiguousarray(array)})
        return torch.from_numpy(logits)


@dataclass
class LoadedOnnx:
    """An exported model read back: the module, the metadata ``actscope export`` stored."""

    model: OnnxModel
    class_names: list[str]
    input: InputSpec
    name: str
    source: str
    unknown: UnknownRule | None


def load_onnx(path: str | os.PathLike, threads: int | None = None) -> LoadedOnnx:
    """Read an ``.onnx`` file written by ``actscope export``; a file without its metadata
    (exported by something else) or with malformed metadata is a one-line
    :class:`ModelError`."""
    model = OnnxModel(path, threads)
    session = model.session
    meta = session.get_modelmeta().custom_metadata_map
    name = os.fspath(path)
    if META_INPUT not in meta or META_CLASSES not in meta:
        raise ModelError(
            f"{name}: an ONNX model without actscope's metadata (input spec, class names); "
            "export it with `actscope export`"
        )
    try:
        classes = json.loads(meta[META_CLASSES])
        spec = input_from_dict(json.loads(meta[META_INPUT]))
        unknown = (
            UnknownRule.from_dict(json.loads(meta[META_UNKNOWN])) if META_UNKNOWN in meta else None
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{name}: malformed actscope metadata ({exc}); export it again") from None
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise ModelError(f"{name}: malformed class names in its metadata; export it again")
    outputs = session.get_outputs()[0].shape[-1]
    if isinstance(outputs, int) and outputs != len(classes):
        raise ModelError(
            f"{name}: gives {outputs} scores but its metadata names {len(classes)} classes; "
            "export it again"
        )
    return LoadedOnnx(
        model, classes, spec, meta.get(META_MODEL, ""), meta.get(META_SOURCE, ""), unknown
    )
