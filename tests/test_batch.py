"""actscope batch on real clips: the local engine gives predict's results, bad files are rows
with errors, reruns skip what is done, a run killed with SIGKILL resumes with every file
exactly once, and the Ray engine gives the local engine's rows."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pq = pytest.importorskip("pyarrow.parquet", reason="actscope[batch] is not installed")

from actscope.batch import run_batch  # noqa: E402
from actscope.batch.engines import require  # noqa: E402
from actscope.errors import ConfigError  # noqa: E402
from realdata import shared_path  # noqa: E402
from videogen import write_video  # noqa: E402

pytestmark = pytest.mark.real_data
CLIPS = ("wrong/wrong53.mp4", "correct/correct84.mp4", "correct/correct82.mp4")


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> list[str]:
    """Three short push-up clips (2-3 s each), copied so that the paths are ours."""
    folder = tmp_path_factory.mktemp("clips")
    source = shared_path("pushup_form", "videos")
    found = []
    for name in CLIPS:
        target = folder / name.replace("/", "-")
        shutil.copy(source / name, target)
        found.append(str(target))
    return found


@pytest.fixture(scope="module")
def bad(tmp_path_factory, clips) -> list[str]:
    """A text file named .mp4 and a real clip cut at 40 % (truncated)."""
    folder = tmp_path_factory.mktemp("bad")
    text = folder / "notes.mp4"
    text.write_text("not a video\n" * 100)
    raw = Path(clips[0]).read_bytes()
    cut = folder / "cut.mp4"
    cut.write_bytes(raw[: len(raw) * 4 // 10])
    return [str(text), str(cut)]


@pytest.fixture(scope="module")
def local(tmp_path_factory, clips, bad):
    """The local engine's first run over the clips and the bad files: (summary, rows)."""
    output = tmp_path_factory.mktemp("local") / "results.parquet"
    summary = run_batch([*clips, *bad], output, task="predict")
    return summary, pq.read_table(output).to_pylist()


def by_path(rows: list[dict]) -> dict[str, dict]:
    return {row["path"]: row for row in rows}


def same(rows: list[dict], others: list[dict]) -> bool:
    """Equal rows but for the time taken."""

    def strip(table):
        return [{k: v for k, v in row.items() if k != "seconds"} for row in table]

    return strip(rows) == strip(others)


def test_local_gives_predicts_results_and_records_bad_files(local, clips, bad):
    from actscope.inference.prediction import predict
    from actscope.inference.recognizer import Recognizer

    summary, rows = local
    assert (summary.files, summary.ok, summary.failed, summary.skipped) == (5, 3, 2, 0)
    assert sorted(row["path"] for row in rows) == sorted([*clips, *bad])
    found = by_path(rows)
    for result in predict(clips, Recognizer.load("default")):
        row = found[result.video]
        assert row["status"] == "ok" and row["error"] is None
        assert [(t["label"], t["score"]) for t in row["top"]] == result.top
        assert (row["label"], row["score"]) == (result.label, result.top[0][1])
        assert (row["frames"], row["frames_with_person"]) == (
            result.frames,
            result.frames_with_person,
        )
        assert row["label"] == "push-up"
    for path in bad:
        row = found[path]
        assert row["status"] == "error" and row["label"] is None and row["top"] is None
        assert path in row["error"] and "\n" not in row["error"]
    assert "not a video" in found[bad[0]]["error"]


def test_rerun_skips_done_and_retries_failed(local, clips, bad, tmp_path):
    output = tmp_path / "again.parquet"
    first = run_batch(clips[:2], output)
    assert (first.ok, first.skipped) == (2, 0)
    again = run_batch([*clips[:2], *bad], output)
    assert (again.files, again.skipped, again.ok, again.failed) == (4, 2, 0, 2)
    third = run_batch([*clips[:2], *bad], output)  # the failed files are tried again
    assert (third.skipped, third.failed) == (2, 2)
    rows = pq.read_table(output).to_pylist()
    assert sorted(row["path"] for row in rows) == sorted([*clips[:2], *bad])
    assert same(rows, [row for row in local[1] if row["path"] in by_path(rows)])
    assert not output.with_name("again.parquet.parts").exists()


