"""Converting skeletons between layouts and coordinate conventions, and normalising them.

Every layout converts to the shared layout ``body15`` (:func:`to_body15`): its joints are
copied or derived (pelvis = mid-hip, neck = mid-shoulder, head = mid-ear or nose, as each
layout's ``to_body15`` table says) and its axes are mapped onto the canonical ones (x right
in an unmirrored image, y up, z towards the camera). :func:`from_body15` goes back for the
joints a layout shares one-to-one with ``body15``; the others come back missing.

:func:`normalize` makes skeletons from different sources comparable: canonical axes,
centred on the pelvis, scaled by the torso (neck to pelvis) length, optionally turned to
face the camera.
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np

from actscope.errors import PoseError
from actscope.pose.layouts import BODY15, BODY15_JOINTS, Layout, get_layout
from actscope.pose.skeleton import Skeleton

log = logging.getLogger(__name__)

_PELVIS, _NECK = BODY15.index("pelvis"), BODY15.index("neck")
_HIPS = (BODY15.index("left_hip"), BODY15.index("right_hip"))
_SHOULDERS = (BODY15.index("left_shoulder"), BODY15.index("right_shoulder"))


def axis_signs(layout: str | Layout, space: str, channels: int) -> np.ndarray:
    """``(C,)`` signs that turn ``layout``'s axes in ``space`` into the canonical axes."""
    layout = get_layout(layout)
    if layout.name == BODY15.name or space == "normalized":
        signs: tuple[int, ...] = (1, 1, 1)
    elif space == "image":
        signs = (1, -1, -1)  # pixels: y down; a depth channel, if any, points away
    elif layout.world_axes is None:
        raise PoseError(
            f"layout {layout.name!r} has no 3D world convention; only image keypoints can be "
            "converted from it"
        )
    else:
        signs = layout.world_axes
    return np.asarray(signs[:channels], dtype=np.float32)


def canonical_coords(skeleton: Skeleton) -> np.ndarray:
    """``(M, T, V, C)`` coordinates of ``skeleton`` in canonical axes (same layout)."""
    signs = axis_signs(skeleton.layout, skeleton.space, skeleton.channels)
    return skeleton.coords * signs


def _derive_body15(
    coords: np.ndarray,
    scores: np.ndarray,
    layout: Layout,
    derived_score: Literal["mean", "min"] = "mean",
) -> tuple[np.ndarray, np.ndarray]:
    """body15 joints from ``layout``'s: the first alternative with all its joints present.

    A derived joint's score is the mean score of the joints it was averaged from (a
    midpoint of a sure and an unsure joint is half as far off as the unsure one), or with
    ``derived_score="min"`` the lowest (a rule that must not trust a joint half made of one
    the sensor did not track).
    """
    people, frames, _, channels = coords.shape
    out = np.full((people, frames, len(BODY15_JOINTS), channels), np.nan, np.float32)
    out_scores = np.zeros((people, frames, len(BODY15_JOINTS)), np.float32)
    reduce = np.min if derived_score == "min" else np.mean
    for target, name in enumerate(BODY15_JOINTS):
        for alternative in layout.to_body15.get(name, ()):
            index = [layout.index(joint) for joint in alternative]
            if len(index) == 1:  # copied, not averaged, so a round trip is exact
                candidate = coords[:, :, index[0]]
            else:
                candidate = coords[:, :, index].mean(axis=2)
            fill = np.isnan(out[:, :, target, 0]) & ~np.isnan(candidate[..., 0])
            out[:, :, target][fill] = candidate[fill]
            out_scores[:, :, target][fill] = reduce(scores[:, :, index], axis=2)[fill]
    return out, out_scores


def to_body15(skeleton: Skeleton, derived_score: Literal["mean", "min"] = "mean") -> Skeleton:
    """``skeleton`` in the shared ``body15`` layout and canonical axes; joints the source
    cannot give are missing (NaN, score 0). ``derived_score``: how a joint averaged from
    several is scored (:func:`_derive_body15`)."""
    layout = get_layout(skeleton.layout)
    if layout.name == BODY15.name:
        return skeleton
    coords, scores = _derive_body15(
        canonical_coords(skeleton), skeleton.scores, layout, derived_score
    )
    return skeleton.replace(coords=coords, scores=scores, layout=BODY15.name)


def from_body15(skeleton: Skeleton, layout: str | Layout) -> Skeleton:
    """A ``body15`` skeleton in ``layout`` and that layout's own axes.

    Only joints that ``layout`` maps one-to-one onto a body15 joint are filled; the rest
    (a MediaPipe nose, a Kinect hand) are missing.
    """
    target = get_layout(layout)
    if skeleton.layout != BODY15.name:
        raise PoseError(f"from_body15 needs a body15 skeleton, got layout {skeleton.layout!r}")
    people, frames, _, channels = skeleton.coords.shape
    coords = np.full((people, frames, target.num_joints, channels), np.nan, np.float32)
    scores = np.zeros((people, frames, target.num_joints), np.float32)
    for name, alternatives in target.to_body15.items():
        if len(alternatives[0]) == 1:
            source, joint = BODY15.index(name), target.index(alternatives[0][0])
            coords[:, :, joint] = skeleton.coords[:, :, source]
            scores[:, :, joint] = skeleton.scores[:, :, source]
    coords *= axis_signs(target, skeleton.space, channels)  # the signs are their own inverse
    return skeleton.replace(coords=coords, scores=scores, layout=target.name)


