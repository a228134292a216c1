"""TrainConfig: YAML/JSON files, key=value overrides, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from actscope.engine.config import (
    TrainConfig,
    apply_overrides,
    config_from_dict,
    load_config,
    save_config,
)
from actscope.errors import ConfigError

YAML = """
model: tcn
model_kwargs:
  dropout: 0.5
  channels: [64, 64]
data:
  name: utd-mhad
  protocol: cross-subject
epochs: 12
optimizer:
  name: sgd
  lr: 0.1
schedule:
  warmup_epochs: 0.5
  milestones: [8, 10]
early_stopping:
  patience: 3
  metric: val_loss
  mode: min
"""


def write(tmp_path, text, name="run.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_yaml_sets_nested_values_and_keeps_defaults(tmp_path):
    config = load_config(write(tmp_path, YAML))
    assert config.model == "tcn" and config.model_kwargs == {"dropout": 0.5, "channels": [64, 64]}
    assert config.data.name == "utd-mhad" and config.data.protocol == "cross-subject"
    assert config.epochs == 12 and config.batch_size == TrainConfig().batch_size
    assert config.optimizer.name == "sgd" and config.optimizer.lr == 0.1
    assert config.optimizer.momentum == TrainConfig().optimizer.momentum
    assert config.schedule.milestones == [8, 10] and config.schedule.warmup_epochs == 0.5
    assert config.early_stopping.mode == "min" and config.early_stopping.patience == 3


def test_overrides_are_typed_from_the_fields(tmp_path):
    config = load_config(
        write(tmp_path, YAML),
        [
            "epochs=20",
            "optimizer.lr=3e-4",
            "optimizer.name=adamw",
            "amp=true",
            "threads=1",
            "grad_clip=1",
            "schedule.milestones=5,15",
            "optimizer.betas=[0.8, 0.99]",
            "model_kwargs.dropout=0.1",
            "model_kwargs.stream=bone",
            "data.root=/data/utd 2",
            "data.options.frames=64",
            "out_dir=runs/42",
            "seed=7",
        ],
    )
    assert config.epochs == 20 and isinstance(config.epochs, int)
    assert config.optimizer.lr == pytest.approx(3e-4) and isinstance(config.optimizer.lr, float)
    assert config.optimizer.name == "adamw" and config.amp is True and config.threads == 1
    assert config.grad_clip == 1.0 and isinstance(config.grad_clip, float)
    assert config.schedule.milestones == [5, 15]
    assert config.optimizer.betas == (0.8, 0.99)
    assert config.model_kwargs == {"dropout": 0.1, "channels": [64, 64], "stream": "bone"}
    assert config.data.root == "/data/utd 2" and config.data.options == {"frames": 64}
    assert config.out_dir == "runs/42" and config.seed == 7
    assert apply_overrides(config, ["threads=null"]).threads is None


def one_line_config_error(*args, **kwargs) -> str:
    function, *rest = args
    with pytest.raises(ConfigError) as info:
        function(*rest, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("epoch=3", "epoch"),
        ("optimizer.learning_rate=1", "optimizer.learning_rate"),
        ("lr.x=1", "lr"),
        ("epochs.x=1", "epochs.x"),
    ],
)
def test_unknown_override_key_names_the_key(override, key):
    message = one_line_config_error(apply_overrides, TrainConfig(), [override])
    assert f"unknown config key {key!r}" in message


def test_unknown_key_in_file_names_the_dotted_key(tmp_path):
    path = write(tmp_path, "optimizer:\n  lr: 0.1\n  wd: 0.01\n")
    assert "'optimizer.wd'" in one_line_config_error(load_config, path)


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("epochs=ten", "config key 'epochs' must be an integer, got 'ten'"),
        ("epochs=2.5", "config key 'epochs' must be an integer, got 2.5"),
        ("optimizer.lr=fast", "config key 'optimizer.lr' must be a number, got 'fast'"),
        ("amp=maybe", "config key 'amp' must be true or false, got 'maybe'"),
        ("optimizer.name=adam", "config key 'optimizer.name' must be one of adamw, sgd"),
        ("schedule.milestones=a,b", "config key 'schedule.milestones[0]' must be an integer"),
        ("optimizer.betas=0.9", "config key 'optimizer.betas' must have 2 items"),
        ("epochs=0", "config key 'epochs' must be at least 1 (got 0)"),
        ("epochs", "override 'epochs' is not of the form key=value"),
        ("model_kwargs=3", "config key 'model_kwargs' must be a mapping"),
    ],
)
def test_bad_values_give_one_line_errors(override, expected):
    assert expected in one_line_config_error(apply_overrides, TrainConfig(), [override])


def test_bad_files(tmp_path):
    assert "cannot read config" in one_line_config_error(load_config, tmp_path / "none.yaml")
    bad_yaml = write(tmp_path, "epochs: [1,\n")
    assert "is not valid YAML" in one_line_config_error(load_config, bad_yaml)
    bad_json = write(tmp_path, "{epochs: 3}", name="run.json")
    assert "is not valid JSON" in one_line_config_error(load_config, bad_json)
    a_list = write(tmp_path, "- 1\n- 2\n")
    assert "must hold a mapping" in one_line_config_error(load_config, a_list)
    typed_in_file = write(tmp_path, "batch_size: '32'\n")
    assert "'batch_size' must be an integer" in one_line_config_error(load_config, typed_in_file)


def test_json_and_empty_files(tmp_path):
    config = load_config(write(tmp_path, json.dumps({"epochs": 4, "amp": True}), "run.json"))
    assert config.epochs == 4 and config.amp is True
    assert load_config(write(tmp_path, "")) == TrainConfig()


def test_saved_config_loads_back_equal(tmp_path):
    config = load_config(write(tmp_path, YAML), ["optimizer.betas=0.8,0.9", "threads=2"])
    save_config(config, tmp_path / "out" / "config.yaml")
    text = (tmp_path / "out" / "config.yaml").read_text()
    assert yaml.safe_load(text)["optimizer"]["betas"] == [0.8, 0.9]  # plain YAML, no tuples
    assert load_config(tmp_path / "out" / "config.yaml") == config
    assert config_from_dict(config.to_dict()) == config


SHIPPED_CONFIGS = sorted((Path(__file__).parents[1] / "configs").rglob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED_CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_load_and_name_registered_models_and_datasets(path):
    from actscope.datasets.catalog import SKELETON_OPTIONS, get_dataset
    from actscope.engine.config import load_config
    from actscope.models.registry import get_entry

    config = load_config(path, [])
    if config.pretrained == "default":  # the model is the shipped one, the data the user's
        from actscope.checkpoint import default_checkpoint, load_checkpoint

        config.model = load_checkpoint(default_checkpoint())["model"]["name"]
        config.data.name = "skeleton-folder"
    get_entry(config.model)  # raises for an unknown model
    entry = get_dataset(config.data.name)
    if entry.training is None:  # a skeleton dataset
        assert set(config.data.options) <= set(SKELETON_OPTIONS)
