"""actscope batch on real clips: the local engine gives predict's results, bad files are rows
with errors, reruns skip what is done, a run killed with SIGKILL resumes with every file
exactly once, and the Ray engine (predict in two stages: poses or clips on CPU actors, the
model in actors of its own) gives the local engine's rows, on a Ray it starts and on a
cluster started with `ray start`."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import torch

pq = pytest.importorskip("pyarrow.parquet", reason="actscope[batch] is not installed")

from actscope.batch import run_batch  # noqa: E402
from actscope.batch.engines import require  # noqa: E402
from actscope.errors import ConfigError, ModelError  # noqa: E402
from realdata import shared_path  # noqa: E402
from test_recognizer import video_checkpoint  # noqa: E402
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def cluster():
    """A Ray cluster as a user starts one: `ray start --head` with 2 CPUs and no GPU, in
    its own temp dir and ports, its workers importing this actscope (the source folder on
    their PYTHONPATH). Ray binds the machine's address, not loopback, when it has one, and
    asks its drivers for its token (Ray's default). Yields its address; stopped by ending
    the process group it was started in (`ray stop` would stop every Ray of this user), at
    once rather than after Ray's 30 s drain."""
    pytest.importorskip("ray", reason="actscope[batch] is not installed")
    import actscope

    # short: Ray's socket paths under it must fit in 107 bytes
    folder = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))
    source = str(Path(actscope.__file__).resolve().parents[1])
    given = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([source, *map(os.path.abspath, given)])}
    env.pop("RAY_ADDRESS", None)
    env["RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S"] = "0"
    ports = {
        "--dashboard-agent-listen-port": free_port(),
        "--dashboard-agent-grpc-port": free_port(),
        "--runtime-env-agent-port": free_port(),
        "--metrics-export-port": free_port(),
    }
    command = [
        str(Path(sys.executable).with_name("ray")), "start", "--head", "--block",
        "--num-cpus", "2", "--num-gpus", "0", "--include-dashboard=false",
        "--port", "0", "--temp-dir", str(folder),
        "--object-store-memory", str(100 * 2**20), "--disable-usage-stats",
        *(str(part) for item in ports.items() for part in item),
    ]  # fmt: skip
    log = (folder / "start.log").open("wb")
    process = subprocess.Popen(
        command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        written = folder / "ray_current_cluster"
        deadline = time.monotonic() + 120
        while not written.exists() or not written.read_text().strip():
            assert process.poll() is None, (folder / "start.log").read_text()
            assert time.monotonic() < deadline, "ray start did not start in 120 s"
            time.sleep(0.2)
        yield written.read_text().strip()
    finally:
        with contextlib.suppress(ProcessLookupError):  # a start that failed has ended
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


def test_address_auto_runs_on_a_running_cluster(cluster, clips, bad, tmp_path):
    """`actscope batch --engine ray --address auto` finds the cluster through RAY_ADDRESS
    (given an address, Ray sends the cluster's token only with RAY_AUTH_MODE=token): the
    default (skeleton) model and an RGB model give the local engine's rows, a bad file its
    error row; --device cuda on a cluster without a GPU is one line. The command runs in a
    process of its own, as a user's does (in one process, Ray 2.60 cannot run Ray Data on a
    cluster after a local Ray of its own: its actors are cancelled)."""
    env = {**os.environ, "RAY_ADDRESS": cluster, "RAY_AUTH_MODE": "token"}

    def on_cluster(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "actscope", "batch", *args, "--engine", "ray"]
        options = ["--address", "auto", "--workers", "1"]
        return subprocess.run(
            [*command, *options], env=env, capture_output=True, text=True, timeout=300
        )

    videos = [write_video(tmp_path / f"v{i}.mp4", 40, fps=20, width=64, height=48) for i in (1, 2)]
    rgb = str(video_checkpoint(tmp_path / "x3d.pt"))
    for name, inputs, model in (
        ("skeleton", [*clips[:2], bad[0]], "default"),
        ("rgb", [*map(str, videos), bad[0]], rgb),
    ):
        outputs = {engine: tmp_path / f"{name}-{engine}.parquet" for engine in ("local", "ray")}
        run_batch(inputs, outputs["local"], model=model, device="cpu")
        done = on_cluster(*inputs, "-o", str(outputs["ray"]), "-m", model, "--device", "cpu")
        assert done.returncode == 2, done.stderr  # the bad file
        assert "2 done now, 0 done before, 1 failed" in done.stderr, name
        rows = pq.read_table(outputs["ray"]).to_pylist()
        assert same(rows, pq.read_table(outputs["local"]).to_pylist()), name
    refused = on_cluster(clips[0], "-o", str(tmp_path / "cuda.parquet"), "--device", "cuda")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert (
        "error: device 'cuda' asked for but the Ray cluster has no GPU; use auto or cpu"
        in refused.stderr.splitlines()
    )


def test_the_device_is_not_a_setting_a_rerun_must_match(local, clips):
    """Where the model runs changes no result a rerun must match: a rerun on the CPU of a
    batch run with ``auto`` skips its files."""
    summary = run_batch(clips, local[0].output, device="cpu")
    assert (summary.skipped, summary.ok, summary.failed) == (3, 0, 0)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error where CUDA is missing")
def test_cuda_where_there_is_none_stops_the_batch_in_one_line(clips, tmp_path):
    with pytest.raises(ModelError, match="CUDA is not available"):
        run_batch(clips[:1], tmp_path / "cuda.parquet", device="cuda")


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