def convert(skeleton: Skeleton, layout: str | Layout) -> Skeleton:
    """``skeleton`` in another layout, through ``body15``."""
    target = get_layout(layout)
    if skeleton.layout == target.name:
        return skeleton
    body = to_body15(skeleton)
    return body if target.name == BODY15.name else from_body15(body, target)


def normalize(
    skeleton: Skeleton,
    *,
    dims: Literal[2, 3] | None = None,
    center: Literal["sequence", "frame"] = "sequence",
    rotate: bool = False,
) -> Skeleton:
    """``skeleton`` in canonical axes, centred on the pelvis and in units of torso length.

    ``dims=2`` drops depth first (the torso is then measured in the image plane, as for
    2D keypoints); ``None`` keeps the skeleton's channels. ``center="sequence"`` subtracts
    the median pelvis position over the sequence (movement across the scene is kept);
    ``"frame"`` subtracts each frame's pelvis. The torso length is the median neck–pelvis
    distance over frames. ``rotate`` (3D only) turns the body about the vertical axis so
    the median hip line (else the shoulder line) runs along +x, i.e. the person faces the
    camera. Centre, scale and rotation come from the first person with a pelvis and a neck
    and apply to everyone, so people keep their places relative to each other. The layout
    is unchanged; ``space`` becomes ``"normalized"``.
    """
    if dims not in (None, 2, 3):
        raise PoseError(f"dims must be 2, 3 or None, got {dims}")
    if center not in ("sequence", "frame"):
        raise PoseError(f"center must be 'sequence' or 'frame', got {center!r}")
    coords = canonical_coords(skeleton)
    if dims == 3 and skeleton.channels != 3:
        raise PoseError("cannot normalise a 2D skeleton in 3D; use dims=2")
    if dims == 2:
        coords = coords[..., :2]
    body, _ = _derive_body15(coords, skeleton.scores, get_layout(skeleton.layout))
    anchor = _anchor_person(body)
    if anchor is None:
        log.warning("%s: no frame has both a pelvis and a neck; left unnormalised", skeleton.source)
        return skeleton.replace(coords=coords, space="normalized", image_size=None)
    pelvis = _fill_over_time(body[anchor, :, _PELVIS])
    offset = np.nanmedian(pelvis, axis=0) if center == "sequence" else pelvis[:, None]
    torso = np.nanmedian(np.linalg.norm(body[anchor, :, _NECK] - body[anchor, :, _PELVIS], axis=-1))
    if not torso > 0:
        raise PoseError(f"{skeleton.source}: torso length is zero; the skeleton is degenerate")
    coords = (coords - offset) / torso
    if rotate:
        if coords.shape[-1] != 3:
            raise PoseError("rotate=True needs 3D coordinates; use rotate=False for 2D")
        coords = coords @ _facing_rotation(body[anchor]).T
    return skeleton.replace(coords=coords, space="normalized", image_size=None)


def _anchor_person(body: np.ndarray) -> int | None:
    """Index of the first person with a pelvis and a neck in some frame."""
    both = ~np.isnan(body[:, :, _PELVIS, 0]) & ~np.isnan(body[:, :, _NECK, 0])
    found = np.flatnonzero(both.any(axis=1))
    return int(found[0]) if found.size else None


def _fill_over_time(track: np.ndarray) -> np.ndarray:
    """``(T, C)`` track with missing frames linearly interpolated (ends held)."""
    valid = ~np.isnan(track[:, 0])
    if valid.all():
        return track
    frames = np.arange(len(track))
    return np.stack(
        [np.interp(frames, frames[valid], track[valid, c]) for c in range(track.shape[1])],
        axis=-1,
    ).astype(np.float32)


def _facing_rotation(body: np.ndarray) -> np.ndarray:
    """``(3, 3)`` rotation about y taking the median left-minus-right hip (or shoulder)
    vector of ``body`` ``(T, 15, 3)`` onto +x."""
    for left, right in (_HIPS, _SHOULDERS):
        across = np.nanmedian(body[:, left] - body[:, right], axis=0)
        if np.isfinite(across).all() and np.hypot(across[0], across[2]) > 1e-6:
            break
    else:
        log.warning("no hip or shoulder line found; not rotated")
        return np.eye(3, dtype=np.float32)
    angle = np.arctan2(across[2], across[0])
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]], dtype=np.float32)
