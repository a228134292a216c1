"""Training and evaluation, written once for every model family.

The engine sees an ``nn.Module`` mapping a batch to logits ``(N, K)`` and datasets yielding
``(input, label)``; it knows nothing of skeletons or video. See ``docs/engine.md``.
"""

from actscope.checkpoint import (
    check_compatible,
    load_checkpoint,
    load_model_state,
    load_trained_model,
    save_checkpoint,
)
from actscope.engine.config import (
    DataConfig,
    EarlyStoppingConfig,
    OptimizerConfig,
    ScheduleConfig,
    TrainConfig,
    apply_overrides,
    config_from_dict,
    load_config,
    save_config,
)
from actscope.engine.evaluate import evaluate, predict_scores
from actscope.engine.metrics import EvalReport, aggregate_views, compute_report
from actscope.engine.seeding import seed_everything
from actscope.engine.trainer import Trainer, TrainResult, build_model, train

__all__ = [
    "DataConfig",
    "EarlyStoppingConfig",
    "EvalReport",
    "OptimizerConfig",
    "ScheduleConfig",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "aggregate_views",
    "apply_overrides",
    "build_model",
    "check_compatible",
    "compute_report",
    "config_from_dict",
    "evaluate",
    "load_checkpoint",
    "load_config",
    "load_model_state",
    "load_trained_model",
    "predict_scores",
    "save_checkpoint",
    "save_config",
    "seed_everything",
    "train",
]
