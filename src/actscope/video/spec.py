"""What an RGB model reads from a video: the clip spec, one typed record for every RGB model.

A :class:`ClipSpec` says how many frames a clip has and how far apart, at what size, and how
its pixels are normalised. The registry describes each RGB model's default input with one,
training stores the one it used in every checkpoint (:meth:`ClipSpec.to_dict`), and
inference reads it back (:meth:`ClipSpec.from_dict`) to sample and transform clips exactly as
training did.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from actscope.errors import ConfigError
from actscope.video.sampling import MultiViewSampler, UniformSampler

if TYPE_CHECKING:
    from actscope.video.transforms import Compose


@dataclass(frozen=True)
class ClipSpec:
    """RGB clip input ``(C, T, H, W)``: ``frames`` frames sampled ``stride`` frames apart,
    the short side resized to ``resize`` pixels, a ``size`` x ``size`` centre crop,
    normalised by ``mean``/``std`` (per channel, on [0, 1] values).

    ``sampling="segments"`` (TSN, TSM) takes one frame from each of ``frames`` equal
    segments of the whole video instead, and ``stride`` is only nominal.
    """

    kind: ClassVar[str] = "video"

    frames: int
    stride: int
    size: int
    resize: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    sampling: Literal["dense", "segments"] = "dense"

    def __post_init__(self) -> None:
        if min(self.frames, self.stride, self.size) < 1 or self.resize < self.size:
            raise ConfigError(
                f"clip spec frames={self.frames}, stride={self.stride}, size={self.size}, "
                f"resize={self.resize}: each must be positive and resize at least size"
            )
        if self.sampling not in ("dense", "segments"):
            raise ConfigError(f"clip sampling must be dense or segments, got {self.sampling!r}")
        object.__setattr__(self, "mean", tuple(float(v) for v in self.mean))
        object.__setattr__(self, "std", tuple(float(v) for v in self.std))

    def to_dict(self) -> dict[str, Any]:
        """Plain values (lists, not tuples) with ``kind: "video"``, as checkpoints store it."""
        return {"kind": self.kind, **asdict(self), "mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> ClipSpec:
        """Inverse of :meth:`to_dict`; ``stride`` defaults to 1, ``resize`` to ``size`` and
        ``sampling`` to dense. A missing or unknown key is a :class:`ConfigError`."""
        fields = {k: v for k, v in values.items() if k != "kind"}
        unknown = set(fields) - set(cls.__dataclass_fields__)
        missing = {"frames", "size", "mean", "std"} - set(fields)
        if unknown or missing:
            problem = f"unknown keys {sorted(unknown)}" if unknown else f"no {sorted(missing)}"
            raise ConfigError(f"clip spec {dict(values)}: {problem}")
        size = int(fields["size"])
        return cls(
            frames=int(fields["frames"]),
            stride=max(1, int(fields.get("stride", 1))),
            size=size,
            resize=int(fields.get("resize", size)),
            mean=tuple(fields["mean"]),
            std=tuple(fields["std"]),
            sampling=fields.get("sampling", "dense"),
        )

    def views_sampler(self, num_clips: int) -> MultiViewSampler | UniformSampler:
        """Indices of ``num_clips`` clips spread evenly over a video (``(num_clips, frames)``),
        or, for segment sampling, of the one clip of one frame per segment (``(frames,)``)."""
        if self.sampling == "segments":
            return UniformSampler(self.frames)
        return MultiViewSampler(num_clips, self.frames, self.stride)

    def transform(self) -> Compose:
        """Frames ``(T, H, W, 3)`` uint8 -> model input ``(C, frames, size, size)`` float:
        short side to ``resize``, centre crop ``size``, ``mean``/``std``."""
        # imported here: torchvision costs seconds and ~150 MB that skeleton models never need
        from actscope.video.transforms import (
            CenterCrop,
            Compose,
            Normalize,
            ResizeShortSide,
            ToTensor,
        )

        return Compose(
            [
                ToTensor(),
                ResizeShortSide(self.resize),
                CenterCrop(self.size),
                Normalize(self.mean, self.std),
            ]
        )
