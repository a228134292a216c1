"""The everyday vocabulary: pooling datasets under one taxonomy, few-shot and calibration
splits, the unknown-action rule, and fine-tuning the shipped model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from actscope.datasets.catalog import get_dataset, held_out, per_class, split
from actscope.datasets.everyday import PROTOCOLS, TAXONOMY, load_taxonomy, pool
from actscope.datasets.skeleton_base import ItemRecord, SkeletonDataset
from actscope.engine.calibration import UnknownRule, calibrate
from actscope.errors import DatasetError
from actscope.pose import Skeleton
from realdata import SHARED_DATA, shared_path

STILL = Skeleton(np.zeros((1, 4, 15, 2)), np.ones((1, 4, 15)), "body15", 10.0, "image")


def toy(name: str, classes: list[str], labels: list[int], **options) -> SkeletonDataset:
    records = [
        ItemRecord(Path(f"/{name}/{i}.npz"), label, subject=i % 2 + 1, trial=i)
        for i, label in enumerate(labels)
    ]
    return SkeletonDataset(name, records, classes, lambda path: STILL, **options)


def test_pool_maps_labels_to_shared_names_and_keeps_each_item_source():
    a = toy("a", ["sitDown", "wave"], [0, 1, 0, 1], train_subjects=(1,))
    b = toy("b", ["sit", "run", "odd"], [0, 1, 2], train_subjects=(1,))
    taxonomy = {
        "a": {"sitDown": "sitting down", "wave": "waving"},
        "b": {"sit": "sitting down", "run": "running", "odd": None},
    }
    pooled = pool({"a": a, "b": b}, taxonomy, split)
    assert pooled.class_names == ["running", "sitting down", "waving"]
    assert [(r.source, pooled.class_names[r.label]) for r in pooled.records] == [
        ("a", "sitting down"),
        ("a", "waving"),
        ("a", "sitting down"),
        ("a", "waving"),
        ("b", "sitting down"),
        ("b", "running"),
    ]  # b's "odd" is left out
    train, _ = split(pooled, "")
    assert {r.trial for r in train.records if r.source == "a"} == {0, 2}  # subject 1 trains
    assert pooled.default_protocol == PROTOCOLS[0]
    fewer = pool({"a": a, "b": b}, taxonomy, split, leave_out_classes=["waving"])
    assert fewer.class_names == ["running", "sitting down"] and len(fewer) == 4
    with pytest.raises(DatasetError, match="does not map"):
        pool({"a": a}, {"a": {"sitDown": "sitting down"}}, split)


def test_the_shipped_taxonomy_maps_every_label_of_its_sources():
    taxonomy = load_taxonomy(TAXONOMY)
    for source, mapping in taxonomy.items():
        entry = get_dataset(source)  # every source is a catalog dataset
        folder = SHARED_DATA / entry.folder
        if not folder.exists():
            continue
        dataset = entry.load(folder)
        assert sorted(mapping) == sorted(dataset.class_names), source


def test_everyday_pools_the_real_sets_with_jhmdbs_splits():
    shared_path("jhmdb")
    entry = get_dataset("everyday")
    pooled = entry.load(SHARED_DATA)
    sources = {r.source for r in pooled.records}
    assert {"nw-ucla", "jhmdb", "penn-action", "utd-mhad", "utd-mhad-openpose"} <= sources
    for protocol in PROTOCOLS:
        train, _ = split(pooled, protocol)
        assert not {r.source for r in train.records} & {"utd-mhad-openpose"}  # test only
        jhmdb_train = sum(r.source == "jhmdb" for r in train.records)
        assert 433 <= jhmdb_train <= 434  # JHMDB's own split k
    one, two = (split(pooled, p)[0] for p in PROTOCOLS[:2])
    assert {r.path for r in one.records if r.source == "penn-action"} == {
        r.path for r in two.records if r.source == "penn-action"
    }  # other sources train the same under every protocol


def test_per_class_and_held_out_splits():
    items = toy("a", ["x", "y"], [0] * 10 + [1] * 3)
    five = per_class(items, 5, seed=0)
    assert sorted(np.bincount(five.labels)) == [3, 5]
    assert per_class(items, 5, seed=0).records == five.records  # seeded
    assert per_class(items, 5, seed=1).records != five.records
    rest, kept = held_out(items, 0.2)
    assert np.bincount(kept.labels).tolist() == [2, 1] and len(rest) + len(kept) == 13
    assert not {r.path for r in rest.records} & {r.path for r in kept.records}


def test_unknown_rule_names_the_calibrated_share_of_known_clips():
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(5) * 0.3, size=400)
    rule = calibrate(probabilities, coverage=0.9)
    named = ~rule.is_unknown(probabilities)
    assert named.mean() == pytest.approx(0.9, abs=0.01)
    assert UnknownRule.from_dict(rule.to_dict()) == rule
    flat = np.full((1, 5), 0.2)  # as unsure as a 5-way model can be
    assert rule.is_unknown(flat)[0]


def waving_folder(folder: Path, clips: int = 3) -> Path:
    """A skeleton folder of two generated actions, ``clips`` clips each."""
    from test_features import waving

    folder.mkdir(parents=True, exist_ok=True)
    rows = ["file,label,subject"]
    for i in range(clips):
        for label, walk in (("wave", 0.0), ("walk", 1.5)):
            name = f"{label}{i}.npz"
            waving(frames=40 + 5 * i, distance=3.0 + 0.2 * i, walk=walk).save(folder / name)
            rows.append(f"{name},{label},{i + 1}")
    (folder / "labels.csv").write_text("\n".join(rows) + "\n")
    return folder


def test_fine_tuning_the_shipped_model_keeps_its_backbone_and_input(tmp_path):
    import torch

    from actscope.checkpoint import default_checkpoint, load_checkpoint
    from actscope.engine.config import config_from_dict
    from actscope.engine.run import fit

    root = waving_folder(tmp_path / "clips")
    config = config_from_dict(
        {
            "pretrained": "default",
            "freeze_backbone": True,
            "data": {"name": "skeleton-folder", "root": str(root), "protocol": "subjects=1,2"},
            "epochs": 1,
            "batch_size": 2,
            "out_dir": str(tmp_path / "run"),
            "progress": False,
            "threads": 1,
        }
    )
    result = fit(config)
    shipped = load_checkpoint(default_checkpoint())
    tuned = load_checkpoint(result.model_path)
    assert tuned["model"] == shipped["model"]  # the same architecture
    assert tuned["class_names"] == ["walk", "wave"]
    same = {k: v for k, v in shipped["input"].items() if k != "window_seconds"}
    assert {k: tuned["input"][k] for k in same} == same  # read as the shipped model reads
    weights = [k for k in shipped["state_dict"] if k.endswith("weight")]
    frozen = [k for k in weights if "convs." in k]
    assert frozen and all(
        torch.equal(tuned["state_dict"][k], shipped["state_dict"][k]) for k in frozen
    )
    heads = [k for k in weights if k.endswith("head.1.weight")]
    assert heads and all(tuned["state_dict"][k].shape[0] == 2 for k in heads)  # new classifiers


def test_predict_says_unknown_below_the_calibrated_confidence(tmp_path, videos):
    import actscope
    from actscope.checkpoint import default_checkpoint, load_checkpoint, save_checkpoint

    checkpoint = load_checkpoint(default_checkpoint())
    sure = dict(checkpoint, unknown=UnknownRule(threshold=0.0).to_dict())
    unsure = dict(checkpoint, unknown=UnknownRule(threshold=1.01).to_dict())
    save_checkpoint(sure, tmp_path / "sure.pt")
    save_checkpoint(unsure, tmp_path / "unsure.pt")
    clip = shared_path("sample_clips", "S001C001P001R001A001_rgb.avi")
    [named] = actscope.predict(clip, model=tmp_path / "sure.pt")
    [unknown] = actscope.predict(clip, model=tmp_path / "unsure.pt")
    assert not named.unknown and named.label == named.top[0][0]
    assert unknown.unknown and unknown.label == "unknown action"
    assert unknown.top == named.top  # the nearest guesses are still given
    assert unknown.to_dict()["unknown"] is True


def test_a_new_classifier_replaces_every_branch_head_of_a_multi_stream_model():
    import torch

    from actscope.models.convert import classifier_names, replace_classifier
    from actscope.models.tcn import tcn_ms

    model = tcn_ms(num_classes=5, streams=("joint", "bone"), in_channels=2, graph="body15")
    names = classifier_names(model)
    assert len(names) == 2 and all(n.startswith("branches.") for n in names)
    before = {n: model.get_submodule(n).weight.clone() for n in names}
    body = {k: v.clone() for k, v in model.state_dict().items() if "convs." in k}
    replace_classifier(model, 3)
    for name in names:
        assert model.get_submodule(name).out_features == 3
        assert model.get_submodule(name).weight.shape[1] == before[name].shape[1]
    assert all(torch.equal(model.state_dict()[k], v) for k, v in body.items())


def test_the_command_fine_tunes_the_shipped_model_without_a_recipe_in_the_way(tmp_path):
    """`actscope train --pretrained default` keeps the shipped model's architecture and input
    (a recipe chosen from the data would name another model)."""
    import subprocess
    import sys

    from actscope.checkpoint import default_checkpoint, load_checkpoint

    root = waving_folder(tmp_path / "clips")
    out = tmp_path / "run"
    args = ["train", "--pretrained", "default", "--dataset", "skeleton-folder", "--root", root]
    args += ["--protocol", "subjects=1,2", "--epochs", "1", "--out", out, "batch_size=2"]
    result = subprocess.run(
        [sys.executable, "-m", "actscope", *map(str, args), "progress=false"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "recipe:" not in result.stderr
    tuned = load_checkpoint(out / "model.pt")
    assert tuned["model"] == load_checkpoint(default_checkpoint())["model"]
