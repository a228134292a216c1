"""The training loop: one plain loop for every model family.

The loop sees an ``nn.Module`` mapping a batch to logits ``(N, K)`` and datasets yielding
``(input, label)``. Per step: forward (under autocast when ``amp``), label-smoothed
cross-entropy, backward, optional gradient clipping, optimizer and per-step schedule. After
each epoch: evaluation, one line in ``metrics.jsonl``, ``best.pt`` when the monitored metric
improves, ``last.pt``, early stopping.

A run folder holds ``config.yaml``, ``metrics.jsonl``, ``last.pt`` (everything needed to
resume) and ``best.pt`` (weights for inference). ``last.pt`` is also written every
``checkpoint_every`` steps and when the run is interrupted (SIGINT / Ctrl-C, or SIGTERM), and
``resume=True`` continues from it exactly: same batches, same augmentation, same dropout,
same result (see ``docs/engine.md`` for what was measured).

Under torchrun (``WORLD_SIZE`` > 1) each rank trains on its share of every batch through
``DistributedDataParallel``, the ranks agree every step on whether to stop, and rank 0 alone
validates and writes (:mod:`actscope.engine.distributed`).
"""

from __future__ import annotations

import json
import logging
import math
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from rich.progress import MofNCompleteColumn, TextColumn
from torch import nn
from torch.utils.data import Dataset

from actscope.checkpoint import (
    check_compatible,
    load_checkpoint,
    load_model_state,
    make_checkpoint,
    save_checkpoint,
)
from actscope.engine.config import TrainConfig, save_config
from actscope.engine.data import EpochBatchSampler, batches_per_epoch, make_loader
from actscope.engine.device import autocast, make_scaler, resolve_device, set_determinism, to_device
from actscope.engine.distributed import check_batch, current_world, process_group
from actscope.engine.evaluate import eval_loader, predict_scores
from actscope.engine.metrics import EvalReport, compute_report
from actscope.engine.seeding import (
    capture_rng_state,
    derive_seed,
    restore_rng_state,
    seed_everything,
)
from actscope.errors import ConfigError, DatasetError
from actscope.files import write_text
from actscope.models.registry import InputSpec
from actscope.progress import progress_bar

logger = logging.getLogger(__name__)

# Config keys that may change between a run and its resumption. None of them changes the
# result on the same device, except ``device`` itself (CPU and CUDA kernels differ in the last
# bits). ``threads`` is not among them: it changes CPU results (see docs/engine.md).
RESUMABLE_CHANGES = ("out_dir", "progress", "workers", "device", "checkpoint_every")


@dataclass
class TrainResult:
    """What a finished (or early-stopped) run produced."""

    out_dir: Path
    epochs: int
    steps: int
    stopped_early: bool
    best_metric: float | None
    best_epoch: int | None
    history: list[dict[str, Any]] = field(default_factory=list)
    report: EvalReport | None = None

    @property
    def last_checkpoint(self) -> Path:
        return self.out_dir / "last.pt"

    @property
    def best_checkpoint(self) -> Path:
        return self.out_dir / "best.pt"


def build_model(
    config: TrainConfig, num_classes: int, class_names: Sequence[str] | None = None
) -> nn.Module:
    """Seed everything from ``config.seed``, then build ``config.model`` from the registry
    with ``config.model_kwargs``: the same config always gives the same initial weights.

    With ``config.pretrained`` the weights are loaded and the classifier (the model's last
    linear layer) is replaced by a fresh one for ``num_classes``, unless the weights' class
    names equal ``class_names``. With ``config.freeze_backbone`` only the classifier's
    parameters train, and every batch norm keeps its loaded statistics (it runs in eval
    mode even while the model trains).
    """
    from actscope.models import create_model

    seed_everything(config.seed)
    if not config.pretrained:
        model = create_model(config.model, num_classes=num_classes, **config.model_kwargs)
    else:
        from actscope.models.convert import replace_classifier
        from actscope.weights import load_pretrained

        loaded = load_pretrained(config.model, config.pretrained, **config.model_kwargs)
        model = loaded.model
        if class_names is None or list(loaded.classes) != [str(c) for c in class_names]:
            replace_classifier(model, num_classes)
        logger.info("loaded %s weights from %s", config.model, loaded.source)
    if config.freeze_backbone:
        from actscope.models.convert import classifier_names

        heads = tuple(f"{name}." for name in classifier_names(model))
        for name, parameter in model.named_parameters():
            parameter.requires_grad_(name.startswith(heads))
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                # Returns None, so the hook leaves the input alone; runs before every forward.
                module.register_forward_pre_hook(lambda m, args: setattr(m, "training", False))
    return model


