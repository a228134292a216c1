"""The Recognizer: a trained model with what it needs to score clips of any kind.

One object for every family. A skeleton model scores windows of a pose track, through the
same :class:`~actscope.pose.features.BodyFeatures` its training used; an RGB model scores
frame clips, through the transforms its input spec names. Loading accepts ``"default"``
(the skeleton model shipped inside the package, offline), a path to an actscope checkpoint
or an upstream checkpoint file/folder, or a registered model name (its published weights,
online or from the local cache).
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass, is_dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from actscope.errors import ModelError
from actscope.pose.estimate import PoseTrack
from actscope.pose.features import BodyFeatures
from actscope.pose.skeleton import Skeleton

if TYPE_CHECKING:
    from actscope.video.transforms import Compose

log = logging.getLogger(__name__)

DEFAULT_MODEL = "default"
DEFAULT_CHECKPOINT = "default_skeleton.pt"


def default_checkpoint() -> Path:
    """Path of the skeleton model shipped inside the package."""
    return Path(str(resources.files("actscope") / "assets" / DEFAULT_CHECKPOINT))


@dataclass
class Recognizer:
    """``model`` (eval mode) maps a batch of inputs to logits over ``class_names``.

    ``input`` describes what the model takes: for skeleton models ``{"kind": "skeleton",
    "layout": "body15", "dims", "frames", "persons", "window_seconds"}``; for RGB models
    ``{"kind": "video", "frames", "stride", "size", "resize", "mean", "std", "sampling"}``.
    """

    model: nn.Module
    class_names: list[str]
    input: dict[str, Any]
    source: str

    @property
    def kind(self) -> str:
        return self.input.get("kind", "video")

    @property
    def window_seconds(self) -> float:
        """Length of the clips a skeleton model was trained on (seconds)."""
        return float(self.input.get("window_seconds", 2.5))

    @classmethod
    def load(cls, model: str | os.PathLike = DEFAULT_MODEL) -> Recognizer:
        """Load ``"default"``, a checkpoint path, or a registered model name."""
        name = os.fspath(model)
        if name == DEFAULT_MODEL:
            path = default_checkpoint()
            if not path.exists():
                raise ModelError(
                    f"the default model is missing from the installation ({path}); reinstall "
                    "actscope"
                )
            return cls._from_actscope_checkpoint(path)
        path = Path(name)
        if path.exists():
            if path.is_file() and _is_actscope_checkpoint(path):
                return cls._from_actscope_checkpoint(path)
            raise ModelError(
                f"{path}: not an actscope checkpoint; for upstream weights give the model name "
                "and the file, e.g. Recognizer.from_pretrained('x3d_s', PATH)"
            )
        if any(sep in name for sep in ("/", "\\")) or name.endswith((".pt", ".pth", ".pyth")):
            raise ModelError(f"{name}: no such checkpoint file; check the path")
        return cls.from_pretrained(name)

    @classmethod
    def from_pretrained(cls, name: str, source: str | os.PathLike | None = None) -> Recognizer:
        """A registered model with published weights (``source``: see
        :func:`actscope.weights.load_pretrained`)."""
        from actscope.weights import load_pretrained

        loaded = load_pretrained(name, source)
        spec = asdict(loaded.input) if is_dataclass(loaded.input) else dict(loaded.input)
        spec.setdefault("kind", "skeleton" if "layout" in spec else "video")
        return cls(loaded.model, list(loaded.classes), spec, loaded.source)

    @classmethod
    def _from_actscope_checkpoint(cls, path: Path) -> Recognizer:
        from actscope.engine.checkpoint import load_trained_model

        model, checkpoint = load_trained_model(path)
        spec = dict(checkpoint.get("input") or {})
        spec.setdefault("kind", "skeleton" if "layout" in spec else "video")
        return cls(model, list(checkpoint["class_names"]), spec, str(path))

    # --- skeleton models --------------------------------------------------------------

    @property
    def features(self) -> BodyFeatures:
        if self.kind != "skeleton":
            raise ModelError(f"{self.source} is an RGB model; it takes frames, not skeletons")
        return BodyFeatures.from_spec(self.input)

    def skeleton_scores(self, skeletons: list[Skeleton], batch_size: int = 64) -> np.ndarray:
        """Class probabilities ``(len(skeletons), K)``, one row per skeleton clip."""
        features = self.features
        inputs = [features(s) for s in skeletons]
        return self.scores(torch.stack(inputs), batch_size) if inputs else self._empty()

    @property
    def skeleton_space(self) -> str:
        """Which keypoints of a pose track a skeleton model reads: ``"image"`` for 2D models
        (pixels, what the camera sees), ``"world"`` for 3D ones (metres)."""
        return "world" if int(self.input.get("dims", 2)) == 3 else "image"

    def track_skeleton(self, track: PoseTrack) -> Skeleton:
        """The skeleton of ``track`` in :attr:`skeleton_space`."""
        if self.skeleton_space == "world":
            if track.world is None:
                raise ModelError(
                    f"{self.source} is a 3D skeleton model but the pose estimator gave no 3D "
                    "world keypoints; use a 2D model or an estimator with world keypoints"
                )
            return track.world
        return track.image

    # --- RGB models ---------------------------------------------------------------------

    @property
    def clip_frames(self) -> int:
        """Frames per clip an RGB model takes."""
        return int(self.input.get("frames", 16))

    @property
    def clip_stride(self) -> int:
        """Frames of the video between consecutive clip frames (RGB models)."""
        return max(1, int(self.input.get("stride", 1)))

    def clip_transform(self) -> Compose:
        """Frames ``(T, H, W, 3)`` uint8 -> model input ``(C, T, size, size)``, as the input
        spec says (short side resized to ``resize``, centre crop ``size``, mean/std)."""
        if self.kind != "video":
            raise ModelError(f"{self.source} is a skeleton model; it takes poses, not frames")
        # imported here: torchvision costs seconds and ~150 MB that skeleton models never need
        from actscope.video.transforms import (
            KINETICS_MEAN,
            KINETICS_STD,
            CenterCrop,
            Compose,
            Normalize,
            ResizeShortSide,
            ToTensor,
        )

        size = int(self.input.get("size", 224))
        return Compose(
            [
                ToTensor(),
                ResizeShortSide(int(self.input.get("resize", size))),
                CenterCrop(size),
                Normalize(
                    self.input.get("mean", KINETICS_MEAN), self.input.get("std", KINETICS_STD)
                ),
            ]
        )

    def clip_scores(self, clips: list[np.ndarray], batch_size: int = 8) -> np.ndarray:
        """Class probabilities ``(N, K)`` of RGB clips, each ``(T, H, W, 3)`` uint8."""
        transform = self.clip_transform()
        out = [
            self.scores(torch.stack([transform(c) for c in clips[i : i + batch_size]]), batch_size)
            for i in range(0, len(clips), batch_size)
        ]
        return np.concatenate(out) if out else self._empty()

    def video_clips(
        self, video: str | os.PathLike, num_clips: int = 5, *, allow_partial: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """Score ``num_clips`` clips spread evenly over ``video`` (RGB models).

        Returns clip ``starts (N,)``, ``ends (N,)`` in seconds, probabilities ``(N, K)`` and
        the video's frame count. Segment-sampling models (TSN, TSM) take one clip of one
        frame per segment of the whole video.
        """
        from actscope.video import MultiViewSampler, UniformSampler, probe, read_video

        info = probe(video)
        if self.input.get("sampling") == "segments":
            sampler = UniformSampler(self.clip_frames)
        else:
            sampler = MultiViewSampler(num_clips, self.clip_frames, self.clip_stride)
        size = int(self.input.get("resize", self.input.get("size", 224)))
        clip = read_video(video, sampler, short_side=size, allow_partial=allow_partial)
        frames, times = clip.frames, clip.times
        if frames.ndim == 4:  # one clip: (T, H, W, 3)
            frames, times = frames[None], times[None]
        period = 1.0 / info.fps if info.fps > 0 else 0.0
        starts = times[:, 0]
        ends = times[:, -1] + period
        probs = self.clip_scores(list(frames))
        return starts, ends, probs, int(info.frame_count)

    # --- any model --------------------------------------------------------------------

    @torch.inference_mode()
    def scores(self, inputs: torch.Tensor, batch_size: int = 64) -> np.ndarray:
        """Softmax probabilities ``(N, K)`` for a batch of model inputs ``(N, ...)``."""
        out = [
            torch.softmax(self.model(inputs[i : i + batch_size]).float(), dim=-1)
            for i in range(0, len(inputs), batch_size)
        ]
        return torch.cat(out).numpy() if out else self._empty()

    def _empty(self) -> np.ndarray:
        return np.zeros((0, len(self.class_names)), np.float32)


def _is_actscope_checkpoint(path: Path) -> bool:
    from actscope.engine.checkpoint import FORMAT, load_checkpoint

    try:
        return load_checkpoint(path).get("format") == FORMAT
    except ModelError:
        return False


def load_model(model: str | os.PathLike = DEFAULT_MODEL) -> Recognizer:
    """Load a model ready to recognise actions: ``"default"`` (shipped, offline), an actscope
    checkpoint path, or a registered model name with published weights."""
    return Recognizer.load(model)
