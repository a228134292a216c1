"""The Recognizer: a trained model with what it needs to score clips of its kind.

Loading accepts ``"default"`` (the skeleton model shipped inside the package, offline), a
path to an actscope checkpoint, a registered model name (its published weights, online
or from the local cache), or an ``.onnx`` file of ``actscope export`` (run by ONNX Runtime,
as any of the others can be with ``backend="onnx"``). What the model reads is decided once,
here, from the type of its input spec: a :class:`~actscope.pose.features.BodyFeatures` gives a
:class:`SkeletonRecognizer`, which scores windows of a pose track through the same features
its training used; a :class:`~actscope.video.spec.ClipSpec` gives a :class:`ClipRecognizer`,
which scores frame clips through the transforms the spec names.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import torch
from torch import nn

from actscope.checkpoint import default_checkpoint
from actscope.engine.calibration import UnknownRule
from actscope.engine.device import resolve_device
from actscope.errors import ConfigError, ForeignCheckpointError, ModelError
from actscope.inference.onnx_backend import OnnxModel, has_cuda_provider
from actscope.models.registry import InputSpec, input_from_dict
from actscope.pose.camera import CAMERA_SPACE, camera_skeleton, mirror_skeleton
from actscope.pose.estimate import PoseTrack
from actscope.pose.features import BodyFeatures
from actscope.pose.skeleton import Skeleton
from actscope.video.spec import ClipSpec

if TYPE_CHECKING:
    from actscope.video.transforms import Compose

log = logging.getLogger(__name__)

DEFAULT_MODEL = "default"
BACKENDS = ("torch", "onnx")
CLIP_BATCH = 8
"""RGB clips per model call: their activations are large."""


@dataclass
class Recognizer:
    """``model`` (eval mode) maps a batch of inputs to logits over ``class_names``;
    ``input`` is the typed spec of what it takes; ``source`` names where it came from;
    ``unknown`` (when the model was calibrated for it) says when a clip shows none of its
    actions.

    Build one with :meth:`load` (or :meth:`for_input`), which returns the subclass for the
    spec's kind: :class:`SkeletonRecognizer` or :class:`ClipRecognizer`. The model runs on
    the CPU unless moved with :meth:`to` (or loaded with ``device``); inputs are prepared on
    the CPU and scores come back there, wherever it runs.
    """

    model: nn.Module
    class_names: list[str]
    input: InputSpec
    source: str
    unknown: UnknownRule | None = None

    spec_type: ClassVar[type] = object

    def __post_init__(self) -> None:
        if not isinstance(self.input, self.spec_type):
            raise ModelError(
                f"{type(self).__name__} takes a {self.spec_type.__name__} input spec, "
                f"not {type(self.input).__name__}"
            )

    @staticmethod
    def for_input(
        model: nn.Module,
        class_names: list[str],
        spec: InputSpec,
        source: str,
        unknown: UnknownRule | None = None,
    ) -> Recognizer:
        """The recognizer for ``spec``'s kind: the one place the choice is made."""
        family = SkeletonRecognizer if isinstance(spec, BodyFeatures) else ClipRecognizer
        return family(model, list(class_names), spec, source, unknown)

    @classmethod
    def load(
        cls,
        model: str | os.PathLike = DEFAULT_MODEL,
        backend: str = "torch",
        device: str | torch.device = "cpu",
    ) -> Recognizer:
        """Load ``"default"``, a checkpoint path, a registered model name, or an ``.onnx`` file
        of ``actscope export``. ``backend``: ``"torch"`` (eager PyTorch) or ``"onnx"`` (ONNX
        Runtime; a model that is not an ``.onnx`` file is exported once into a cache).
        ``device``: where the model runs, as :meth:`to` takes it."""
        check_backend(backend)
        inference_device(device)  # refused before a model is read
        return cls._load(os.fspath(model), backend).to(device)

    @classmethod
    def _load(cls, name: str, backend: str) -> Recognizer:
        if name.lower().endswith(".onnx"):
            return cls.from_onnx(name)
        if backend == "onnx":
            return cls._exported(name)
        if name == DEFAULT_MODEL:
            path = default_checkpoint()
            if not path.exists():
                raise ModelError(
                    f"the default model is missing from the installation ({path}); reinstall "
                    "actscope"
                )
            return cls.from_checkpoint(path)
        path = Path(name)
        if path.is_dir():
            raise ModelError(f"{path}: a folder, not a checkpoint file; give the model.pt in it")
        if path.exists():
            try:
                return cls.from_checkpoint(path)
            except ForeignCheckpointError:
                raise ModelError(
                    f"{path}: not an actscope checkpoint; for upstream weights name the "
                    "registered model and give this file as its weights (CLI: --model NAME "
                    "--weights FILE)"
                ) from None
        if any(sep in name for sep in ("/", "\\")) or name.endswith((".pt", ".pth", ".pyth")):
            raise ModelError(f"{name}: no such checkpoint file; check the path")
        return cls.from_pretrained(name)

    @classmethod
    def from_pretrained(
        cls, name: str, source: str | os.PathLike | None = None, backend: str = "torch"
    ) -> Recognizer:
        """A registered model with published weights (``source``: see
        :func:`actscope.weights.load_pretrained`); ``backend`` as in :meth:`load`."""
        from actscope.weights import load_pretrained

        if check_backend(backend) == "onnx":
            return cls._exported(name, source)

        loaded = load_pretrained(name, source)
        return cls.for_input(loaded.model, list(loaded.classes), loaded.input, loaded.source)

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike) -> Recognizer:
        """An actscope checkpoint (``model.pt`` of a training run)."""
        from actscope.checkpoint import load_trained_model

        model, checkpoint = load_trained_model(path)
        spec = input_from_dict(checkpoint.get("input") or {})
        rule = checkpoint.get("unknown")
        unknown = UnknownRule.from_dict(rule) if rule else None
        names = list(checkpoint["class_names"])
        return cls.for_input(model, names, spec, os.fspath(path), unknown)

    @classmethod
    def from_onnx(cls, path: str | os.PathLike, source: str | None = None) -> Recognizer:
        """An ``.onnx`` file written by ``actscope export``, run by ONNX Runtime; its input
        spec, class names and unknown-action rule come from the file's metadata."""
        from actscope.inference.onnx_backend import load_onnx

        loaded = load_onnx(path)
        return cls.for_input(
            loaded.model,
            loaded.class_names,
            loaded.input,
            source or os.fspath(path),
            loaded.unknown,
        )

    @classmethod
    def _exported(cls, model: str, weights: str | os.PathLike | None = None) -> Recognizer:
        """``model`` (as :meth:`load` reads it) run by ONNX Runtime: exported once into the
        cache, then read from there."""
        from actscope.inference.onnx_export import cached_export

        path, source = cached_export(model, weights)
        return cls.from_onnx(path, f"{source} (onnx)")

    def to(self, device: str | torch.device) -> Recognizer:
        """Run the model on ``device`` from now on and return this recognizer: ``"auto"``
        (CUDA when available, else the CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``. An ONNX
        model runs on ONNX Runtime's CUDA provider (``"auto"``: when this onnxruntime has
        it). A device that is not there is a one-line :class:`ModelError`."""
        target = inference_device(device)
        if isinstance(self.model, OnnxModel):
            if str(device) == "auto" and target.type == "cuda" and not has_cuda_provider():
                target = torch.device("cpu")
            self.model.run_on(target)
        else:
            self.model.to(target)
        return self

    @property
    def device(self) -> torch.device:
        """Where the model runs."""
        if isinstance(self.model, OnnxModel):
            return self.model.device
        first = next(self.model.parameters(), None)
        return first.device if first is not None else torch.device("cpu")

    @torch.inference_mode()
    def scores(self, inputs: torch.Tensor, batch_size: int = 64) -> np.ndarray:
        """Softmax probabilities ``(N, K)`` on the CPU for a batch of model inputs
        ``(N, ...)`` (on any device), run ``batch_size`` at a time on the model's device."""
        # ONNX Runtime takes host memory and copies it to its device itself
        device = torch.device("cpu") if isinstance(self.model, OnnxModel) else self.device
        out = [
            torch.softmax(self.model(inputs[i : i + batch_size].to(device)).float(), dim=-1).cpu()
            for i in range(0, len(inputs), batch_size)
        ]
        return torch.cat(out).numpy() if out else self._empty()

    def _empty(self) -> np.ndarray:
        return np.zeros((0, len(self.class_names)), np.float32)


