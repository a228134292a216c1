"""A picture of a video's scores over time: class probabilities and detected segments.

Drawn with matplotlib's Agg canvas (no display, no global backend change) and written to a
PNG atomically.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from actscope.files import atomic_path
from actscope.inference.scoring import ScoreTrack, moving_average
from actscope.inference.segments import Segment


def plot_timeline(
    scores: ScoreTrack,
    output: str | os.PathLike,
    segments: Sequence[Segment] | None = None,
    *,
    top: int = 5,
    smooth: int = 3,
    title: str = "",
    width: float = 12.0,
) -> None:
    """Write a PNG: above, the (``smooth``-window averaged) probabilities of the ``top``
    classes over time (the classes of the segments first, then the highest-scoring) and,
    for skeleton models, the motion signal; below, the ``segments`` as labelled bars."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    probs = scores.smoothed(smooth)
    chosen = _classes_to_show(scores, probs, segments or [], top)
    colors = {k: f"C{i % 10}" for i, k in enumerate(chosen)}
    figure = Figure(figsize=(width, 4.2), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    above, below = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    end = max(scores.duration, float(scores.ends.max()) if scores.num_windows else 0.0, 1e-3)
    if scores.motion is not None and len(scores.motion):
        motion = moving_average(scores.motion, max(1, round(0.5 * len(scores.times) / end)))
        twin = above.twinx()
        twin.fill_between(scores.times, motion, color="0.85", step="mid", lw=0)
        twin.set_ylabel("motion (limb lengths/s)", color="0.5")
        twin.set_ylim(0, max(float(np.percentile(motion, 99)) * 1.2, 1.0))
        twin.tick_params(colors="0.5")
        above.set_zorder(twin.get_zorder() + 1)
        above.patch.set_visible(False)
    # per frame: the mean of the windows covering it; without frame times, window centres
    if len(scores.times) and scores.num_windows:
        x, y = scores.times, scores.frame_scores(smooth)
    else:
        x, y = scores.centers, probs
    for k in chosen:
        above.plot(x, y[:, k], color=colors[k], lw=1.6, label=scores.class_names[k])
    if not scores.num_windows:
        above.text(
            0.5, 0.5, "no windows scored (no person?)", ha="center", transform=above.transAxes
        )
    above.set_ylim(-0.02, 1.04)  # a little room, so that lines at 0 and 1 stay visible
    above.set_ylabel("probability")
    if chosen:
        above.legend(loc="upper left", fontsize=8, ncol=min(len(chosen), 3), framealpha=0.8)
    above.set_title(title or "class scores over time")
    names = list(scores.class_names)
    for s in segments or []:
        k = names.index(s.label) if s.label in names else -1
        color = colors.get(k, "0.4")
        below.broken_barh([(s.start, s.duration)], (0.1, 0.8), color=color, alpha=0.85)
        below.text(
            s.start + s.duration / 2,
            0.5,
            f"{s.label}\n{s.score:.2f}",
            ha="center",
            va="center",
            fontsize=7,
            clip_on=True,
        )
    below.set_ylim(0, 1)
    below.set_yticks([])
    below.set_ylabel("segments")
    below.set_xlabel("time (s)")
    below.set_xlim(0, end)
    with atomic_path(output) as temp:
        figure.savefig(temp, format="png")


def _classes_to_show(
    scores: ScoreTrack, probs: np.ndarray, segments: Sequence[Segment], top: int
) -> list[int]:
    names = list(scores.class_names)
    chosen: list[int] = []
    for s in sorted(segments, key=lambda s: -s.score):
        k = names.index(s.label) if s.label in names else None
        if k is not None and k not in chosen:
            chosen.append(k)
    if len(probs):
        for k in np.argsort(-probs.max(axis=0), kind="stable"):
            if len(chosen) >= top:
                break
            if int(k) not in chosen:
                chosen.append(int(k))
    return chosen[: max(top, 1)]
