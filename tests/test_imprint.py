"""Classifiers started from class-mean features (actscope.engine.imprint), alone and through
a fine-tuning run of the shipped model."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import TensorDataset

from actscope.engine.imprint import SCALE, imprint_classifiers


def blobs(per_class: int, classes: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(N, 6)`` points around ``classes`` random centres, and their labels ``(N,)``."""
    generator = torch.Generator().manual_seed(seed)
    centres = 3 * torch.randn(classes, 6, generator=torch.Generator().manual_seed(0))
    labels = torch.arange(classes).repeat_interleave(per_class)
    return centres[labels] + torch.randn(len(labels), 6, generator=generator), labels


def test_each_row_points_along_its_class_mean_feature_and_names_held_out_points():
    torch.manual_seed(0)
    body = nn.Sequential(nn.Linear(6, 32), nn.ReLU())
    model = nn.Sequential(body, nn.Dropout(0.5), nn.Linear(32, 5))
    untouched = model[2].weight[4].clone()
    points, labels = blobs(per_class=5, classes=4, seed=1)  # class 4 has no sample
    imprint_classifiers(model, TensorDataset(points, labels), num_classes=5, batch_size=3)

    with torch.no_grad():
        features = body(points)
    head = model[2]
    for k in range(4):
        mean = features[labels == k].mean(0)
        cosine = nn.functional.cosine_similarity(head.weight[k], mean, dim=0)
        assert cosine > 0.9999
    length = SCALE / features.norm(dim=1).mean()
    assert torch.allclose(head.weight[:4].norm(dim=1), length.expand(4), rtol=1e-4)
    assert torch.equal(head.weight[4], untouched)
    assert torch.count_nonzero(head.bias) == 0
    assert model.training  # left in the mode it was in

    test_points, test_labels = blobs(per_class=20, classes=4, seed=2)
    model.eval()
    with torch.no_grad():
        accuracy = (model(test_points)[:, :4].argmax(1) == test_labels).float().mean()
    assert accuracy > 0.9


def test_fine_tuning_starts_from_the_class_means_of_the_new_clips(tmp_path):
    """With a learning rate too small to move anything, the run's model is what the class
    means made of the shipped backbone: zero biases (a fresh linear layer's are random), and
    it names every one of its training clips."""
    from actscope.checkpoint import load_trained_model
    from actscope.datasets.catalog import get_dataset, split
    from actscope.datasets.skeleton_torch import SkeletonTorchDataset
    from actscope.engine.config import config_from_dict
    from actscope.engine.evaluate import evaluate
    from actscope.engine.run import fit
    from actscope.models.registry import input_from_dict
    from test_everyday import waving_folder

    root = waving_folder(tmp_path / "clips", clips=4)
    config = config_from_dict(
        {
            "pretrained": "default",
            "classifier_init": "class_means",
            "data": {"name": "skeleton-folder", "root": str(root), "protocol": "subjects=1"},
            "epochs": 1,
            "batch_size": 4,
            "optimizer": {"lr": 1e-12},
            "out_dir": str(tmp_path / "run"),
            "progress": False,
            "threads": 1,
        }
    )
    model, checkpoint = load_trained_model(fit(config).model_path)
    entry = get_dataset("skeleton-folder")
    train_items, _ = split(entry.load(root), "subjects=1")
    report = evaluate(
        model,
        SkeletonTorchDataset(train_items, input_from_dict(checkpoint["input"])),
        class_names=checkpoint["class_names"],
        device="cpu",
    )
    heads = [k for k in checkpoint["state_dict"] if k.endswith("head.1.bias")]
    assert len(heads) == 4  # one classifier per stream
    assert max(checkpoint["state_dict"][k].abs().max() for k in heads) < 1e-6
    assert report.top1 == 1.0
