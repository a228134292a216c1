"""Classification metrics from class scores: top-k accuracy, mean class accuracy, confusion
matrix and a per-class precision/recall/F1 report, saved as JSON and as a PNG.

Conventions:

- Scores are ``(N, K)`` (logits or probabilities; only their order matters), labels ``(N,)``
  integers in ``[0, K)``.
- Top-k counts ties at the k-th place by their expected value under a random tie-break: when
  the true class ties with ``e`` classes (itself included) and ``g`` classes score strictly
  higher, it scores ``clip((k - g) / e, 0, 1)``. A constant output therefore scores chance,
  not 100% or 0%.
- The confusion matrix (rows: true class, columns: predicted) uses the arg-max prediction,
  the lowest class index on ties; it can differ from top-1 only where scores tie exactly.
- Mean class accuracy is the mean recall over the classes present in the labels.
- Precision of a class never predicted, recall of a class absent from the labels and their
  F1 are 0 (and ``support``/``predicted`` show why).
"""

from __future__ import annotations

import io
import json
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from actscope.errors import DatasetError
from actscope.files import write_bytes, write_text


def topk_credit(scores: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Per-sample top-``k`` credit in [0, 1] ``(N,)``, ties shared as described above."""
    scores, labels = _check(scores, labels)
    true = scores[np.arange(len(labels)), labels][:, None]
    greater = (scores > true).sum(axis=1)
    equal = (scores == true).sum(axis=1)
    return np.clip((k - greater) / equal, 0.0, 1.0)


def topk_accuracy(scores: np.ndarray, labels: np.ndarray, k: int = 1) -> float:
    """Fraction of samples whose true class is among the ``k`` highest scores."""
    credit = topk_credit(scores, labels, k)
    return float(credit.mean()) if len(credit) else 0.0


def confusion_matrix(predictions: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """``(K, K)`` counts, row = true class, column = predicted class."""
    predictions = np.asarray(predictions, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (labels, predictions), 1)
    return matrix


def mean_class_accuracy(confusion: np.ndarray) -> float:
    """Mean over classes with at least one sample of their recall."""
    support = confusion.sum(axis=1)
    present = support > 0
    if not present.any():
        return 0.0
    return float((np.diag(confusion)[present] / support[present]).mean())


def per_class_report(confusion: np.ndarray, class_names: Sequence[str]) -> list[dict[str, Any]]:
    """One dict per class: name, precision, recall, f1, support, predicted."""
    hits = np.diag(confusion)
    support = confusion.sum(axis=1)
    predicted = confusion.sum(axis=0)
    rows = []
    for i, name in enumerate(class_names):
        precision = hits[i] / predicted[i] if predicted[i] else 0.0
        recall = hits[i] / support[i] if support[i] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append(
            {
                "name": str(name),
                "precision": float(precision),
                "recall": float(recall),
                "f1": float(f1),
                "support": int(support[i]),
                "predicted": int(predicted[i]),
            }
        )
    return rows


def aggregate_views(
    scores: np.ndarray,
    labels: np.ndarray,
    sample_ids: Sequence[Hashable],
    average: Literal["prob", "logit"] = "prob",
) -> tuple[np.ndarray, np.ndarray, list[Hashable]]:
    """Average view-level scores ``(M, K)`` into sample-level ``(S, K)``.

    ``sample_ids`` ``(M,)`` says which sample each view belongs to (multi-clip / multi-crop
    testing). ``average="prob"`` averages softmax probabilities, ``"logit"`` the raw scores.
    Returns ``(scores, labels, ids)`` with samples in order of first appearance. A sample
    whose views carry different labels is a :class:`DatasetError`.
    """
    scores, labels = _check(scores, labels)
    if len(sample_ids) != len(scores):
        raise ValueError(f"{len(sample_ids)} sample ids for {len(scores)} rows of scores")
    if average == "prob":
        shifted = scores - scores.max(axis=1, keepdims=True)
        scores = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    elif average != "logit":
        raise ValueError(f"average must be 'prob' or 'logit', not {average!r}")
    order: dict[Hashable, int] = {}
    rows = np.array([order.setdefault(s, len(order)) for s in sample_ids])
    sums = np.zeros((len(order), scores.shape[1]), dtype=np.float64)
    np.add.at(sums, rows, scores)
    counts = np.bincount(rows, minlength=len(order))
    out_labels = np.full(len(order), -1, dtype=np.int64)
    for row, label in zip(rows, labels, strict=True):
        if out_labels[row] not in (-1, label):
            sample = list(order)[row]
            raise DatasetError(f"the views of sample {sample!r} carry different labels")
        out_labels[row] = label
    return sums / counts[:, None], out_labels, list(order)


@dataclass
class EvalReport:
    """Metrics of one evaluation. ``scores`` ``(N, K)`` and ``labels`` ``(N,)`` are kept for
    fusion (e.g. summing the scores of several skeleton streams) but not written to JSON."""

    class_names: list[str]
    top1: float
    top5: float
    mean_class_accuracy: float
    confusion: np.ndarray
    per_class: list[dict[str, Any]]
    loss: float | None = None
    scores: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False)
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False)

    @property
    def num_samples(self) -> int:
        return int(self.confusion.sum())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (confusion as nested lists)."""
        return {
            "num_samples": self.num_samples,
            "num_classes": len(self.class_names),
            "top1": self.top1,
            "top5": self.top5,
            "mean_class_accuracy": self.mean_class_accuracy,
            "loss": self.loss,
            "class_names": list(self.class_names),
            "per_class": self.per_class,
            "confusion": self.confusion.tolist(),
        }

    def save_json(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as JSON, atomically."""
        write_text(path, json.dumps(self.to_dict(), indent=2) + "\n")
        return Path(path)

    def save_confusion_png(self, path: str | Path, title: str = "") -> Path:
        """Draw the confusion matrix with class names, atomically (see
        :func:`plot_confusion`)."""
        heading = title or (
            f"top-1 {100 * self.top1:.1f}%  ·  mean class acc. "
            f"{100 * self.mean_class_accuracy:.1f}%  ·  {self.num_samples} samples"
        )
        write_bytes(path, plot_confusion(self.confusion, self.class_names, heading))
        return Path(path)


def compute_report(
    scores: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str],
    loss: float | None = None,
) -> EvalReport:
    """All metrics of scores ``(N, K)`` against labels ``(N,)``; ``K`` = ``len(class_names)``."""
    scores, labels = _check(scores, labels, len(class_names))
    k = len(class_names)
    confusion = confusion_matrix(scores.argmax(axis=1), labels, k)
    return EvalReport(
        class_names=[str(c) for c in class_names],
        top1=topk_accuracy(scores, labels, 1),
        top5=topk_accuracy(scores, labels, min(5, k)),
        mean_class_accuracy=mean_class_accuracy(confusion),
        confusion=confusion,
        per_class=per_class_report(confusion, class_names),
        loss=loss,
        scores=scores,
        labels=labels,
    )


def plot_confusion(confusion: np.ndarray, class_names: Sequence[str], title: str = "") -> bytes:
    """PNG bytes of the confusion matrix: cells coloured by row-normalised rate (recall on the
    diagonal), annotated with counts; the figure grows with the number of classes so that
    27 or more names stay readable."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    k = len(class_names)
    rates = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    side = max(5.0, 0.38 * k + 3.0)
    fig = Figure(figsize=(side, side), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    image = ax.imshow(rates, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, shrink=0.6, label="fraction of the true class")
    ax.set_xticks(range(k), [str(c) for c in class_names], rotation=90, fontsize=8)
    ax.set_yticks(range(k), [str(c) for c in class_names], fontsize=8)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if title:
        ax.set_title(title, fontsize=10)
    if k <= 40:
        for (i, j), count in np.ndenumerate(confusion):
            if count:
                color = "white" if rates[i, j] > 0.5 else "black"
                ax.text(j, i, str(count), ha="center", va="center", fontsize=7, color=color)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _check(
    scores: np.ndarray, labels: np.ndarray, num_classes: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if scores.ndim != 2 or labels.shape != (scores.shape[0],):
        raise ValueError(
            f"scores must be (N, K) and labels (N,), got {scores.shape} and {labels.shape}"
        )
    if num_classes is not None and scores.shape[1] != num_classes:
        raise DatasetError(
            f"the model gives {scores.shape[1]} scores per sample but there are "
            f"{num_classes} class names; they must match"
        )
    if len(labels) and (labels.min() < 0 or labels.max() >= scores.shape[1]):
        bad = int(labels.min() if labels.min() < 0 else labels.max())
        raise DatasetError(
            f"label {bad} is outside the {scores.shape[1]} classes; check the dataset's labels"
        )
    return scores, labels