@dataclass
class SkeletonRecognizer(Recognizer):
    """A skeleton model: scores skeleton clips through its :class:`BodyFeatures`."""

    input: BodyFeatures
    spec_type: ClassVar[type] = BodyFeatures

    @property
    def features(self) -> BodyFeatures:
        return self.input

    @property
    def window_seconds(self) -> float:
        """Length of the clips the model was trained on (seconds)."""
        return self.input.window_seconds

    @property
    def skeleton_space(self) -> str:
        """Which keypoints of a pose track the model reads: ``"image"`` for 2D models
        (pixels, what the camera sees), ``"world"`` for 3D ones (metres), ``"camera"`` for
        models of NTU RGB+D's raw camera-space input (``normalize="camera"``: world
        keypoints placed where the camera saw them, :mod:`actscope.pose.camera`)."""
        if self.input.normalize == "camera":
            return CAMERA_SPACE
        return "world" if self.input.dims == 3 else "image"

    def skeleton_scores(self, skeletons: list[Skeleton], batch_size: int = 64) -> np.ndarray:
        """Class probabilities ``(len(skeletons), K)``, one row per skeleton clip."""
        inputs = [self.input(s) for s in skeletons]
        return self.scores(torch.stack(inputs), batch_size) if inputs else self._empty()

    def check_layout(self, layout: str, source: str = "") -> None:
        """Raise a one-line :class:`ModelError` if skeletons in ``layout`` cannot feed this
        model: one trained on a sensor's own joints (``normalize="torso"`` with a layout
        other than body15) reads only that layout."""
        wanted = self.input.layout
        if self.input.normalize == "torso" and wanted != "body15" and layout != wanted:
            where = f"{source}: " if source else ""
            raise ModelError(
                f"{where}{self.source} takes {wanted} skeletons (a sensor's own joints), "
                f"these are {layout}; use a body15 model for other sources"
            )

    def file_skeleton(self, path: str | os.PathLike, mirrored: bool = False) -> Skeleton:
        """The skeleton that a poses file (``.npz`` from ``actscope pose`` or
        :meth:`Skeleton.save`) holds in the space this model reads: world keypoints for 3D
        models; for 2D models image keypoints, else world ones (projected, as in training);
        for camera-space models both, placed as :meth:`track_skeleton` does. A file with
        only world keypoints (a depth sensor's) is fine for 2D and 3D models. ``mirrored``:
        the poses are of a mirror image, undone here."""
        from actscope.pose.skeleton import load_skeletons

        name = os.fspath(path)
        found = load_skeletons(name)
        if self.skeleton_space == CAMERA_SPACE:
            if not {"image", "world"} <= set(found):
                raise ModelError(
                    f"{name}: holds only {', '.join(found)} keypoints; {self.source} places "
                    "poses in the camera's frame from image and world keypoints together "
                    "(as `actscope pose` writes them)"
                )
            return camera_skeleton(found["image"], found["world"], mirrored=mirrored)
        if self.skeleton_space == "world":
            if "world" not in found:
                raise ModelError(
                    f"{name}: holds no 3D world keypoints (only {', '.join(found)}), and "
                    f"{self.source} is a 3D skeleton model; use a 2D model"
                )
            skeleton = found["world"]
        else:
            space = next(s for s in ("image", "world", "normalized") if s in found)
            skeleton = found[space]
        self.check_layout(skeleton.layout, name)
        return mirror_skeleton(skeleton) if mirrored else skeleton

    def track_skeleton(self, track: PoseTrack, mirrored: bool = False) -> Skeleton:
        """The skeleton of ``track`` in :attr:`skeleton_space`; ``mirrored``: the video is a
        mirror image (a selfie view), undone here."""
        space = self.skeleton_space
        if space == "image":
            return mirror_skeleton(track.image) if mirrored else track.image
        if track.world is None:
            raise ModelError(
                f"{self.source} is a 3D skeleton model but the pose estimator gave no 3D "
                "world keypoints; use a 2D model or an estimator with world keypoints"
            )
        if space == CAMERA_SPACE:
            return camera_skeleton(track.image, track.world, mirrored=mirrored)
        return mirror_skeleton(track.world) if mirrored else track.world