def train(
    config: TrainConfig,
    model: nn.Module,
    train_set: Dataset,
    val_set: Dataset | None,
    class_names: Sequence[str],
    *,
    resume: bool = False,
    overwrite: bool = False,
    input_spec: InputSpec | None = None,
    normalization: Mapping[str, Any] | None = None,
    collate_fn: Callable | None = None,
) -> TrainResult:
    """Train ``model`` on ``train_set``, evaluating on ``val_set`` after each epoch.

    ``resume=True`` continues the run in ``config.out_dir`` from its ``last.pt``; without it
    a folder that already holds a run is refused unless ``overwrite=True``. ``input_spec``
    (the model's typed input spec) and ``normalization`` are stored in the checkpoints
    for inference. On SIGINT (Ctrl-C) or SIGTERM the run saves ``last.pt`` after the current
    step and raises ``KeyboardInterrupt``. Under torchrun, every rank calls this alike.
    """
    trainer = Trainer(
        config,
        model,
        train_set,
        val_set,
        class_names,
        input_spec=input_spec,
        normalization=normalization,
        collate_fn=collate_fn,
    )
    return trainer.fit(resume=resume, overwrite=overwrite)


class Trainer:
    """State of one run; :meth:`fit` is the loop. Use :func:`train` unless you need hooks."""

    def __init__(
        self,
        config: TrainConfig,
        model: nn.Module,
        train_set: Dataset,
        val_set: Dataset | None,
        class_names: Sequence[str],
        *,
        input_spec: InputSpec | None = None,
        normalization: Mapping[str, Any] | None = None,
        collate_fn: Callable | None = None,
    ) -> None:
        self.config = config.validate()
        self.out_dir = Path(config.out_dir)
        self.train_set = train_set
        self.val_set = val_set
        self.class_names = [str(c) for c in class_names]
        self.input_spec = input_spec
        self.normalization = dict(normalization or {})
        self.collate_fn = collate_fn
        self.train_size = len(train_set)  # type: ignore[arg-type]
        if self.train_size == 0:
            raise DatasetError("the training set is empty; check the dataset and protocol")

        set_determinism(config.threads, config.deterministic)
        self.world = current_world()
        self.device = self.world.device(resolve_device(config.device))
        if self.world.distributed:
            check_batch(config.batch_size, self.world.size)
        self.model = model.to(self.device)
        self.net = model  # what trains: the model, or its DistributedDataParallel wrapper
        self.steps_per_epoch = batches_per_epoch(
            self.train_size, config.batch_size, config.drop_last
        )
        self.optimizer = build_optimizer(config, model)
        self.scheduler = build_scheduler(config, self.optimizer, self.steps_per_epoch)
        self.scaler = make_scaler(self.device, config.amp)
        self.loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = nn.CrossEntropyLoss(
            label_smoothing=config.label_smoothing
        )
        if config.logit_adjustment:
            prior = class_prior(train_set, len(self.class_names))
            self.loss_fn = LogitAdjustedLoss(self.loss_fn, prior, config.logit_adjustment)
        self.sample_weights = source_balanced_weights(train_set) if config.balance_sources else None
        self.label_offsets: torch.Tensor | None = None
        if config.source_label_penalty:
            sources, offsets = source_label_offsets(
                train_set, len(self.class_names), config.source_label_penalty
            )
            self.train_set = SourceTagged(train_set, sources)
            self.label_offsets = offsets.to(self.device)

        # Progress of the run; all of it goes into last.pt.
        self.epoch = 0  # index of the epoch in progress
        self.position = 0  # batches of that epoch already done
        self.step = 0  # optimizer steps in total
        self.epoch_stats = _new_stats()
        self.history: list[dict[str, Any]] = []
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.bad_epochs = 0
        self.finished = False
        self.stopped_early = False
        self.report: EvalReport | None = None
        self._interrupted = False
        self._epoch_started = time.perf_counter()

    # --- the loop -------------------------------------------------------------------------

    def fit(self, *, resume: bool = False, overwrite: bool = False) -> TrainResult:
        """Run (or continue) training to the last epoch or an early stop."""
        with process_group(self.device):
            self.net = self.world.wrap(self.model, self.device)
            self._start(resume, overwrite)
            with _interrupt_flag(self):
                while not self.finished:
                    self._train_epoch()
                    self._end_epoch()
        return TrainResult(
            self.out_dir,
            self.epoch,
            self.step,
            self.stopped_early,
            self.best,
            self.best_epoch,
            list(self.history),
            self.report,
        )

    def _train_epoch(self) -> None:
        config = self.config
        sampler = EpochBatchSampler(
            self.train_size,
            config.batch_size,
            seed=config.seed,
            epoch=self.epoch,
            start=self.position,
            drop_last=config.drop_last,
            shard=(self.world.rank, self.world.size),
            weights=self.sample_weights,
        )
        loader = make_loader(
            self.train_set,
            sampler,
            workers=config.workers,
            seed=config.seed,
            collate_fn=self.collate_fn,
            pin_memory=self.device.type == "cuda",
        )
        self._epoch_started = time.perf_counter()
        self.model.train()
        with progress_bar(
            MofNCompleteColumn(),
            TextColumn("{task.fields[loss]}"),
            transient=False,
            enabled=config.progress and self.world.main,
        ) as bar:
            task = bar.add_task(
                f"epoch {self.epoch + 1}/{config.epochs}",
                total=self.steps_per_epoch,
                completed=self.position,
                loss="",
            )
            batches = iter(loader)
            while True:
                try:
                    batch = next(batches)
                except StopIteration:
                    break
                except Exception:
                    if self._interrupted and not self.world.distributed:  # workers killed too
                        self._save_and_stop()
                    raise
                self._train_step(*_pair(batch))
                loss = self.epoch_stats["loss_sum"] / max(self.epoch_stats["count"], 1)
                bar.update(task, advance=1, loss=f"loss {loss:.4f}")
                if self._stop_requested():
                    self._save_and_stop()
                if (
                    config.checkpoint_every
                    and self.step % config.checkpoint_every == 0
                    and self.position < self.steps_per_epoch
                ):
                    self._save_last()

    def _train_step(self, inputs: Any, targets: Any) -> None:
        inputs = to_device(inputs, self.device)
        targets = torch.as_tensor(targets).to(self.device)
        offsets = None
        if targets.ndim == 2:  # (label, source) pairs from SourceTagged
            targets, sources = targets.unbind(1)
            offsets = self.label_offsets[sources]
        with autocast(self.device, self.config.amp):
            outputs = self.net(inputs)
        loss, logits = training_loss(self.loss_fn, outputs, targets, offsets)
        value = loss.item()
        n = len(targets)
        correct = int((logits.argmax(1) == targets).sum())
        if self.world.distributed:
            # The batch's mean loss and counts over all ranks; each rank's loss is weighted by
            # its share, so that DDP's mean of the gradients is the whole batch's gradient.
            loss_sum, correct_all, count = self.world.sum([value * n, correct, n], self.device)
            loss = loss * (n * self.world.size / count)
            value, correct, n = loss_sum / count, int(correct_all), int(count)
        if not math.isfinite(value):
            raise ConfigError(
                f"the training loss became {value} at step {self.step + 1}; lower "
                "optimizer.lr, set grad_clip, or check the data for NaNs"
            )
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.config.grad_clip:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()

        self.epoch_stats["loss_sum"] += value * n
        self.epoch_stats["correct"] += correct
        self.epoch_stats["count"] += n
        self.position += 1
        self.step += 1

    def _end_epoch(self) -> None:
        config = self.config
        stats = self.epoch_stats
        line: dict[str, Any] = {
            "epoch": self.epoch + 1,
            "step": self.step,
            "lr": self.optimizer.param_groups[0]["lr"],
            "train_loss": stats["loss_sum"] / max(stats["count"], 1),
            "train_top1": stats["correct"] / max(stats["count"], 1),
        }
        if self.val_set is not None and self.world.main:  # the other ranks wait below
            self.report = self._validate()
            line.update(
                val_loss=self.report.loss,
                val_top1=self.report.top1,
                val_top5=self.report.top5,
                val_mean_class_accuracy=self.report.mean_class_accuracy,
            )
        # Wall time since the epoch (or its resumption) began; the one field a resumed run
        # does not reproduce.
        line["time_s"] = round(time.perf_counter() - self._epoch_started, 3)
        line = self.world.broadcast(line)  # rank 0's line on every rank
        self.history.append(line)

        improved = self._track_best(line)
        if improved:
            self._save_best(line)
        self.epoch += 1
        self.position = 0
        self.epoch_stats = _new_stats()
        patience = config.early_stopping.patience
        if patience and self.bad_epochs >= patience:
            self.stopped_early = True
            logger.info(
                "early stop after epoch %d: %s has not improved for %d epochs (best %.4f at "
                "epoch %s)",
                self.epoch,
                config.early_stopping.metric,
                self.bad_epochs,
                self.best,
                self.best_epoch,
            )
        self.finished = self.stopped_early or self.epoch >= config.epochs
        self._save_last()
        self._write_metrics()
        logger.info("%s", _format_line(line))
        if self._stop_requested() and not self.finished:
            self._save_and_stop()

    def _stop_requested(self) -> bool:
        """Whether to save and stop now: on every rank alike when there are several."""
        return self.world.any(self._interrupted, self.device)

    def _validate(self) -> EvalReport:
        loader = eval_loader(
            self.val_set,  # type: ignore[arg-type]
            self.config.eval_batch_size or self.config.batch_size,
            self.config.workers,
            self.collate_fn,
        )
        scores, labels, loss = predict_scores(
            self.model, loader, device=self.device, amp=self.config.amp
        )
        return compute_report(scores, labels, self.class_names, loss=loss)

    def _track_best(self, line: dict[str, Any]) -> bool:
        rule = self.config.early_stopping
        value = float(line[rule.metric])
        if self.best is None:
            better = True
        elif rule.mode == "max":
            better = value > self.best + rule.min_delta
        else:
            better = value < self.best - rule.min_delta
        if better:
            self.best, self.best_epoch, self.bad_epochs = value, line["epoch"], 0
        else:
            self.bad_epochs += 1
        return better

    # --- start and resume -----------------------------------------------------------------

    def _start(self, resume: bool, overwrite: bool) -> None:
        last = self.out_dir / "last.pt"
        self._check_metric_name()
        if resume:
            if not last.is_file():
                raise ConfigError(
                    f"nothing to resume: {last} does not exist; start the run without resume"
                )
            self._load_state(load_checkpoint(last))
            logger.info(
                "resuming %s at epoch %d, batch %d (step %d)",
                self.out_dir,
                self.epoch + 1,
                self.position,
                self.step,
            )
        else:
            if last.exists() and not overwrite:
                raise ConfigError(
                    f"{self.out_dir} already holds a run (last.pt); resume it, choose another "
                    "out_dir, or overwrite it"
                )
            if self.world.main:
                (self.out_dir / "best.pt").unlink(missing_ok=True)
            seed_everything(self.config.seed)
            if not self.world.main:  # dropout masks of one rank's shard differ from another's
                seed_everything(derive_seed(self.config.seed, self.world.rank))
        if self.world.main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            save_config(self.config, self.out_dir / "config.yaml")
            self._write_metrics()
        self.world.barrier()  # every rank has read last.pt before rank 0 writes it again

    def _check_metric_name(self) -> None:
        known = ["epoch", "step", "lr", "train_loss", "train_top1"]
        if self.val_set is not None:
            known += ["val_loss", "val_top1", "val_top5", "val_mean_class_accuracy"]
        metric = self.config.early_stopping.metric
        if metric not in known:
            raise ConfigError(
                f"early_stopping.metric {metric!r} is not measured in this run; "
                f"use one of {', '.join(known[3:])}"
            )

    def _load_state(self, checkpoint: dict[str, Any]) -> None:
        source = f"{self.out_dir / 'last.pt'}"
        _check_same_config(checkpoint.get("config", {}), self.config.to_dict())
        check_compatible(checkpoint, class_names=self.class_names, source=source)
        state = checkpoint.get("train_state")
        if state is None:
            raise ConfigError(f"{source} holds no training state; it cannot be resumed")
        if state["train_size"] != self.train_size:
            raise DatasetError(
                f"{source} was trained on {state['train_size']} samples, this training set "
                f"has {self.train_size}; resume with the same data"
            )
        load_model_state(self.model, checkpoint["state_dict"], source=source)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.epoch, self.position, self.step = state["epoch"], state["position"], state["step"]
        self.epoch_stats = dict(state["epoch_stats"])
        self.history = list(state["history"])
        self.best, self.best_epoch = state["best"], state["best_epoch"]
        self.bad_epochs = state["bad_epochs"]
        self.finished, self.stopped_early = state["finished"], state["stopped_early"]
        self._restore_rng(state)  # last: nothing may draw from the RNGs after this

    def _restore_rng(self, state: Mapping[str, Any]) -> None:
        # Rank r > 0 of a run of several processes finds its own state in "rank_rng"; a rank
        # the saved run did not have (it had fewer processes) seeds from (seed, step, rank).
        rank = self.world.rank
        others = state.get("rank_rng", [])
        if rank == 0:
            restore_rng_state(state["rng"])
        elif rank <= len(others):
            restore_rng_state(others[rank - 1])
        else:
            seed_everything(derive_seed(self.config.seed, self.step, rank))

    # --- saving ---------------------------------------------------------------------------

    def _checkpoint(self, metrics: Mapping[str, Any], train_state: dict | None) -> dict:
        return make_checkpoint(
            self.model,
            model_name=self.config.model,
            model_kwargs=self.config.model_kwargs,
            class_names=self.class_names,
            input_spec=self.input_spec,
            normalization=self.normalization,
            config=self.config.to_dict(),
            metrics=metrics,
            train_state=train_state,
        )

    def _save_last(self) -> None:
        rng = self.world.gather(capture_rng_state())  # a collective: every rank calls it
        if not self.world.main:
            return
        train_state = {
            "epoch": self.epoch,
            "position": self.position,
            "step": self.step,
            "train_size": self.train_size,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": rng[0],
            "epoch_stats": dict(self.epoch_stats),
            "history": list(self.history),
            "best": self.best,
            "best_epoch": self.best_epoch,
            "bad_epochs": self.bad_epochs,
            "finished": self.finished,
            "stopped_early": self.stopped_early,
        }
        if self.world.distributed:
            train_state["rank_rng"] = rng[1:]
        metrics = self.history[-1] if self.history else {}
        save_checkpoint(self._checkpoint(metrics, train_state), self.out_dir / "last.pt")

    def _save_best(self, line: Mapping[str, Any]) -> None:
        if self.world.main:
            save_checkpoint(self._checkpoint(line, None), self.out_dir / "best.pt")

    def _write_metrics(self) -> None:
        # Rewritten whole from the history, so that it always matches last.pt.
        if not self.world.main:
            return
        text = "".join(json.dumps(line) + "\n" for line in self.history)
        write_text(self.out_dir / "metrics.jsonl", text)

    def _save_and_stop(self) -> None:
        self._save_last()
        logger.warning(
            "interrupted at epoch %d, batch %d (step %d); saved %s; resume to continue",
            self.epoch + 1,
            self.position,
            self.step,
            self.out_dir / "last.pt",
        )
        raise KeyboardInterrupt