def test_killed_run_resumes_with_every_file_once(local, clips, tmp_path):
    """SIGKILL once the first part is on disk; the rerun does the rest, nothing twice."""
    output = tmp_path / "killed.parquet"
    parts = tmp_path / "killed.parquet.parts"
    inputs = [*clips, clips[0]]  # a file given twice is still one file
    code = (
        "import sys; from actscope.batch import run_batch; "
        "run_batch(sys.argv[1:-1], sys.argv[-1], part_seconds=0)"
    )
    process = subprocess.Popen([sys.executable, "-c", code, *inputs, str(output)])
    try:
        deadline = time.monotonic() + 120
        while not list(parts.glob("part-*.parquet")) and process.poll() is None:
            assert time.monotonic() < deadline, "no part written in 120 s"
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert not output.exists()
    summary = run_batch(inputs, output)
    assert summary.skipped >= 1 and summary.skipped + summary.ok == 3 and summary.failed == 0
    rows = pq.read_table(output).to_pylist()
    assert sorted(row["path"] for row in rows) == sorted(clips)
    assert same(rows, [row for row in local[1] if row["path"] in clips])
    assert not parts.exists()


def test_ray_engine_gives_the_local_rows(local, clips, bad, tmp_path):
    pytest.importorskip("ray", reason="actscope[batch] is not installed")
    output = tmp_path / "ray.parquet"
    summary = run_batch([*clips, bad[0]], output, engine="ray", workers=2)
    assert (summary.ok, summary.failed) == (3, 1)
    rows = pq.read_table(output).to_pylist()
    assert same(rows, [row for row in local[1] if row["path"] != bad[1]])


def test_detect_gives_a_row_per_segment_and_one_for_none(clips, tmp_path):
    from actscope.inference.detection import detect

    empty = write_video(tmp_path / "nobody.mp4", 30)
    output = tmp_path / "detect.parquet"
    summary = run_batch([clips[0], str(empty)], output, task="detect")
    assert (summary.ok, summary.failed) == (2, 0)
    rows = pq.read_table(output).to_pylist()
    expected = detect(clips[0], "default").segments
    segments = [row for row in rows if row["path"] == clips[0]]
    assert expected and len(segments) == len(expected)
    for row, segment in zip(segments, expected, strict=True):
        assert (row["start"], row["end"], row["label"], row["score"]) == (
            segment.start,
            segment.end,
            segment.label,
            segment.score,
        )
    (none,) = [row for row in rows if row["path"] == str(empty)]
    assert none["status"] == "ok" and none["start"] is None and none["label"] is None


def test_pose_rows_and_their_npz_files(clips, tmp_path):
    from actscope.pose.estimate import PoseTrack

    output = tmp_path / "poses.parquet"
    summary = run_batch(clips[:1], output, task="pose")
    assert summary.ok == 1
    (row,) = pq.read_table(output).to_pylist()
    track = PoseTrack.load(row["poses"])
    assert Path(row["poses"]).parent == tmp_path / "poses.poses"
    assert row["frames"] == track.num_frames > 0 and row["people"] == track.image.num_people
    assert row["frames_with_person"] == track.frames_with_person > 0


def test_other_settings_on_the_same_output_are_refused(local, clips):
    output = local[0].output
    with pytest.raises(ConfigError, match="other settings"):
        run_batch(clips, output, task="detect")


def test_a_missing_dependency_names_the_extra():
    with pytest.raises(ConfigError, match=r"pip install 'actscope\[batch\]'"):
        require("no_such_module_for_actscope", "the ray engine")


def test_cli_list_file_and_bad_arguments(local, clips, tmp_path):
    listing = tmp_path / "list.txt"
    listing.write_text(f"# the clips done already\n{clips[0]}\n\n{clips[1]}\n")
    output = local[0].output

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "actscope", "batch", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )

    done = cli(f"@{listing}", "-o", str(output))
    assert done.returncode == 0, done.stderr
    assert "0 done now, 2 done before, 0 failed" in done.stderr
    for args in (["@nope.txt", "-o", "x.parquet"], [clips[0], "-o", "x.parquet", "--workers", "0"]):
        result = cli(*args)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: ")


def test_import_actscope_does_not_import_ray_or_pyarrow():
    code = (
        "import sys, actscope, actscope.batch; "
        "print('ray' in sys.modules, 'pyarrow' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.split() == ["False", "False"], result.stderr
