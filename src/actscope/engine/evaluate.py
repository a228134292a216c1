"""Evaluating a classifier on a dataset: class scores for every sample, then the metrics of
:mod:`actscope.engine.metrics`.

The model maps a batch to logits ``(N, K)``. With ``views=True`` each sample of the dataset is
``(V, ...)`` views (clips, crops, ...); they are run as ``N * V`` inputs and their scores
averaged per sample.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from actscope.engine.data import EpochBatchSampler, make_loader
from actscope.engine.device import autocast, resolve_device, to_device
from actscope.engine.metrics import EvalReport, compute_report


@torch.no_grad()
def predict_scores(
    model: nn.Module,
    loader: DataLoader,
    *,
    device: torch.device,
    amp: bool = False,
    views: bool = False,
    average: Literal["prob", "logit"] = "prob",
    on_batch: Callable[[], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, float | None]:
    """Scores ``(N, K)``, labels ``(N,)`` and the mean cross-entropy (``None`` with views).

    With ``views``, ``average="prob"`` averages softmax probabilities over a sample's views
    and ``"logit"`` averages logits. The model is put in eval mode and restored afterwards.
    """
    was_training = model.training
    model.eval()
    scores, labels = [], []
    loss_sum, count = 0.0, 0
    try:
        for inputs, targets in loader:
            inputs = to_device(inputs, device)
            targets = torch.as_tensor(targets).to(device)
            if views:
                n, v = inputs.shape[:2]
                with autocast(device, amp):
                    logits = model(inputs.flatten(0, 1)).float().view(n, v, -1)
                logits = logits.softmax(-1).mean(1) if average == "prob" else logits.mean(1)
            else:
                with autocast(device, amp):
                    logits = model(inputs).float()
                loss_sum += nn.functional.cross_entropy(logits, targets, reduction="sum").item()
            count += len(targets)
            scores.append(logits.cpu())
            labels.append(targets.cpu())
            if on_batch is not None:
                on_batch()
    finally:
        model.train(was_training)
    if not scores:
        return np.zeros((0, 0)), np.zeros(0, dtype=np.int64), None
    loss = None if views or not count else loss_sum / count
    return torch.cat(scores).double().numpy(), torch.cat(labels).long().numpy(), loss


def evaluate(
    model: nn.Module,
    data: Dataset | DataLoader,
    *,
    class_names: Sequence[str],
    batch_size: int = 64,
    device: str | torch.device = "auto",
    amp: bool = False,
    views: bool = False,
    average: Literal["prob", "logit"] = "prob",
    workers: int = 0,
    collate_fn: Callable | None = None,
) -> EvalReport:
    """Evaluate ``model`` on ``data`` (a dataset of ``(input, label)`` or a ready loader).

    Returns an :class:`~actscope.engine.metrics.EvalReport` (top-1, top-5, mean class
    accuracy, confusion matrix, per-class report; ``.save_json``, ``.save_confusion_png``).
    ``batch_size``, ``workers`` and ``collate_fn`` apply when ``data`` is a dataset.
    """
    device = device if isinstance(device, torch.device) else resolve_device(device)
    loader = (
        data if isinstance(data, DataLoader) else eval_loader(data, batch_size, workers, collate_fn)
    )
    model.to(device)
    scores, labels, loss = predict_scores(
        model, loader, device=device, amp=amp, views=views, average=average
    )
    if scores.size == 0:
        scores = np.zeros((0, len(class_names)))
    return compute_report(scores, labels, class_names, loss=loss)


def eval_loader(
    dataset: Dataset, batch_size: int, workers: int = 0, collate_fn: Callable | None = None
) -> DataLoader:
    """Dataset order, every sample once; random test-time transforms seeded per sample."""
    sampler = EpochBatchSampler(
        len(dataset), batch_size, seed=0, epoch=-1, shuffle=False, drop_last=False
    )
    return make_loader(dataset, sampler, workers=workers, seed=0, collate_fn=collate_fn)