# --- optimizer and schedule -----------------------------------------------------------------


def build_optimizer(config: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    """AdamW or SGD with momentum. Weight decay applies to weight matrices and kernels
    (``ndim >= 2``), not to biases and normalisation parameters; with ``backbone_lr_scale``
    below 1, everything but the classifiers learns at that fraction of the rate."""
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if not named:
        raise ConfigError("the model has no trainable parameters")
    opt = config.optimizer
    parts = [(named, 1.0)]  # (parameters, fraction of the rate)
    if config.backbone_lr_scale != 1:
        from actscope.models.convert import classifier_names

        heads = tuple(f"{name}." for name in classifier_names(model))
        parts = [
            ([(n, p) for n, p in named if n.startswith(heads)], 1.0),
            ([(n, p) for n, p in named if not n.startswith(heads)], config.backbone_lr_scale),
        ]
    groups = [
        {
            "params": [p for _, p in part if (p.ndim >= 2) == decay],
            "weight_decay": opt.weight_decay if decay else 0.0,
            "lr": opt.lr * scale,
        }
        for part, scale in parts
        for decay in (True, False)
    ]
    groups = [g for g in groups if g["params"]]
    if opt.name == "sgd":
        return torch.optim.SGD(groups, lr=opt.lr, momentum=opt.momentum, nesterov=opt.nesterov)
    return torch.optim.AdamW(groups, lr=opt.lr, betas=tuple(opt.betas))


def build_scheduler(
    config: TrainConfig, optimizer: torch.optim.Optimizer, steps_per_epoch: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Per-step schedule: linear warm-up, then cosine, step or constant (see
    :class:`~actscope.engine.config.ScheduleConfig`)."""
    schedule = config.schedule
    total = config.epochs * steps_per_epoch
    warmup = round(schedule.warmup_epochs * steps_per_epoch)
    boundaries = [m * steps_per_epoch for m in schedule.milestones]

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if schedule.name == "cosine":
            progress = min(1.0, (step - warmup) / max(1, total - warmup))
            low = schedule.min_lr_ratio
            return low + (1 - low) * 0.5 * (1 + math.cos(math.pi * progress))
        if schedule.name == "step":
            return schedule.gamma ** sum(step >= b for b in boundaries)
        return 1.0

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


# --- helpers --------------------------------------------------------------------------------


def _pair(batch: Any) -> tuple[Any, Any]:
    if not isinstance(batch, (list, tuple)) or len(batch) != 2:
        got = f"{len(batch)} items" if isinstance(batch, (list, tuple)) else type(batch).__name__
        raise DatasetError(f"the training set must yield (input, label) pairs; got {got}")
    return batch[0], batch[1]


def _new_stats() -> dict[str, float]:
    return {"loss_sum": 0.0, "correct": 0, "count": 0}


def _check_same_config(saved: Mapping[str, Any], current: Mapping[str, Any]) -> None:
    before, after = _flatten(saved), _flatten(current)
    changed = [
        key
        for key in sorted(set(before) | set(after))
        if key.split(".")[0] not in RESUMABLE_CHANGES and before.get(key) != after.get(key)
    ]
    if changed:
        shown = ", ".join(f"{k} ({before.get(k)!r} -> {after.get(k)!r})" for k in changed[:4])
        raise ConfigError(
            f"cannot resume with a different config: {shown}; restore these values or start "
            "a new run"
        )


def _flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping) and value:
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _format_line(line: Mapping[str, Any]) -> str:
    parts = []
    for key, value in line.items():
        parts.append(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}")
    return "  ".join(parts)


@contextmanager
def _interrupt_flag(trainer: Trainer) -> Iterator[None]:
    """While active, a first SIGINT or SIGTERM only asks ``trainer`` to save and stop after
    the current step; a second one interrupts at once. (Signal handlers live in the main
    thread only.)"""

    def handle(signum: int, frame: Any) -> None:
        if trainer._interrupted:
            raise KeyboardInterrupt
        trainer._interrupted = True
        logger.warning("interrupt: saving a checkpoint after this step (again to quit now)")

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {number: signal.signal(number, handle) for number in signals}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


class LogitAdjustedLoss(nn.Module):
    """``loss_fn(logits + tau * log(prior), targets)``: trained so, the model's own logits
    score classes as if every class were equally common (logit adjustment, Menon et al.,
    ICLR 2021), so a class with many training clips does not win every unclear input."""

    def __init__(
        self,
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        prior: torch.Tensor,
        tau: float,
    ) -> None:
        super().__init__()
        self.loss_fn = loss_fn
        self.register_buffer("offset", tau * prior.clamp_min(1e-12).log())

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return self.loss_fn(logits + self.offset.to(logits), targets)


def class_prior(dataset: Dataset, num_classes: int) -> torch.Tensor:
    """The share of each class among ``dataset``'s samples ``(K,)``, from its ``labels`` (or
    its items' labels) without loading any sample."""
    labels = getattr(dataset, "labels", None)
    if labels is None:
        labels = getattr(getattr(dataset, "items", None), "labels", None)
    if labels is None:
        raise ConfigError(
            "logit_adjustment needs the training labels, which this dataset does not list; "
            "set logit_adjustment: 0"
        )
    counts = torch.bincount(torch.as_tensor(list(labels), dtype=torch.long), minlength=num_classes)
    return counts.double() / counts.sum()


def _source_records(dataset: Dataset, option: str) -> list:
    """The item records of a pooled dataset whose items name their source."""
    records = getattr(getattr(dataset, "items", None), "records", None)
    if not records or not any(r.source for r in records):
        value = "false" if option == "balance_sources" else "0"
        raise ConfigError(
            f"{option} needs a pooled dataset whose items name their source (such as "
            f"everyday); set {option}: {value}"
        )
    return records


def source_balanced_weights(dataset: Dataset) -> torch.Tensor:
    """Sampling weights ``(N,)`` under which, within each class, every source dataset of a
    pooled dataset is drawn equally often and each class keeps its share: an item of class
    ``c`` from source ``s`` weighs ``n_c / (S_c * n_cs)``, with ``S_c`` sources in class ``c``.
    Without it a class pooled from several sets looks mostly like its largest one."""
    records = _source_records(dataset, "balance_sources")
    cells = Counter((r.label, r.source) for r in records)
    classes = Counter(r.label for r in records)
    sources = Counter(label for label, _ in cells)
    weights = [classes[r.label] / (sources[r.label] * cells[r.label, r.source]) for r in records]
    return torch.tensor(weights, dtype=torch.double)


def source_label_offsets(
    dataset: Dataset, num_classes: int, penalty: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each item's source index ``(N,)`` and each source's logit offsets ``(S, K)``: 0 for
    the classes that source labels, ``-penalty`` for the rest (``source_label_penalty``)."""
    records = _source_records(dataset, "source_label_penalty")
    index = {name: i for i, name in enumerate(sorted({r.source for r in records}))}
    sources = torch.tensor([index[r.source] for r in records])
    offsets = torch.full((len(index), num_classes), -float(penalty))
    for record, source in zip(records, sources.tolist(), strict=True):
        offsets[source, record.label] = 0.0
    return sources, offsets


class SourceTagged(Dataset):
    """``dataset``'s ``(input, label)`` items as ``(input, tensor([label, source]))``."""

    def __init__(self, dataset: Dataset, sources: torch.Tensor) -> None:
        self.dataset, self.sources = dataset, sources

    def __len__(self) -> int:
        return len(self.sources)

    def __getitem__(self, index: int) -> tuple[Any, torch.Tensor]:
        inputs, label = self.dataset[index]
        return inputs, torch.tensor([int(label), int(self.sources[index])])


def training_loss(
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    outputs: torch.Tensor | Mapping[str, torch.Tensor],
    targets: torch.Tensor,
    offsets: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The training loss of a model's ``outputs`` and the scores its training accuracy counts.

    ``outputs`` are logits ``(N, K)``, or a dict of them from branches trained apart (a
    ``MultiStream`` with ``fusion="ensemble"`` in training mode): the loss is then the mean of
    the branches' losses, so no branch's gradient depends on another's, and accuracy counts
    their mean softmax. ``offsets`` ``(N, K)`` are added to the logits in the loss only.
    """

    def loss(logits: torch.Tensor) -> torch.Tensor:
        return loss_fn(logits if offsets is None else logits + offsets, targets)

    if isinstance(outputs, Mapping):
        branches = [o.float() for o in outputs.values()]
        return (
            sum(loss(o) for o in branches) / len(branches),
            torch.stack([o.softmax(-1) for o in branches]).mean(0),
        )
    return loss(outputs.float()), outputs
