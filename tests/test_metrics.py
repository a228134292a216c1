"""Classification metrics against cases worked out by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest

from actscope.engine.metrics import (
    aggregate_views,
    compute_report,
    confusion_matrix,
    mean_class_accuracy,
    per_class_report,
    topk_accuracy,
    topk_credit,
)
from actscope.errors import DatasetError


def test_topk_without_ties():
    scores = np.array(
        [
            [0.1, 0.5, 0.2, 0.0, 0.9, 0.3],  # order: 4, 1, 5, 2, 0, 3
            [0.6, 0.1, 0.2, 0.3, 0.4, 0.5],  # order: 0, 5, 4, 3, 2, 1
            [0.0, 0.1, 0.2, 0.3, 0.4, 0.5],  # order: 5, 4, 3, 2, 1, 0
        ]
    )
    labels = np.array([1, 0, 0])  # ranks 2, 1, 6
    assert topk_accuracy(scores, labels, 1) == pytest.approx(1 / 3)
    assert topk_accuracy(scores, labels, 2) == pytest.approx(2 / 3)
    assert topk_accuracy(scores, labels, 5) == pytest.approx(2 / 3)
    assert topk_accuracy(scores, labels, 6) == pytest.approx(1.0)


def test_topk_ties_share_credit():
    # The true class (2) ties with classes 0 and 1 at the top: each place is worth 1/3.
    scores = np.array([[1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]])
    assert topk_credit(scores, np.array([2]), 1) == pytest.approx([1 / 3])
    assert topk_credit(scores, np.array([2]), 2) == pytest.approx([2 / 3])
    assert topk_credit(scores, np.array([2]), 3) == pytest.approx([1.0])
    # Four classes score higher and three tie (true class 5 among them) at the 5th place:
    # one of the three tied places falls inside the top 5.
    scores = np.array([[5.0, 4.0, 3.0, 2.0, 1.0, 1.0, 1.0]])
    assert topk_credit(scores, np.array([5]), 5) == pytest.approx([1 / 3])
    assert topk_credit(scores, np.array([5]), 4) == pytest.approx([0.0])
    assert topk_credit(scores, np.array([0]), 1) == pytest.approx([1.0])


def test_constant_output_scores_chance():
    scores = np.zeros((10, 27))
    labels = np.arange(10) % 27
    assert topk_accuracy(scores, labels, 1) == pytest.approx(1 / 27)
    assert topk_accuracy(scores, labels, 5) == pytest.approx(5 / 27)


def test_topk_matches_sorting_when_scores_are_distinct():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(200, 12))
    labels = rng.integers(0, 12, 200)
    for k in (1, 3, 5):
        top = np.argsort(-scores, axis=1)[:, :k]
        expected = np.mean([labels[i] in top[i] for i in range(200)])
        assert topk_accuracy(scores, labels, k) == pytest.approx(expected)


def test_class_absent_from_predictions():
    labels = np.array([0, 0, 1, 1, 2])
    predictions = np.array([0, 1, 1, 1, 1])  # class 2 is never predicted, class 3 never occurs
    confusion = confusion_matrix(predictions, labels, 4)
    assert confusion.tolist() == [[1, 1, 0, 0], [0, 2, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]]
    rows = {r["name"]: r for r in per_class_report(confusion, ["a", "b", "c", "d"])}
    assert rows["a"]["precision"] == 1.0 and rows["a"]["recall"] == 0.5
    assert rows["a"]["f1"] == pytest.approx(2 / 3)
    assert rows["b"]["precision"] == 0.5 and rows["b"]["recall"] == 1.0
    assert rows["b"]["f1"] == pytest.approx(2 / 3)
    assert rows["c"] == {
        "name": "c",
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "support": 1,
        "predicted": 0,
    }
    assert rows["d"]["support"] == 0 and rows["d"]["predicted"] == 0
    # Mean class accuracy averages the classes that occur: (1/2 + 1 + 0) / 3.
    assert mean_class_accuracy(confusion) == pytest.approx(0.5)


def test_mean_class_accuracy_differs_from_top1_on_imbalanced_data():
    labels = np.array([0] * 8 + [1] * 2)
    scores = np.tile([2.0, 1.0], (10, 1))  # always class 0
    report = compute_report(scores, labels, ["common", "rare"])
    assert report.top1 == pytest.approx(0.8)
    assert report.mean_class_accuracy == pytest.approx(0.5)
    assert report.top5 == pytest.approx(1.0)  # k is capped at the 2 classes
    assert report.confusion.tolist() == [[8, 0], [2, 0]]


def test_aggregate_views_by_sample_id():
    # Sample "x" (label 1): one confident wrong view and two moderate right ones. Averaged
    # probabilities pick class 1: softmax([0, 2, 0, 0]) = [0.0963, 0.7112, 0.0963, 0.0963], so
    # class 0 gets (1.0 + 2 * 0.0963) / 3 = 0.3975 < class 1's (0 + 2 * 0.7112) / 3 = 0.4742;
    # averaged logits pick class 0: 10 / 3 > 4 / 3.
    scores = np.array(
        [[10.0, 0, 0, 0], [0, 2.0, 0, 0], [0, 0, 0, 3.0], [0, 2.0, 0, 0], [0, 0, 0, 1.0]]
    )
    labels = np.array([1, 1, 3, 1, 3])
    ids = ["x", "x", "y", "x", "y"]
    probs, sample_labels, order = aggregate_views(scores, labels, ids, average="prob")
    assert order == ["x", "y"] and sample_labels.tolist() == [1, 3]
    assert probs.sum(axis=1) == pytest.approx([1.0, 1.0])
    assert probs[0, :2] == pytest.approx([0.3975, 0.4742], abs=1e-3)
    assert topk_accuracy(probs, sample_labels, 1) == 1.0
    logits, _, _ = aggregate_views(scores, labels, ids, average="logit")
    assert logits[0] == pytest.approx([10 / 3, 4 / 3, 0, 0])
    assert topk_accuracy(logits, sample_labels, 1) == 0.5


def test_aggregate_views_refuses_conflicting_labels():
    with pytest.raises(DatasetError, match="'s1'"):
        aggregate_views(np.zeros((2, 3)), np.array([0, 1]), ["s1", "s1"])


def test_labels_must_fit_the_classes():
    with pytest.raises(DatasetError, match="label 3 is outside the 3 classes"):
        compute_report(np.zeros((2, 3)), np.array([0, 3]), ["a", "b", "c"])
    with pytest.raises(DatasetError, match="3 scores per sample but there are 2 class names"):
        compute_report(np.zeros((2, 3)), np.array([0, 1]), ["a", "b"])


def test_report_json_and_png_for_27_classes(tmp_path):
    names = [f"action_{i:02d}_long_name" for i in range(27)]
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(27), 4)
    scores = rng.normal(size=(108, 27))
    scores[np.arange(108), labels] += 2.0
    report = compute_report(scores, labels, names, loss=0.5)

    saved = json.loads(report.save_json(tmp_path / "report.json").read_text())
    assert saved["num_samples"] == 108 and saved["class_names"] == names
    assert saved["top1"] == pytest.approx(report.top1)
    assert np.array(saved["confusion"]).sum() == 108
    assert [r["support"] for r in saved["per_class"]] == [4] * 27

    png = report.save_confusion_png(tmp_path / "confusion.png")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width >= 27 * 30 and height >= 27 * 30  # room for 27 rows of 8-point names
    assert sorted(p.name for p in tmp_path.iterdir()) == ["confusion.png", "report.json"]
