"""Loading the weights the field publishes into actscope's registered models.

``load_pretrained(name)`` takes the first weights listed for a model; a second argument picks
other weights by name (``"kinetics400-pytorchvideo"``), a source (``"torchvision:..."``,
``"url:..."``, ``"hf:..."``), ``"default"`` (the skeleton model shipped in the package, to
fine-tune it) or a local file or folder:

* ``.pyth``/``.pth``/``.pt`` files from torch.save -- torchvision, PySlowFast
  (``{"model_state": ...}``), PyTorchVideo, the official TSM repository
  (``{"state_dict": ...}``), actscope's own checkpoints -- read with
  ``torch.load(weights_only=True)`` and renamed by :mod:`actscope.models.convert`;
* PySlowFast's Caffe2 ``.pkl`` files, read with an unpickler that only accepts numpy arrays;
* Hugging Face ``save_pretrained`` folders (``config.json`` + weights) for TimeSformer,
  VideoMAE and ViViT.

Downloads (online sources only) go to torch's hub cache (``torch.hub.get_dir()``), the
same place torchvision uses, and are written atomically. Nothing is downloaded unless the
caller asks for an online source.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import socket
import urllib.error
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from actscope import checkpoint
from actscope.checkpoint import DEFAULT, default_checkpoint
from actscope.errors import ModelError
from actscope.files import atomic_path
from actscope.models import get_entry
from actscope.models.convert import (
    caffe2_to_pyslowfast,
    load_checked,
    replace_classifier,
    strip_prefix,
    to_native,
)
from actscope.models.registry import InputSpec, ModelEntry, WeightsInfo

log = logging.getLogger(__name__)

ONLINE_SCHEMES = ("torchvision:", "url:", "hf:")


@dataclass
class Pretrained:
    """A model with loaded weights (in eval mode), the names of its outputs and its input."""

    model: nn.Module
    classes: tuple[str, ...]
    input: InputSpec
    source: str


@dataclass
class Checkpoint:
    """What a checkpoint file holds: tensors under their file's names, plus, for actscope's
    own checkpoints, the class names and builder arguments it records."""

    state_dict: dict[str, torch.Tensor]
    classes: tuple[str, ...] = ()
    builder_kwargs: dict[str, Any] | None = None


def load_pretrained(
    name: str,
    source_or_path: str | os.PathLike | None = None,
    *,
    classes: Sequence[str] | None = None,
    **builder_kwargs: Any,
) -> Pretrained:
    """Build model ``name`` and load trained weights into it.

    ``source_or_path``: ``None`` (the entry's first weights), a weights name of the entry, an
    online source or a local file/folder. ``classes``: new class names for fine-tuning; when
    their number differs from the checkpoint's, the classifier is replaced by a freshly
    initialised one. ``builder_kwargs`` go to the model's builder. Raises :class:`ModelError`
    when the weights cannot be found, read or fitted, naming what to do.
    """
    entry = get_entry(name)
    source, info = _resolve(entry, source_or_path)
    if source.startswith("hf:") or (not _is_online(source) and Path(source).is_dir()):
        model, file_classes = _load_hf(entry, source, builder_kwargs)
    else:
        checkpoint = read_checkpoint(_local_path(source, info.sha256 if info else ""))
        kwargs = {**(checkpoint.builder_kwargs or {}), **builder_kwargs}
        if checkpoint.classes:  # an actscope checkpoint records its classes, not their count
            kwargs.setdefault("num_classes", len(checkpoint.classes))
        model = entry.builder(**kwargs)
        state = to_native(model, checkpoint.state_dict)
        _match_classifier(model, state)
        load_checked(model, state, f"checkpoint {source}")
        file_classes = checkpoint.classes
    num_outputs = _num_outputs(model)
    known = tuple(file_classes or (info.classes if info else ()))
    if num_outputs is not None and len(known) != num_outputs:
        known = tuple(str(i) for i in range(num_outputs))
    if classes is not None:
        if len(classes) != num_outputs:
            replace_classifier(model, len(classes))
        known = tuple(str(c) for c in classes)
    model.eval()
    return Pretrained(model, known, entry.input, source)


def _is_online(source: str) -> bool:
    return source.startswith(ONLINE_SCHEMES)


def _resolve(
    entry: ModelEntry, source_or_path: str | os.PathLike | None
) -> tuple[str, WeightsInfo | None]:
    """The source string to load for ``entry`` and the weights description it matches."""
    if source_or_path is None:
        if not entry.weights:
            raise ModelError(
                f"model {entry.name!r} has no published weights; pass a checkpoint file"
            )
        return entry.weights[0].source, entry.weights[0]
    text = os.fspath(source_or_path)
    if text == DEFAULT:
        return str(default_checkpoint()), None
    for info in entry.weights:
        if text in (info.name, info.source):
            return info.source, info
    if _is_online(text):
        return text, None
    for info in entry.weights:
        # A downloaded copy of published weights keeps the file name of its address.
        same_name = Path(text).name == Path(info.source).name
        if same_name and not info.source.startswith("hf:") and Path(text).is_file():
            return text, info
    if not Path(text).exists():
        names = ", ".join(info.name for info in entry.weights) or "none"
        raise ModelError(
            f"{text} is neither an existing file or folder nor known weights of "
            f"{entry.name!r} (known: {names})"
        )
    return text, None


def _local_path(source: str, sha256: str = "") -> Path:
    """A file to read for ``source``: shipped in the package, downloaded (cached; checked
    against ``sha256`` when given) or local."""
    if source.startswith("package:"):
        from importlib.resources import files

        return Path(str(files("actscope").joinpath(source[len("package:") :])))
    if _is_online(source):
        return download(_url_of(source), sha256)
    return Path(source)


def _url_of(source: str) -> str:
    """The download address of a ``torchvision:`` or ``url:`` source."""
    if source.startswith("url:"):
        return source[len("url:") :]
    from torchvision.models import get_weight

    try:
        return get_weight(source[len("torchvision:") :]).url
    except (ValueError, KeyError, AttributeError):
        raise ModelError(f"{source} is not a torchvision weights name") from None


def cache_path(url: str) -> Path:
    """Where :func:`download` keeps ``url`` (torch's hub checkpoint folder)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(url).name


def download(url: str, sha256: str = "") -> Path:
    """The cached copy of ``url``, downloading it first (atomically) if needed; a
    :class:`ModelError` explains how to work offline when the download fails, and refuses a
    download whose SHA-256 hex digest is not ``sha256`` (when given)."""
    target = cache_path(url)
    if target.is_file():
        return target
    log.info("downloading %s to %s", url, target)
    # torchvision-style file names carry the first hex digits of the file's SHA-256.
    digest = torch.hub.HASH_REGEX.search(target.name)
    try:
        with atomic_path(target) as temp:
            torch.hub.download_url_to_file(
                url, str(temp), hash_prefix=digest.group(1) if digest else None, progress=True
            )
            if sha256 and (found := _sha256(temp)) != sha256.lower():
                raise ModelError(
                    f"the download of {url} is corrupt (sha256 {found[:12]}..., expected "
                    f"{sha256[:12]}...); retry"
                )
    except (urllib.error.URLError, TimeoutError) as exc:
        raise ModelError(
            f"cannot download {url} ({_reason(exc)}): you seem to be offline; download it on "
            f"a machine with internet and pass the file's path instead"
        ) from None
    except RuntimeError as exc:  # torch.hub's hash check
        raise ModelError(f"the download of {url} is corrupt ({_reason(exc)}); retry") from None
    except OSError as exc:
        raise ModelError(f"cannot download {url} to {target} ({_reason(exc)})") from None
    return target


def _sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _reason(exc: BaseException) -> str:
    text = str(getattr(exc, "reason", "") or exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:120]


# --- reading files -----------------------------------------------------------------------

# numpy objects allowed in weights_only loads: some upstream files store metrics as numpy
# scalars or arrays next to the tensors (EfficientGCN's confusion matrix in "best_state").
_NUMPY_GLOBALS = [
    np.core.multiarray.scalar,
    np.core.multiarray._reconstruct,
    np.ndarray,
    np.dtype,
    np.dtypes.Float64DType,
]


def read_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Tensors of a torch.save file or a PySlowFast Caffe2 ``.pkl``, under the file's own
    names (wrappers such as ``model_state``/``state_dict`` and ``module.`` removed)."""
    path = Path(path)
    try:
        content = checkpoint.safe_load(path, allowed=_NUMPY_GLOBALS)
    except ModelError as exc:
        content = _read_caffe2(path) if path.is_file() else None
        if content is None:
            raise ModelError(
                f"{exc}; expected a torch.save file, a PySlowFast Caffe2 .pkl or a Hugging "
                "Face folder"
            ) from None
    return _unwrap(content, path)


def _unwrap(content: Any, path: Path) -> Checkpoint:
    if not isinstance(content, Mapping):
        raise ModelError(f"{path} holds a {type(content).__name__}, not a state dict")
    if content.get("format") == checkpoint.FORMAT:
        content = checkpoint.upgrade(content)
        model = content.get("model", {})
        return Checkpoint(
            dict(content["state_dict"]),
            tuple(content.get("class_names", ())),
            dict(model.get("kwargs", {})),
        )
    for wrapper in ("model_state", "state_dict", "model"):
        if isinstance(content.get(wrapper), Mapping):
            content = content[wrapper]
            break
    state = {k: v for k, v in content.items() if isinstance(v, torch.Tensor)}
    if not state:
        raise ModelError(f"{path} holds no tensors; pass a model checkpoint")
    return Checkpoint(strip_prefix(state))


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles dicts of numpy arrays and nothing else (no code runs from the file)."""

    ALLOWED: ClassVar[frozenset[tuple[str, str]]] = frozenset(
        {
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy.core.multiarray", "scalar"),
            ("numpy._core.multiarray", "scalar"),
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("collections", "OrderedDict"),
            ("_codecs", "encode"),
        }
    )

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a weights file")
        return super().find_class(module, name)


def _read_caffe2(path: Path) -> dict[str, torch.Tensor] | None:
    """PySlowFast's Caffe2 checkpoint (``{"blobs": {name: ndarray}}``) with PySlowFast
    names, or None when ``path`` is not one."""
    try:
        with path.open("rb") as handle:
            content = _NumpyOnlyUnpickler(handle, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError):
        return None
    blobs = content.get("blobs") if isinstance(content, Mapping) else None
    if not isinstance(blobs, Mapping):
        return None
    tensors = {
        str(k): torch.from_numpy(np.ascontiguousarray(v))
        for k, v in blobs.items()
        if isinstance(v, np.ndarray)
    }
    return caffe2_to_pyslowfast(tensors)


def _classifier_key(model: nn.Module) -> str | None:
    """State-dict prefix of the model's last linear (or Conv3d) layer."""
    name = None
    for module_name, module in model.named_modules():
        if isinstance(module, nn.Linear | nn.Conv3d):
            name = module_name
    return name


def _num_outputs(model: nn.Module) -> int | None:
    key = _classifier_key(model)
    if key is None:
        return None
    layer = model.get_submodule(key)
    return layer.out_features if isinstance(layer, nn.Linear) else layer.out_channels


def _match_classifier(model: nn.Module, state: Mapping[str, torch.Tensor]) -> None:
    """Resize the model's classifier to the checkpoint's class count (e.g. a Something-
    Something checkpoint for a Kinetics-sized model) before a strict load."""
    key = _classifier_key(model)
    weight = state.get(f"{key}.weight") if key else None
    if weight is not None and weight.ndim >= 2 and weight.shape[0] != _num_outputs(model):
        replace_classifier(model, int(weight.shape[0]))


# --- Hugging Face ------------------------------------------------------------------------


def _load_hf(entry: ModelEntry, source: str, builder_kwargs: Mapping[str, Any]):
    """A transformers video model from a local folder or (online) a hub id, wrapped for
    actscope; returns the model and its class names (``config.id2label``)."""
    from actscope.models.hf_video import (
        HF_CLASSES,
        HF_MODEL_TYPES,
        HFVideoClassifier,
        transformers_module,
    )

    expected = HF_MODEL_TYPES.get(entry.name)
    if expected is None:
        raise ModelError(
            f"{source} is a Hugging Face model, but {entry.name!r} is not; pass a checkpoint file"
        )
    if builder_kwargs:
        raise ModelError(
            "builder arguments do not apply to Hugging Face checkpoints (their config.json "
            f"sets the architecture); drop {', '.join(builder_kwargs)}"
        )
    transformers = transformers_module()
    location = source[len("hf:") :] if source.startswith("hf:") else source
    if not source.startswith("hf:") and not (Path(location) / "config.json").is_file():
        raise ModelError(f"{location} is a folder without config.json; pass a checkpoint file")
    offline_help = (
        "you seem to be offline; save it on a machine with internet "
        f"(`hf download {location} --local-dir DIR`) and pass DIR"
    )
    # A hub id is tried from the local cache first; online only if it is not there.
    attempts = [True, False] if source.startswith("hf:") else [True]
    for local_only in attempts:
        if not local_only and not _resolves(_hub_host()):
            raise ModelError(f"{location} is not in the Hugging Face cache and {offline_help}")
        try:
            config = transformers.AutoConfig.from_pretrained(location, local_files_only=local_only)
            model_class = getattr(transformers, HF_CLASSES[expected][1])
            if config.model_type == expected:
                hf_model = model_class.from_pretrained(location, local_files_only=local_only)
            break
        except OSError as exc:
            if not local_only:
                raise ModelError(
                    f"cannot fetch {location} from the Hugging Face hub ({_reason(exc)}): "
                    + offline_help
                ) from None
            if not source.startswith("hf:"):
                raise ModelError(f"cannot read the folder {location}: {_reason(exc)}") from None
    if config.model_type != expected:
        raise ModelError(
            f"{location} holds a {config.model_type!r} model, not {expected!r} "
            f"as {entry.name!r} needs"
        )
    id2label = hf_model.config.id2label
    classes = tuple(str(id2label[i]) for i in sorted(id2label))
    return HFVideoClassifier(hf_model), classes


def _hub_host() -> str:
    from huggingface_hub import constants

    return urllib.parse.urlparse(constants.ENDPOINT).hostname or "huggingface.co"


def _resolves(host: str) -> bool:
    """Whether ``host`` has an address: a quick offline test, instead of the hub client's
    retries (about 30 s) before it gives up."""
    try:
        socket.getaddrinfo(host, 443)
    except OSError:
        return False
    return True


# --- offline availability ------------------------------------------------------------------


def available_offline(info: WeightsInfo) -> bool:
    """Whether ``info``'s weights load without a network: shipped, or already cached."""
    source = info.source
    if source.startswith("package:"):
        return True
    if source.startswith(("url:", "torchvision:")):
        try:
            return cache_path(_url_of(source)).is_file()
        except ModelError:
            return False
    if source.startswith("hf:"):
        try:
            from huggingface_hub import try_to_load_from_cache
        except ImportError:
            return False
        return isinstance(try_to_load_from_cache(source[len("hf:") :], "config.json"), str)
    return False
