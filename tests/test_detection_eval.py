"""Detection mAP against cases worked by hand, the segment file formats, and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from actscope.inference.evaluation import (
    ACTIVITYNET_TIOUS,
    THUMOS_TIOUS,
    align_videos,
    average_precision,
    detection_map,
    evaluate_detection,
)
from actscope.inference.segments import (
    Segment,
    SegmentFileError,
    nms,
    read_segments,
    segments_csv,
    segments_srt,
    srt_time,
    temporal_iou,
)
from test_detect import run_main


def S(start, end, label="a", score=1.0):  # noqa: N802 - a short Segment for worked cases
    return Segment(start, end, label, score)


def test_thresholds_are_the_two_benchmarks():
    assert THUMOS_TIOUS == (0.3, 0.4, 0.5, 0.6, 0.7)
    assert len(ACTIVITYNET_TIOUS) == 10
    assert ACTIVITYNET_TIOUS[0] == 0.5 and ACTIVITYNET_TIOUS[-1] == 0.95


def test_temporal_iou_by_hand():
    others = np.array([[0, 10], [5, 15], [10, 20], [2, 4]])
    # [0, 10] with each: 10/10, 5/15, 0/20, 2/10
    np.testing.assert_allclose(temporal_iou((0, 10), others), [1, 1 / 3, 0, 0.2])


def test_average_precision_by_hand():
    # ranks: hit, miss, hit, miss; 3 ground-truth segments
    # precision 1, 1/2, 2/3, 1/2 at recall 1/3, 1/3, 2/3, 2/3; envelope 1, 2/3, 2/3, 1/2
    # AP = 1/3 * 1 + 1/3 * 2/3 = 5/9 (the third segment is never found)
    assert average_precision(np.array([1, 0, 1, 0], bool), 3) == pytest.approx(5 / 9)
    assert average_precision(np.array([], bool), 2) == 0.0
    # a miss ranked first: precision 0, 1/2 at recall 0, 1 -> envelope 1/2 -> AP 1/2
    assert average_precision(np.array([0, 1], bool), 1) == pytest.approx(0.5)


def test_perfect_detections_score_one():
    truth = {"v": [S(0, 10, "a"), S(20, 30, "b")]}
    report = detection_map(truth, truth)
    assert report.mean_ap == [1.0] * 5 and report.average_map == 1.0


def test_no_predictions_score_zero():
    truth = {"v": [S(0, 10, "a"), S(20, 30, "b")]}
    report = detection_map({}, truth)
    assert report.ap == {"a": [0.0] * 5, "b": [0.0] * 5}
    assert report.average_map == 0.0


def test_a_duplicate_detection_is_a_false_positive():
    truth = {"v": [S(0, 10), S(20, 30)]}
    predictions = {"v": [S(0, 10, score=0.9), S(1, 10, score=0.8), S(20, 30, score=0.7)]}
    # hit, duplicate (miss), hit: precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1
    # envelope 1, 2/3, 2/3 -> AP = 1/2 * 1 + 1/2 * 2/3 = 5/6
    report = detection_map(predictions, truth, thresholds=(0.5,))
    assert report.at(0.5) == pytest.approx(5 / 6)


def test_a_class_absent_from_the_ground_truth_is_left_out_of_the_mean():
    truth = {"v": [S(0, 10, "a")]}
    predictions = {"v": [S(0, 10, "a", 0.5), S(0, 10, "ghost", 0.9), S(40, 50, "ghost", 0.8)]}
    report = detection_map(predictions, truth)
    assert set(report.ap) == {"a"} and report.absent == ["ghost"]
    assert report.mean_ap == [1.0] * 5  # the ghost detections cost class "a" nothing


def test_a_class_without_detections_pulls_the_mean_down():
    truth = {"v": [S(0, 10, "a"), S(20, 30, "b")]}
    report = detection_map({"v": [S(0, 10, "a")]}, truth)
    assert report.ap["a"] == [1.0] * 5 and report.ap["b"] == [0.0] * 5
    assert report.average_map == 0.5


def test_the_threshold_decides_at_the_boundary():
    truth = {"v": [S(0, 10)]}
    predictions = {"v": [S(0, 5)]}  # IoU exactly 0.5
    report = detection_map(predictions, truth, thresholds=(0.3, 0.5, 0.6))
    assert report.ap["a"] == [1.0, 1.0, 0.0]


def test_matching_stays_within_a_video_and_counts_unknown_videos_as_false_positives():
    truth = {"v1": [S(0, 10)], "v2": [S(0, 10)]}
    predictions = {"v1": [S(0, 10, score=0.5)], "elsewhere": [S(0, 10, score=0.9)]}
    report = detection_map(predictions, truth, thresholds=(0.5,))
    # miss (unknown video), hit: precision 0, 1/2 at recall 0, 1/2 -> AP = 1/2 * 1/2
    assert report.at(0.5) == pytest.approx(0.25)
    assert report.unmatched_videos == ["elsewhere"]


def test_the_best_overlapping_ground_truth_is_matched_first():
    truth = {"v": [S(0, 10), S(8, 20)]}
    # overlaps the second one more (IoU 10/12 vs 2/20): takes it, leaving the first free
    predictions = {"v": [S(8, 18, score=0.9), S(0, 9, score=0.8)]}
    report = detection_map(predictions, truth, thresholds=(0.5,))
    assert report.at(0.5) == 1.0


def test_evaluate_detection_gives_both_protocols():
    truth = {"v": [S(0, 10)]}
    predictions = {"v": [S(0, 8)]}  # IoU 0.8
    reports = evaluate_detection(predictions, truth)
    assert reports["thumos"].mean_ap == [1.0] * 5
    # found at 0.5 ... 0.8 (7 of the 10 thresholds), missed at 0.85, 0.9, 0.95
    assert reports["activitynet"].average_map == pytest.approx(0.7)


def test_nms_keeps_the_best_of_overlapping_segments():
    segments = [S(0, 10, "a", 0.9), S(1, 10, "a", 0.8), S(1, 10, "b", 0.7), S(20, 30, "a", 0.1)]
    assert nms(segments, 0.5) == [S(0, 10, "a", 0.9), S(20, 30, "a", 0.1)]
    per_label = nms(segments, 0.5, per_label=True)
    assert per_label == [S(0, 10, "a", 0.9), S(1, 10, "b", 0.7), S(20, 30, "a", 0.1)]


def test_srt_and_csv_text():
    segments = [S(3723.5, 3725.25, "wave", 0.875), S(0.0, 1.5, "clap, fast", 0.5)]
    assert srt_time(3723.5) == "01:02:03,500"
    assert segments_srt(segments) == (
        "1\n00:00:00,000 --> 00:00:01,500\nclap, fast (0.50)\n\n"
        "2\n01:02:03,500 --> 01:02:05,250\nwave (0.88)\n"
    )
    text = segments_csv(("clip.mp4", s) for s in segments)
    assert text.splitlines() == [
        "video,start,end,label,score",
        "clip.mp4,3723.500,3725.250,wave,0.8750",
        'clip.mp4,0.000,1.500,"clap, fast",0.5000',
    ]


def test_segment_files_read_back(tmp_path):
    single = tmp_path / "one.json"
    single.write_text(
        json.dumps({"video": "v", "segments": [{"start": 1, "end": 2, "label": "a"}]})
    )
    assert read_segments(single) == {"v": [S(1.0, 2.0, "a", 1.0)]}
    many = tmp_path / "many.json"
    many.write_text(json.dumps([{"video": "x", "segments": []}, {"video": "y", "segments": []}]))
    assert read_segments(many) == {"x": [], "y": []}
    table = tmp_path / "seg.csv"
    table.write_text(segments_csv([("v", S(1, 2, "a", 0.25)), ("w", S(3, 4, "b", 0.5))]))
    assert read_segments(table) == {"v": [S(1, 2, "a", 0.25)], "w": [S(3, 4, "b", 0.5)]}


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{not json", "not valid JSON"),
        ('{"video": "v"}', "no 'segments' list"),
        ('{"segments": [{"start": 1, "label": "a"}]}', "lacks 'end'"),
        ('{"segments": [{"start": 5, "end": 1, "label": "a"}]}', "before start"),
        ('{"segments": [{"start": "x", "end": 1, "label": "a"}]}', "not a number"),
    ],
)
def test_bad_segment_files_are_one_line_errors(tmp_path, content, words):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(SegmentFileError, match=words) as caught:
        read_segments(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_videos_are_aligned_by_file_name():
    truth = {"clip.mp4": [], "other.mp4": []}
    predictions = {"runs/clip.mp4": [S(0, 1)], "other.mp4": [S(2, 3)]}
    assert align_videos(predictions, truth) == {"clip.mp4": [S(0, 1)], "other.mp4": [S(2, 3)]}
    assert align_videos({"a/x.mp4": [S(0, 1)]}, {"y.mp4": []}) == {"y.mp4": [S(0, 1)]}


def test_cli_eval_detection(tmp_path, capsys):
    truth = tmp_path / "gt.json"
    truth.write_text(
        json.dumps({"video": "clip.mp4", "segments": [{"start": 0, "end": 10, "label": "a"}]})
    )
    found = tmp_path / "pred.csv"
    found.write_text(segments_csv([("out/clip.mp4", S(0, 8, "a", 0.9))]))
    code, stdout, stderr = run_main(capsys, "eval-detection", str(found), str(truth), "--json")
    assert code == 0, stderr
    reports = json.loads(stdout)
    assert reports["thumos"]["mAP"] == [1.0] * 5
    assert reports["activitynet"]["average_mAP"] == pytest.approx(0.7)
    code, stdout, _ = run_main(capsys, "eval-detection", str(found), str(truth), "--per-class")
    assert code == 0 and "mAP@0.5" in stdout and "1.000" in stdout
    code, _, stderr = run_main(capsys, "eval-detection", str(tmp_path / "missing.json"), str(truth))
    assert code == 2 and stderr.startswith("error: ")
    assert len(stderr.strip().splitlines()) == 1


def test_evaluate_detection_reads_files(tmp_path):
    truth = tmp_path / "gt.json"
    truth.write_text(
        json.dumps({"video": "clip.mp4", "segments": [{"start": 0, "end": 10, "label": "a"}]})
    )
    found = tmp_path / "pred.csv"
    found.write_text(segments_csv([("out/clip.mp4", S(0, 8, "a", 0.9))]))
    reports = evaluate_detection(found, truth)  # paired by file name, as in the CLI
    assert reports["thumos"].mean_ap == [1.0] * 5