@dataclass
class ClipRecognizer(Recognizer):
    """An RGB model: scores frame clips sampled and transformed as its :class:`ClipSpec`
    says."""

    input: ClipSpec
    spec_type: ClassVar[type] = ClipSpec

    def clip_transform(self) -> Compose:
        """Frames ``(T, H, W, 3)`` uint8 -> model input ``(C, T, size, size)``."""
        return self.input.transform()

    def clip_inputs(self, clips: list[np.ndarray]) -> torch.Tensor:
        """Model inputs ``(N, C, T, size, size)`` of RGB clips, each ``(T, H, W, 3)`` uint8."""
        transform = self.clip_transform()
        return torch.stack([transform(c) for c in clips])

    def clip_scores(self, clips: list[np.ndarray], batch_size: int = CLIP_BATCH) -> np.ndarray:
        """Class probabilities ``(N, K)`` of RGB clips, each ``(T, H, W, 3)`` uint8."""
        out = [
            self.scores(self.clip_inputs(clips[i : i + batch_size]), batch_size)
            for i in range(0, len(clips), batch_size)
        ]
        return np.concatenate(out) if out else self._empty()

    def video_clips(
        self, video: str | os.PathLike, num_clips: int = 5, *, allow_partial: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """Score ``num_clips`` clips spread evenly over ``video`` (:meth:`read_clips`).

        Returns clip ``starts (N,)``, ``ends (N,)`` in seconds, probabilities ``(N, K)`` and
        the video's frame count.
        """
        clips = self.read_clips(video, num_clips, allow_partial=allow_partial)
        return clips.starts, clips.ends, self.clip_probs(clips), clips.frame_count

    def read_clips(
        self, video: str | os.PathLike, num_clips: int = 5, *, allow_partial: bool = False
    ) -> VideoClips:
        """``num_clips`` clips spread evenly over ``video``, decoded and transformed: all of
        the work on a video but the model's. Segment-sampling models (TSN, TSM) take one
        clip of one frame per segment of the whole video."""
        from actscope.video import probe, read_video

        info = probe(video)
        sampler = self.input.views_sampler(num_clips)
        clip = read_video(video, sampler, short_side=self.input.resize, allow_partial=allow_partial)
        frames, times = clip.frames, clip.times
        if frames.ndim == 4:  # one clip: (T, H, W, 3)
            frames, times = frames[None], times[None]
        period = 1.0 / info.fps if info.fps > 0 else 0.0
        inputs = self.clip_inputs(list(frames))
        return VideoClips(inputs, times[:, 0], times[:, -1] + period, int(info.frame_count))

    def clip_probs(self, clips: VideoClips) -> np.ndarray:
        """Class probabilities ``(N, K)`` of clips from :meth:`read_clips`: the model's part,
        in the batches :meth:`clip_scores` uses."""
        return self.scores(clips.inputs, CLIP_BATCH)


@dataclass
class VideoClips:
    """Clips of one video ready for an RGB model: ``inputs (N, C, T, size, size)`` float32,
    ``starts (N,)`` and ``ends (N,)`` seconds, and the video's ``frame_count``."""

    inputs: torch.Tensor
    starts: np.ndarray
    ends: np.ndarray
    frame_count: int


def check_backend(backend: str) -> str:
    """``backend`` when it is one of :data:`BACKENDS`, else a one-line :class:`ModelError`."""
    if backend not in BACKENDS:
        raise ModelError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
    return backend


def inference_device(device: str | torch.device) -> torch.device:
    """``device`` (``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"``) as the torch device it
    names here; a one-line :class:`ModelError` for one that is unknown or not there."""
    try:
        return resolve_device(str(device))
    except ConfigError as exc:
        raise ModelError(str(exc)) from None


def load_model(
    model: str | os.PathLike = DEFAULT_MODEL,
    backend: str = "torch",
    device: str | torch.device = "cpu",
) -> Recognizer:
    """Load a model ready to recognise actions: ``"default"`` (shipped, offline), an actscope
    checkpoint path, a registered model name with published weights, or an ``.onnx`` file;
    ``backend``: ``"torch"`` or ``"onnx"`` (ONNX Runtime); ``device``: where it runs
    (``"cpu"``, ``"cuda"``, ``"auto"``: see :meth:`Recognizer.to`)."""
    return Recognizer.load(model, backend, device)
