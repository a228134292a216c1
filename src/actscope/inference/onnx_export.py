"""Export a model to ONNX with what actscope needs to run it stored in the file.

A model becomes one ``.onnx`` file: the graph (TorchScript exporter, opset 17), its input
``input`` ``(N, ...)`` float32 with a dynamic batch size, its output ``logits`` ``(N, K)``,
and in ``metadata_props`` the typed input spec (``spec.to_dict()`` JSON, with ``kind``), the
class names (JSON list), the registered model name, the unknown-action rule when the model
has one, where the weights came from and the actscope version. :mod:`onnx_backend` reads
them back, so an exported file is a complete model, like a checkpoint.

Every registered model exports at its default input (``docs/export.md`` lists them with
their measured parity); a model that cannot (an op without an ONNX form, a graph that runs
wrong) is a one-line :class:`~actscope.errors.ModelError`, and no file is written.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from actscope.engine.calibration import UnknownRule
from actscope.errors import ForeignCheckpointError, ModelError
from actscope.files import atomic_path, check_writable
from actscope.inference.onnx_backend import (
    INPUT_NAME,
    META_CLASSES,
    META_INPUT,
    META_MODEL,
    META_SOURCE,
    META_UNKNOWN,
    META_VERSION,
    OUTPUT_NAME,
    actscope_version,
    new_session,
    require_onnx,
)
from actscope.models.registry import InputSpec, get_entry
from actscope.pose.features import BodyFeatures

log = logging.getLogger(__name__)

OPSET = 17
MAX_DIFFERENCE = 1e-3  # largest |logit| difference to eager a float32 export may show, relative
DEFAULT_MODEL = "default"


@dataclass
class Exportable:
    """A model in eval mode, ready to export: ``model`` maps ``(N, ...)`` inputs of ``input``'s
    shape to ``(N, len(class_names))`` logits; ``name`` is its registry name; ``source`` says
    where its weights came from."""

    model: nn.Module
    class_names: list[str]
    input: InputSpec
    name: str
    source: str
    unknown: UnknownRule | None = None


@dataclass(frozen=True)
class ExportReport:
    """What :func:`export_onnx` wrote: the file, its size in bytes, whether its weights are
    int8, and the largest ``|logits eager - ONNX Runtime|`` on a check input."""

    path: Path
    size: int
    int8: bool
    max_difference: float


def example_input(spec: InputSpec, batch: int = 1, seed: int = 0) -> torch.Tensor:
    """A random input of the shape ``spec`` gives a model: skeletons ``(N, C, T, V, M)``,
    clips ``(N, 3, T, size, size)``; float32."""
    if isinstance(spec, BodyFeatures):
        shape = (batch, spec.channels, spec.frames, spec.num_joints, spec.persons)
    else:
        shape = (batch, 3, spec.frames, spec.size, spec.size)
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def resolve(
    model: str | os.PathLike,
    weights: str | os.PathLike | None = None,
    *,
    pretrained: bool = False,
    num_classes: int | None = None,
) -> Exportable:
    """The model to export: ``"default"`` (shipped), an actscope checkpoint path, or a
    registered name. A registered name loads ``weights`` when given, its published weights
    when ``pretrained`` (what ``Recognizer.load`` does), else is built with random weights
    and ``num_classes`` outputs (default: as many as its published weights' classes)."""
    from actscope.checkpoint import default_checkpoint

    name = os.fspath(model)
    if name == DEFAULT_MODEL:
        _only_for_names(name, weights, num_classes)
        return _from_checkpoint(default_checkpoint())
    path = Path(name)
    if path.suffix.lower() == ".onnx":
        raise ModelError(f"{name}: already an ONNX model; export a checkpoint or a model name")
    if path.is_dir():
        raise ModelError(f"{path}: a folder, not a checkpoint file; give the model.pt in it")
    if path.exists():
        _only_for_names(name, weights, num_classes)
        try:
            return _from_checkpoint(path)
        except ForeignCheckpointError:
            raise ModelError(
                f"{path}: not an actscope checkpoint; for upstream weights name the registered "
                "model and give this file as its weights (CLI: MODEL --weights FILE)"
            ) from None
    if any(sep in name for sep in ("/", "\\")) or name.endswith((".pt", ".pth", ".pyth")):
        raise ModelError(f"{name}: no such checkpoint file; check the path")
    entry = get_entry(name)
    if weights is not None or pretrained:
        from actscope.weights import load_pretrained

        loaded = load_pretrained(name, weights)
        return Exportable(loaded.model, list(loaded.classes), loaded.input, name, loaded.source)
    published = entry.weights[0].classes if entry.weights else ()
    count = num_classes or len(published)
    if count < 1:
        raise ModelError(
            f"model {name!r} has no published weights to take its classes from; give the "
            "number of classes (CLI: --num-classes) or export a trained checkpoint"
        )
    classes = list(published) if count == len(published) else [str(i) for i in range(count)]
    built = entry.builder(num_classes=count).eval()
    return Exportable(built, classes, entry.input, name, "random weights")


def _only_for_names(model: str, weights: object, num_classes: int | None) -> None:
    """Refuse weights or a class count for a model that has its own (a checkpoint)."""
    if weights is not None or num_classes is not None:
        what = "weights" if weights is not None else "a number of classes"
        raise ModelError(
            f"{model} has its own weights and classes; {what} go with a registered model name"
        )


def _from_checkpoint(path: Path) -> Exportable:
    from actscope.checkpoint import load_trained_model
    from actscope.models.registry import input_from_dict

    model, checkpoint = load_trained_model(path)
    rule = checkpoint.get("unknown")
    return Exportable(
        model,
        list(checkpoint["class_names"]),
        input_from_dict(checkpoint.get("input") or {}),
        checkpoint["model"]["name"],
        os.fspath(path),
        UnknownRule.from_dict(rule) if rule else None,
    )


def export_onnx(
    exportable: Exportable, path: str | os.PathLike, *, int8: bool = False, opset: int = OPSET
) -> ExportReport:
    """Write ``exportable`` to ``path`` as ONNX (atomically), with its metadata; ``int8``:
    weights quantised to int8 (dynamic quantisation: activations stay float). The file is
    checked by running it in ONNX Runtime beside the eager model on a random batch of 2."""
    onnx, _ = require_onnx()
    target = check_writable(path)
    model = exportable.model.eval()
    with tempfile.TemporaryDirectory(prefix="actscope-onnx-") as folder:
        graph = Path(folder) / "model.onnx"
        _trace(model, exportable, graph, opset)
        if int8:
            graph = _quantize(graph)
        proto = onnx.load(graph)
        for key, value in _metadata(exportable).items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
        with atomic_path(target) as temp:
            onnx.save(proto, temp)
            difference = _max_difference(model, temp, exportable, exact=not int8)
    return ExportReport(target, target.stat().st_size, int8, difference)


def _trace(model: nn.Module, exportable: Exportable, graph: Path, opset: int) -> None:
    """Trace ``model`` into ``graph`` with a dynamic batch axis; a model the exporter cannot
    take is a one-line :class:`ModelError` (the exporter's own trace goes to the debug log)."""
    import warnings

    example = example_input(exportable.input)
    try:
        with warnings.catch_warnings(), torch.no_grad(), _native_output_to_log():
            warnings.simplefilter("ignore")  # tracer warnings about constants, shapes
            torch.onnx.export(
                model,
                (example,),
                str(graph),
                dynamo=False,
                opset_version=opset,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            )
    except Exception as exc:  # the exporter raises many types; all mean "cannot export"
        log.debug("export of %s failed", exportable.name, exc_info=True)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(
            f"{exportable.name} cannot be exported to ONNX ({type(exc).__name__}: {first[:200]}); "
            "see docs/export.md"
        ) from None


@contextmanager
def _native_output_to_log() -> Iterator[None]:
    """Send what native code writes to stdout and stderr (the exporter prints the whole
    TorchScript graph there when it fails) to the debug log instead of the terminal."""
    import sys

    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = [os.dup(1), os.dup(2)]
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            sink.seek(0)
            text = sink.read().decode(errors="replace").strip()
            if text:
                log.debug("exporter output:\n%s", text)


def _metadata(exportable: Exportable) -> dict[str, str]:
    values = {
        META_INPUT: json.dumps(exportable.input.to_dict()),
        META_CLASSES: json.dumps(list(exportable.class_names)),
        META_MODEL: exportable.name,
        META_SOURCE: exportable.source,
        META_VERSION: actscope_version(),
    }
    if exportable.unknown is not None:
        values[META_UNKNOWN] = json.dumps(exportable.unknown.to_dict())
    return values


def _quantize(source: Path) -> Path:
    """``source`` with its weights quantised to int8 (dynamic quantisation), beside it."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = source.with_name(f"{source.stem}.int8.onnx")
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # its advice to pre-process goes to the root logger
    try:
        quantize_dynamic(source, target, weight_type=QuantType.QInt8)
    finally:
        root.setLevel(level)
    return target


@torch.inference_mode()
def _max_difference(model: nn.Module, path: Path, exportable: Exportable, exact: bool) -> float:
    """Largest ``|eager - ONNX Runtime|`` logit on a random batch of 2 (which also checks the
    batch axis is dynamic). A graph that fails to run, or (``exact``: float weights) gives
    other logits than the eager model, is a :class:`ModelError`: it is not kept."""
    x = example_input(exportable.input, batch=2, seed=1)
    expected = model(x).float().numpy()
    try:
        got = new_session(path).run(None, {INPUT_NAME: x.numpy()})[0]
    except Exception as exc:  # onnxruntime's errors are untyped
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelError(
            f"{exportable.name} exported to a graph ONNX Runtime cannot run ({first[:200]}); "
            "see docs/export.md"
        ) from None
    difference = float(np.abs(expected - got).max())
    scale = max(1.0, float(np.abs(expected).max()))
    if exact and not difference <= MAX_DIFFERENCE * scale:
        raise ModelError(
            f"{exportable.name} exported to a graph whose logits differ from PyTorch's by "
            f"{difference:.2g}; see docs/export.md"
        )
    return difference


def cache_key(exportable: Exportable, int8: bool = False, opset: int = OPSET) -> str:
    """A digest of everything an exported file depends on: weights, classes, spec, rule,
    versions of actscope and torch, opset, quantisation."""
    digest = hashlib.sha256()
    for key, tensor in exportable.model.state_dict().items():
        digest.update(key.encode())
        digest.update(str((tensor.dtype, tuple(tensor.shape))).encode())
        digest.update(tensor.detach().cpu().reshape(-1).view(torch.uint8).numpy().tobytes())
    context: dict[str, Any] = {
        **_metadata(exportable),
        META_SOURCE: "",  # the same weights from elsewhere are the same model
        "torch": torch.__version__,
        "opset": opset,
        "int8": int8,
    }
    digest.update(json.dumps(context, sort_keys=True).encode())
    return digest.hexdigest()[:24]


def cache_dir() -> Path:
    """Where models exported on the fly are kept: ``actscope-onnx/`` in torch's hub cache, beside
    downloaded weights (``$TORCH_HOME`` moves both)."""
    return Path(torch.hub.get_dir()) / "actscope-onnx"


def cached_export(
    model: str | os.PathLike, weights: str | os.PathLike | None = None
) -> tuple[Path, str]:
    """The ONNX file of ``model`` as ``Recognizer.load`` would load it (published weights for
    a registered name), exported into :func:`cache_dir` the first time; returns its path and
    the model's source."""
    exportable = resolve(model, weights, pretrained=True)
    path = cache_dir() / f"{exportable.name}-{cache_key(exportable)}.onnx"
    if not path.exists():
        log.info("exporting %s to %s", exportable.source, path)
        export_onnx(exportable, path)
    return path, exportable.source
