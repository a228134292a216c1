"""Repairs for real skeleton data: dropped frames, tracker glitches, short gaps."""

from __future__ import annotations

import numpy as np

from actscope.pose.skeleton import Skeleton


def drop_empty_frames(skeleton: Skeleton) -> tuple[Skeleton, int]:
    """Remove frames in which every coordinate is zero or missing (a tracker that lost
    everyone writes zeros); return the skeleton and how many frames were dropped."""
    empty = np.nan_to_num(skeleton.coords).any(axis=(0, 2, 3)) == 0
    if not empty.any():
        return skeleton, 0
    return skeleton.take(~empty), int(empty.sum())


def repair_jumps(skeleton: Skeleton, max_jump: float, max_frames: int = 10) -> tuple[Skeleton, int]:
    """Replace short tracker glitches by linear interpolation; return the skeleton and the
    number of joint positions replaced.

    A glitch is a joint jumping more than ``max_jump`` (in the skeleton's units, e.g. metres)
    between consecutive frames and coming back, within ``max_frames`` frames, to within
    ``max_jump`` of where it was before. The replaced positions get score 0. A jump with no
    return is left alone: the data cannot tell which side of it is wrong.
    """
    if skeleton.num_frames < 3:
        return skeleton, 0
    steps = np.linalg.norm(np.diff(skeleton.coords, axis=1), axis=-1)  # (M, T-1, V)
    jumping = np.argwhere((np.nan_to_num(steps) > max_jump).any(axis=1))  # (m, v) pairs
    if not len(jumping):
        return skeleton, 0
    coords, scores = skeleton.coords.copy(), skeleton.scores.copy()
    repaired = 0
    for m, v in jumping:
        glitches = _glitches(coords[m, :, v], max_jump, max_frames)
        for start, stop in glitches:
            scores[m, start:stop, v] = 0.0
            repaired += stop - start
    if not repaired:
        return skeleton, 0
    return skeleton.replace(coords=coords, scores=scores), repaired


def _glitches(track: np.ndarray, max_jump: float, max_frames: int) -> list[tuple[int, int]]:
    """Interpolate over the glitches of one joint's ``(T, C)`` track, in place; return their
    frame ranges ``[start, stop)``."""
    frames = len(track)
    found = []
    t = 1
    while t < frames:
        before = track[t - 1]
        if not np.linalg.norm(track[t] - before) > max_jump:
            t += 1
            continue
        end = min(frames, t + max_frames + 1)
        back = np.flatnonzero(np.linalg.norm(track[t:end] - before, axis=-1) <= max_jump)
        if back.size == 0:  # no return: cannot tell which side is wrong
            t += 1
            continue
        stop = t + int(back[0])  # first frame back in place
        weights = np.arange(1, stop - t + 1)[:, None] / (stop - t + 1)
        track[t:stop] = before + weights * (track[stop] - before)
        found.append((t, stop))
        t = stop + 1
    return found


def interpolate_missing(skeleton: Skeleton, max_gap: int | None = None) -> Skeleton:
    """Fill missing joint positions by linear interpolation over time, per person and joint.

    Only gaps between two observed positions are filled (the ends of a track stay missing),
    and with ``max_gap`` only gaps of at most that many frames. Filled positions keep
    score 0, so a model can still tell them from observations.
    """
    coords = skeleton.coords.copy()
    people, frames, joints, _ = coords.shape
    all_frames = np.arange(frames)
    for m in range(people):
        for v in range(joints):
            track = coords[m, :, v]
            valid = ~np.isnan(track[:, 0])
            observed = np.flatnonzero(valid)
            if observed.size < 2 or valid[observed[0] : observed[-1] + 1].all():
                continue
            gap = np.zeros(frames, bool)
            gap[observed[0] : observed[-1] + 1] = ~valid[observed[0] : observed[-1] + 1]
            if max_gap is not None:
                gap &= _gap_lengths(~valid) <= max_gap
            for c in range(track.shape[1]):
                track[gap, c] = np.interp(all_frames[gap], observed, track[observed, c])
    return skeleton.replace(coords=coords)


def _gap_lengths(missing: np.ndarray) -> np.ndarray:
    """For each frame, the length of the run of missing frames it belongs to (0 if observed)."""
    lengths = np.zeros(len(missing), int)
    t = 0
    while t < len(missing):
        if missing[t]:
            end = t
            while end < len(missing) and missing[end]:
                end += 1
            lengths[t:end] = end - t
            t = end
        else:
            t += 1
    return lengths
