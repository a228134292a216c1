"""One training run from its config alone: what ``actscope train`` and the benchmarks call.

:func:`fit` resolves the dataset by name (:mod:`actscope.datasets.catalog`), builds the
registered model, trains it with :func:`~actscope.engine.trainer.train`, then evaluates the
final weights on the test split and on any extra test datasets. Besides the trainer's files,
the run folder gets ``model.pt`` (the final weights with everything inference needs, no
optimizer state), ``report.json`` and ``confusion.png`` (plus ``report_NAME.json`` and
``confusion_NAME.png`` per extra test set).

The reported figures are those of the final weights, never of the epoch that scored best on
the test split: choosing an epoch by its test score would report an optimistic figure.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from actscope.checkpoint import (
    DEFAULT,
    default_checkpoint,
    load_checkpoint,
    load_model_state,
    save_checkpoint,
)
from actscope.datasets.catalog import training_data
from actscope.engine.calibration import UnknownRule, calibrate
from actscope.engine.config import TrainConfig
from actscope.engine.device import resolve_device
from actscope.engine.distributed import World, process_group
from actscope.engine.evaluate import eval_loader, evaluate, predict_scores
from actscope.engine.imprint import imprint_classifiers
from actscope.engine.metrics import EvalReport
from actscope.engine.trainer import TrainResult, build_model, train
from actscope.errors import ConfigError, ModelError
from actscope.files import write_text
from actscope.models.registry import input_from_dict
from actscope.video.spec import ClipSpec

logger = logging.getLogger(__name__)


@dataclass
class RunResult:
    """A finished run: the trainer's result and the final weights' test reports."""

    train: TrainResult
    reports: dict[str, EvalReport] = field(default_factory=dict)

    @property
    def out_dir(self) -> Path:
        return self.train.out_dir

    @property
    def model_path(self) -> Path:
        return self.train.out_dir / "model.pt"

    def summary(self) -> dict[str, Any]:
        """``{"test": {"top1", "top5", "mean_class_accuracy", "num_samples"}, ...}``."""
        keys = ("top1", "top5", "mean_class_accuracy", "num_samples")
        return {
            name: {k: v for k, v in report.to_dict().items() if k in keys}
            for name, report in self.reports.items()
        }


def follow_pretrained(config: TrainConfig) -> None:
    """Fine-tuning an actscope checkpoint (``pretrained``: ``"default"`` or a ``model.pt``):
    its model and the model's keyword arguments, unless they are given, and its input spec
    for the data options not given, so the new clips are read as the checkpoint was trained
    to read them."""
    if not config.pretrained:
        return
    path = default_checkpoint() if config.pretrained == DEFAULT else Path(config.pretrained)
    try:
        checkpoint = load_checkpoint(path)
    except ModelError:  # upstream weights: nothing to follow
        return
    config.model = config.model or checkpoint["model"]["name"]
    if config.model == checkpoint["model"]["name"]:  # its architecture too, unless given
        for key, value in checkpoint["model"]["kwargs"].items():
            config.model_kwargs.setdefault(key, value)
    spec = input_from_dict(checkpoint["input"])
    fields = spec.to_dict()
    keep = ("frames", "stride", "size", "resize") if isinstance(spec, ClipSpec) else fields
    for key in keep:
        if key not in ("kind", "window_seconds"):
            config.data.options.setdefault(key, fields[key])


def calibrate_unknown(model: nn.Module, held_out: Dataset, config: TrainConfig) -> UnknownRule:
    """The unknown-action rule of ``model`` calibrated on ``held_out`` known clips."""
    loader = eval_loader(held_out, config.eval_batch_size or config.batch_size)
    logits, _, _ = predict_scores(model, loader, device=resolve_device(config.device))
    probabilities = torch.from_numpy(logits).softmax(-1).numpy()
    return calibrate(probabilities)


def fit(
    config: TrainConfig,
    *,
    resume: bool = False,
    overwrite: bool = False,
    on_ready: Callable[[], None] | None = None,
) -> RunResult:
    """Train ``config.model`` on ``config.data`` and test the final weights; ``on_ready()``
    is called once the data and the model are built, before training starts.

    Under torchrun every rank calls this alike; rank 0 alone tests the final weights and
    writes, the others return the training result without reports.
    """
    with process_group(resolve_device(config.device)) as world:
        return _fit(config, world, resume, overwrite, on_ready)


def _fit(
    config: TrainConfig,
    world: World,
    resume: bool,
    overwrite: bool,
    on_ready: Callable[[], None] | None,
) -> RunResult:
    follow_pretrained(config)
    if not config.model:
        raise ConfigError("no model given; name one with --model (see `actscope models`)")
    if not config.data.name:
        raise ConfigError("no dataset given; name one with --dataset")
    data = training_data(config.data, config.model)
    for key, value in data.model_kwargs.items():
        config.model_kwargs.setdefault(key, value)
    model = build_model(config, len(data.class_names), data.class_names)
    if config.classifier_init == "class_means" and not resume:
        imprint_classifiers(
            model,
            data.train,
            len(data.class_names),
            batch_size=config.eval_batch_size or config.batch_size,
            device=resolve_device(config.device),
        )
    if on_ready is not None and world.main:
        on_ready()
    # A test set of several views per sample (video clips x crops) is validated on one view
    # per epoch; the final report below averages all of them.
    val_set = data.test
    if getattr(val_set, "views", 1) > 1:
        val_set = val_set.single_view()
    result = train(
        config,
        model,
        data.train,
        val_set,
        data.class_names,
        resume=resume,
        overwrite=overwrite,
        input_spec=data.input_spec,
    )
    if not world.main:
        return RunResult(result)
    last = load_checkpoint(result.last_checkpoint)
    load_model_state(model, last["state_dict"], source=str(result.last_checkpoint))
    final = {k: v for k, v in last.items() if k != "train_state"}
    if data.calibration is not None:
        rule = calibrate_unknown(model, data.calibration, config)
        final["unknown"] = rule.to_dict()
        logger.info(
            "unknown action below confidence %.3f (names %.0f%% of %d held-out clips)",
            rule.threshold,
            100 * rule.coverage,
            rule.calibrated_on,
        )
    save_checkpoint(final, result.out_dir / "model.pt")

    tests = {"test": data.test, **data.extra_tests}
    reports: dict[str, EvalReport] = {}
    for name, dataset in tests.items():
        if dataset is None:
            continue
        report = evaluate(
            model,
            dataset,
            class_names=data.class_names,
            batch_size=config.eval_batch_size or config.batch_size,
            device=config.device,
            views=getattr(dataset, "views", 1) > 1,
        )
        suffix = "" if name == "test" else f"_{name}"
        report.save_json(result.out_dir / f"report{suffix}.json")
        title = f"{config.model} on {config.data.name if name == 'test' else name}"
        report.save_confusion_png(
            result.out_dir / f"confusion{suffix}.png",
            f"{title}: top-1 {100 * report.top1:.1f}%, {report.num_samples} samples",
        )
        reports[name] = report
        logger.info("%s: top-1 %.4f on %d samples", name, report.top1, report.num_samples)
    run = RunResult(result, reports)
    write_text(result.out_dir / "summary.json", json.dumps(run.summary(), indent=2) + "\n")
    return run
