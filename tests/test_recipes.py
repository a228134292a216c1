"""``actscope train`` picks its recipe from the data: in-domain for 3D skeletons of one depth
sensor, view-robust for 2D or estimated poses; said in one line; options, overrides and
configs win over it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from actscope.engine.config import TrainConfig, apply_overrides
from actscope.engine.recipes import IN_DOMAIN, apply_recipe, choose_recipe
from actscope.errors import ConfigError
from actscope.pose import Skeleton
from realdata import SHARED_DATA, shared_path


def skeleton(layout: str, space: str, channels: int, frames: int = 12, seed: int = 0) -> Skeleton:
    from actscope.pose.layouts import get_layout

    rng = np.random.default_rng(seed)
    joints = get_layout(layout).num_joints
    coords = rng.normal(0, 0.3, (1, frames, joints, channels)).astype(np.float32)
    if space == "world" and channels == 3:
        coords[..., 2] += 2.5  # in front of the sensor
    return Skeleton(coords, np.ones((1, frames, joints)), layout, 30.0, space)


def test_depth_sensor_skeletons_get_the_in_domain_recipe():
    recipe = choose_recipe([skeleton("kinect_v1_20", "world", 3, seed=s) for s in range(3)])
    assert recipe.name == "in-domain"
    assert recipe.values["data.options.layout"] == "kinect_v1_20"
    assert recipe.values["data.options.normalize"] == "torso"
    assert "kinect_v1_20" in recipe.line() and "\n" not in recipe.line()
    assert choose_recipe([skeleton("openni15", "world", 3)]).name == "in-domain"
    # untrimmed recordings: one tcn (thousands of windows; four streams were no better)
    untrimmed = choose_recipe([skeleton("kinect_v1_20", "world", 3)], untrimmed=True)
    assert untrimmed.values["model"] == "tcn" and "model_kwargs.streams" not in untrimmed.values
    assert "one tcn" in untrimmed.line()


@pytest.mark.parametrize(
    "skeletons",
    [
        [skeleton("coco17", "image", 2)],  # 2D keypoints estimated from video
        [skeleton("mediapipe33", "world", 3)],  # an estimator's 3D guess, not a sensor
        [skeleton("kinect_v1_20", "image", 2)],  # a sensor's joints, projected
        [skeleton("kinect_v1_20", "world", 3), skeleton("ntu25", "world", 3)],  # mixed
    ],
)
def test_other_poses_get_the_view_robust_recipe(skeletons):
    recipe = choose_recipe(skeletons)
    assert recipe.name == "view-robust" and recipe.values == {"model": "tcn"}


def test_a_recipe_can_be_asked_for_and_is_checked():
    sensor = [skeleton("kinect_v1_20", "world", 3)]
    assert choose_recipe(sensor, "view-robust").name == "view-robust"
    assert choose_recipe(sensor, "none").values == {}
    with pytest.raises(ConfigError, match="in-domain recipe is for 3D world skeletons") as error:
        choose_recipe([skeleton("coco17", "image", 2)], "in-domain")
    assert "\n" not in str(error.value)
    with pytest.raises(ConfigError, match="unknown recipe"):
        choose_recipe(sensor, "fast")


def test_what_the_user_gives_wins_over_the_recipe():
    recipe = choose_recipe([skeleton("kinect_v1_20", "world", 3)])
    config = apply_overrides(
        TrainConfig(),
        ["epochs=5", "data.options.fps=15", "data.options.augment_options.noise=0.01"],
    )
    given = ["epochs", "data.options.fps", "data.options.augment_options.noise"]
    made = apply_recipe(config, recipe, given)
    assert made.epochs == 5 and made.data.options["fps"] == 15
    assert made.data.options["augment_options"]["noise"] == 0.01  # kept, the rest filled in
    assert made.data.options["augment_options"]["joint_dropout"] == 0.05
    assert made.data.options["layout"] == "kinect_v1_20" and made.model == IN_DOMAIN["model"]
    assert made.optimizer.lr == IN_DOMAIN["optimizer.lr"]
    assert made.model_kwargs["streams"] == IN_DOMAIN["model_kwargs.streams"]
    # a whole section given covers everything below it
    assert apply_recipe(config, recipe, ["data.options"]).data.options == config.data.options
    # another model given: the recipe's model arguments are not its
    plain = apply_recipe(apply_overrides(config, ["model=tcn"]), recipe, [*given, "model"])
    assert plain.model == "tcn" and plain.model_kwargs == {}


def write_folder(root: Path, layout: str, space: str, channels: int) -> Path:
    rows = ["file,label,subject"]
    for i in range(8):
        skeleton(layout, space, channels, frames=20, seed=i).save(root / f"{i}.npz")
        rows.append(f"{i}.npz,{'ab'[i % 2]},{1 + i // 4}")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    return root


def train(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ACTSCOPE_DATA": str(SHARED_DATA)}
    command = [sys.executable, "-m", "actscope", "train", *args, "threads=1", "progress=false"]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)


TINY = ["--epochs", "1", "batch_size=4", "device=cpu"]


def test_train_on_a_folder_of_sensor_skeletons_says_its_recipe(tmp_path):
    (tmp_path / "data").mkdir()
    root = write_folder(tmp_path / "data", "kinect_v1_20", "world", 3)
    result = train("--dataset", "skeleton-folder", "--root", str(root), "--protocol",
                   "subjects=1", "--out", str(tmp_path / "run"), *TINY)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.startswith("recipe:")]
    assert len(lines) == 1 and lines[0].startswith("recipe: in-domain")
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["model"] == "tcn_ms" and saved["epochs"] == 1  # --epochs given
    assert saved["model_kwargs"]["fusion"] == "ensemble"
    assert saved["data"]["options"]["layout"] == "kinect_v1_20"
    assert saved["data"]["options"]["dims"] == 3 and saved["optimizer"]["lr"] == 0.003
    # asking for the other recipe gives today's defaults
    other = train("--dataset", "skeleton-folder", "--root", str(root), "--protocol",
                  "subjects=1", "--out", str(tmp_path / "run2"), "--recipe", "view-robust",
                  *TINY)  # fmt: skip
    assert other.returncode == 0, other.stderr[-2000:]
    assert "recipe: view-robust" in other.stderr
    saved = yaml.safe_load((tmp_path / "run2" / "config.yaml").read_text())
    assert saved["data"]["options"] == {} and saved["optimizer"]["lr"] == 0.001


def test_estimated_2d_poses_keep_the_view_robust_defaults(tmp_path):
    (tmp_path / "data").mkdir()
    root = write_folder(tmp_path / "data", "coco17", "image", 2)
    result = train("--dataset", "skeleton-folder", "--root", str(root), "--protocol",
                   "subjects=1", "--out", str(tmp_path / "run"), *TINY)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "recipe: view-robust" in result.stderr
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["data"]["options"] == {} and saved["model"] == "tcn"


def test_a_config_file_is_its_own_recipe(tmp_path):
    (tmp_path / "data").mkdir()
    root = write_folder(tmp_path / "data", "kinect_v1_20", "world", 3)
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({"model": "tcn", "data": {"options": {"dims": 2}}}))
    result = train("--config", str(config), "--dataset", "skeleton-folder", "--root", str(root),
                   "--protocol", "subjects=1", "--out", str(tmp_path / "run"), *TINY)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "recipe:" not in result.stderr
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["data"]["options"] == {"dims": 2}


@pytest.mark.real_data
def test_utkinect_with_no_options_gets_the_in_domain_recipe(tmp_path):
    shared_path("utkinect_dev")
    result = train("--dataset", "utkinect", "--out", str(tmp_path / "run"), *TINY)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "recipe: in-domain (data: kinect_v1_20" in result.stderr
