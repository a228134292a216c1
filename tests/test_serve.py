"""``actscope serve`` against a real uvicorn on a loopback port (started by the tests), on
real clips: every endpoint, the refusals (401, 413, 415, 422), file names from clients,
a worker killed under its job, and a server killed with ``kill -9`` in the middle of one."""

from __future__ import annotations

import functools
import http.server
import io
import json
import os
import signal
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import psutil
import pytest

from actscope.pose.skeleton import load_skeletons
from actscope.video import probe
from realdata import SHARED_DATA
from running_server import running_server, start_server, stop_server

PUSHUP = SHARED_DATA / "pushup_form" / "videos" / "wrong" / "wrong13.mp4"  # 3.2 s, 640x360
LONGER = SHARED_DATA / "sample_clips" / "vtest.avi"  # 795 frames of pedestrians, 768x576

pytestmark = [
    pytest.mark.real_data,
    pytest.mark.skipif(
        not (PUSHUP.exists() and LONGER.exists()),
        reason=f"real data not available: {PUSHUP} or {LONGER} is absent (beside the repo in CI)",
    ),
]


def upload(
    client: httpx.Client, path: Path, task: str = "detect", name: str | None = None, **options
):
    with open(path, "rb") as video:
        files = {"file": (name or path.name, video, "video/mp4")}
        data = {"task": task, "options": json.dumps(options)}
        return client.post("/v1/jobs", files=files, data=data)


def problem_detail(response: httpx.Response) -> str:
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == response.status_code
    return body["detail"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("serve") / "data", "--workers", "2") as running:
        yield running


@pytest.fixture(scope="module")
def finished(server):
    """One job of every task on the push-up clip, run to the end."""
    with server.client() as client:
        ids = {
            task: upload(client, PUSHUP, task).json()["id"]
            for task in ("predict", "detect", "fall", "exercise", "pose")
        }
    return {task: server.wait_for(job_id) for task, job_id in ids.items()}


def test_every_task_runs_to_a_result_with_its_files(server, finished):
    for task, job in finished.items():
        assert job["state"] == "done", (task, job["error"])
        assert job["progress"]["done"] == job["progress"]["total"] > 0
        assert job["timings"]["run_s"] > 0
        assert {"overlay.mp4", "result.json", "poses.npz"} <= set(job["files"]), task
    assert finished["predict"]["result"]["label"] == "push-up"
    assert [s["label"] for s in finished["detect"]["result"]["segments"]] == ["push-up"]
    assert finished["exercise"]["result"]["count"] >= 1
    assert finished["exercise"]["result"]["form"]["label"] in ("correct", "wrong")
    assert finished["fall"]["result"]["alerts"] == []
    assert finished["pose"]["result"]["frames_with_person"] > 0
    assert "/work/" not in json.dumps(finished["detect"]["result"])  # no server paths


def test_workers_run_the_model_on_onnx_runtime(finished, tmp_path):
    pytest.importorskip("onnxruntime", reason="onnxruntime is in the onnx extra")
    cache = {"TORCH_HOME": str(tmp_path / "torch")}  # the exported model's cache
    with (
        running_server(tmp_path / "data", "--backend", "onnx", env=cache) as server,
        server.client() as client,
    ):
        job = server.wait_for(upload(client, PUSHUP, "predict").json()["id"])
    assert job["state"] == "done", job["error"]
    assert list((tmp_path / "torch").rglob("*.onnx"))  # it did run through an export
    eager = finished["predict"]["result"]["top"]
    assert [t["label"] for t in job["result"]["top"]] == [t["label"] for t in eager]
    for ours, theirs in zip(job["result"]["top"], eager, strict=True):
        assert ours["score"] == pytest.approx(theirs["score"], abs=1e-3)


def test_result_files_are_whole_and_served_only_by_their_job(server, finished, tmp_path):
    job = finished["detect"]
    with server.client() as client:
        csv_text = client.get(job["files"]["segments.csv"]).text
        assert csv_text.splitlines()[0] == "video,start,end,label,score"
        overlay = client.get(job["files"]["overlay.mp4"])
        assert overlay.headers["content-type"] == "video/mp4"
        (tmp_path / "overlay.mp4").write_bytes(overlay.content)
        assert probe(tmp_path / "overlay.mp4").frame_count > 50
        part = client.get(job["files"]["overlay.mp4"], headers={"Range": "bytes=0-99"})
        assert part.status_code == 206 and len(part.content) == 100
        poses = client.get(finished["pose"]["files"]["poses.npz"]).content
        (tmp_path / "poses.npz").write_bytes(poses)
        assert load_skeletons(tmp_path / "poses.npz")["image"].num_frames == 81
        assert client.get(job["files"]["timeline.png"]).content[:4] == b"\x89PNG"
        # another job's file, a name the job never wrote, a path out of the folder
        other = finished["pose"]["id"]
        for name in ("segments.csv", "input.video", "..%2F..%2Fjobs.sqlite3"):
            response = client.get(f"/v1/jobs/{other}/files/{name}")
            assert response.status_code == 404, name
            assert problem_detail(response)


def test_events_stream_progress_until_the_job_ends(server):
    with server.client() as client:
        job_id = upload(client, PUSHUP, "pose").json()["id"]
        events = []
        with client.stream("GET", f"/v1/jobs/{job_id}/events") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
    assert events[-1]["state"] == "done"
    assert len({(e["state"], e["progress"]["done"]) for e in events}) >= 2


def test_list_models_health_metrics_and_sync_predict(server, finished):
    with server.client() as client:
        first = client.get("/v1/jobs", params={"limit": 2}).json()
        second = client.get("/v1/jobs", params={"limit": 2, "offset": 2}).json()
        assert first["total"] >= 5 and len(first["items"]) == 2
        assert not {j["id"] for j in first["items"]} & {j["id"] for j in second["items"]}
        models = client.get("/v1/models").json()
        assert "push-up" in models["default"]["classes"]
        assert "tcn" in {m["name"] for m in models["models"]}
        assert client.get("/healthz").json()["workers"] == 2
        metrics = client.get("/metrics").text
        assert 'actscope_jobs{state="done"}' in metrics
        assert "actscope_queue_length" in metrics
        with open(PUSHUP, "rb") as video:
            now = client.post("/v1/predict", files={"file": ("a.mp4", video)})
        assert now.status_code == 200
        assert now.json()["top"] == finished["predict"]["result"]["top"]
        schema = client.get("/openapi.json").json()
        assert {"/v1/jobs", "/v1/jobs/{job_id}/events", "/v1/predict"} <= set(schema["paths"])


def test_delete_cancels_a_running_job_and_removes_a_finished_one(server):
    with server.client() as client:
        running = upload(client, LONGER, "pose").json()["id"]
        server.wait_for(running, states=("running",))
        assert client.delete(f"/v1/jobs/{running}").status_code == 204
        assert client.get(f"/v1/jobs/{running}").json()["state"] == "cancelled"
        time.sleep(2)  # the worker notices at its next progress report and cleans up
        assert not (server.data_dir / "jobs" / running).exists()
        finished = upload(client, PUSHUP, "pose").json()["id"]
        server.wait_for(finished)
        assert client.delete(f"/v1/jobs/{finished}").status_code == 204
        assert client.get(f"/v1/jobs/{finished}").status_code == 404
        assert not (server.data_dir / "jobs" / finished).exists()


def test_concurrent_uploads_are_all_taken(server):
    """Twelve uploads at once (each probed by FFmpeg in the server) all get their job id: no
    deadlock between decoding threads (PyAV's log callback; see serve/uploads.py)."""

    def send(index: int) -> int:
        with server.client() as client:
            response = upload(client, PUSHUP, "pose", name=f"c{index}.mp4", overlay=False)
            client.delete(f"/v1/jobs/{response.json()['id']}")  # keep the queue short
            return response.status_code

    with ThreadPoolExecutor(12) as pool:
        assert list(pool.map(send, range(12))) == [202] * 12


def test_refusals_are_problems_with_a_reason(server, tmp_path):
    noise = tmp_path / "noise.mp4"
    noise.write_bytes(np.random.default_rng(0).integers(0, 256, 50_000, np.uint8).tobytes())
    folders_before = set((server.data_dir / "jobs").iterdir())
    with server.client() as client:
        response = upload(client, noise)
        assert response.status_code == 415
        assert "not a video" in problem_detail(response)
        for task, options, words in (
            ("dance", {}, "unknown task"),
            ("predict", {"top_k": 0}, "top_k"),
            ("predict", {"colour": "red"}, "unknown option"),
            ("exercise", {"kind": "yoga"}, "yoga"),
        ):
            response = upload(client, PUSHUP, task, **options)
            assert response.status_code == 422
            assert words in problem_detail(response)
        response = client.post("/v1/jobs", data={"task": "pose"})
        assert response.status_code == 422 and "give a video" in problem_detail(response)
        response = client.post("/v1/jobs", data={"url": "http://127.0.0.1:9/x.mp4"})
        assert response.status_code == 422 and "--allow-url" in problem_detail(response)
        assert client.get("/v1/jobs/0123").status_code == 404
    # nothing of the refused uploads is left behind (cancelled jobs' folders may go meanwhile)
    assert set((server.data_dir / "jobs").iterdir()) <= folders_before


def _job_rows(data_dir: Path) -> int:
    """Jobs that keep a folder (a cancelled job keeps its row, not its files)."""
    with sqlite3.connect(data_dir / "jobs.sqlite3") as db:
        return db.execute("SELECT COUNT(*) FROM jobs WHERE state != 'cancelled'").fetchone()[0]


def test_a_client_file_name_never_names_a_file(server):
    with server.client() as client:
        job = upload(client, PUSHUP, "pose", name="../../../../tmp/evil.mp4").json()
    assert job["filename"] == "evil.mp4"
    assert not Path("/tmp/evil.mp4").exists()
    assert (server.data_dir / "jobs" / job["id"] / "input.video").is_file()
    assert server.wait_for(job["id"])["state"] == "done"


def test_token_guards_everything_but_health(tmp_path):
    with running_server(tmp_path / "data", "--workers", "1", token="s3cret-token") as server:
        bare = httpx.Client(base_url=server.url)
        assert bare.get("/healthz").status_code == 200
        for method, path in (
            ("GET", "/v1/jobs"),
            ("GET", "/v1/models"),
            ("GET", "/metrics"),
            ("GET", "/openapi.json"),
            ("POST", "/v1/jobs"),
            ("POST", "/v1/predict"),
            ("DELETE", "/v1/jobs/x"),
        ):
            response = bare.request(method, path)
            assert response.status_code == 401, path
            assert "token" in problem_detail(response)
        wrong = bare.get("/v1/jobs", headers={"Authorization": "Bearer s3cret-tokeN"})
        assert wrong.status_code == 401
        with server.client() as client:
            assert client.get("/v1/jobs").status_code == 200
            assert upload(client, PUSHUP, "pose").status_code == 202


def test_oversize_upload_is_refused_before_it_is_stored(tmp_path):
    big = tmp_path / "big.mp4"
    big.write_bytes(PUSHUP.read_bytes() * 30)  # about 2.5 MB
    with running_server(tmp_path / "data", "--max-upload-mb", "1") as server:
        with server.client() as client:
            response = upload(client, big)
            assert response.status_code == 413
            assert "1 MB" in problem_detail(response)
            # without a Content-Length the body is counted as it streams
            head = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n\r\n'
            chunks = iter([head, *[b"x" * 2**20] * 3, b"\r\n--b--\r\n"])
            response = client.post(
                "/v1/jobs",
                content=chunks,
                headers={"content-type": "multipart/form-data; boundary=b"},
            )
            assert response.status_code == 413
            with open(big, "rb") as video:
                response = client.post("/v1/predict", files={"file": ("big.mp4", video)})
            assert response.status_code == 413
            assert upload(client, PUSHUP, "pose").status_code == 202
        assert _job_rows(server.data_dir) == 1
        assert len(list((server.data_dir / "jobs").iterdir())) == 1


def _worker_of(data_dir: Path, job_id: str) -> int:
    with sqlite3.connect(data_dir / "jobs.sqlite3") as db:
        return db.execute("SELECT worker FROM jobs WHERE id = ?", (job_id,)).fetchone()[0]


def test_a_job_whose_worker_dies_fails_alone_and_the_next_runs(tmp_path):
    with (
        running_server(tmp_path / "data", "--workers", "1") as server,
        server.client() as client,
    ):
        doomed = upload(client, LONGER, "pose").json()["id"]
        server.wait_for(doomed, states=("running",))
        os.kill(_worker_of(server.data_dir, doomed), signal.SIGKILL)
        failed = server.wait_for(doomed)
        assert failed["state"] == "failed"
        assert "worker process" in failed["error"] and "signal 9" in failed["error"]
        after = upload(client, PUSHUP, "pose").json()["id"]
        assert server.wait_for(after)["state"] == "done"


def _gone_within(pid: int, seconds: float) -> bool:
    """Whether process ``pid`` ends (or is a zombie nobody has reaped yet) in time."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


def test_server_killed_mid_job_finishes_it_after_a_restart(tmp_path):
    data = tmp_path / "data"
    server = start_server(data, "--workers", "1")
    try:
        with server.client() as client:
            job_id = upload(client, LONGER, "predict", step=2).json()["id"]
            deadline = time.monotonic() + 120
            while client.get(f"/v1/jobs/{job_id}").json()["progress"]["done"] < 50:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        worker = _worker_of(data, job_id)
        os.kill(server.process.pid, signal.SIGKILL)  # kill -9 of the server alone
        server.process.wait(10)
        assert _gone_within(worker, 5), "the worker outlived the server"
        server = start_server(data, "--workers", "1")
        resumed = server.wait_for(job_id)
        with server.client() as client:
            again = upload(client, LONGER, "predict", step=2).json()["id"]
        uninterrupted = server.wait_for(again)
    finally:
        stop_server(server)
    assert resumed["state"] == uninterrupted["state"] == "done"
    assert resumed["result"]["top"] == uninterrupted["result"]["top"]
    assert resumed["result"]["frames"] == uninterrupted["result"]["frames"]
    assert not (data / "jobs" / job_id / "out.tmp").exists()


def test_store_claims_each_job_once_and_requeues_interrupted(tmp_path):
    from actscope.serve.store import JobStore, new_id

    first, second = JobStore(tmp_path / "j.sqlite3"), JobStore(tmp_path / "j.sqlite3")
    old = first.add(new_id(), "pose", {}, "a.mp4", "input.video")
    urgent = first.add(new_id(), "predict", {}, "b.mp4", "input.video", priority=1)
    assert first.claim(1).id == urgent.id  # priority first
    assert second.claim(2).id == old.id
    assert first.claim(1) is None
    assert first.progress(old.id, 5, 10, "frames") == "running"
    assert set(first.overdue(-1.0)) == {(urgent.id, 1), (old.id, 2)}
    assert first.overdue(3600.0) == []
    assert set(second.requeue_interrupted()) == {urgent.id, old.id}
    assert first.counts()["queued"] == 2
    assert first.cancel(old.id) == "queued" and first.cancel(old.id) is None
    assert first.progress(old.id, 6, 10, "frames") == "cancelled"


def test_upload_limit_streams_in_chunks(tmp_path):
    from actscope.serve.uploads import UploadError, save_stream

    target = tmp_path / "x"
    assert save_stream(io.BytesIO(b"a" * 1000), target, 1000) == 1000
    with pytest.raises(UploadError) as refused:
        save_stream(io.BytesIO(b"a" * 1001), target, 1000)
    assert refused.value.status == 413 and not target.exists()


def test_url_jobs_when_allowed_and_the_job_time_limit(tmp_path):
    folder = tmp_path / "www"
    folder.mkdir()
    (folder / "clip.mp4").write_bytes(PUSHUP.read_bytes())
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    clip_url = f"http://127.0.0.1:{web.server_address[1]}/clip.mp4"
    try:
        args = ("--allow-url", "--job-timeout", "10", "--sync-timeout", "2")
        with running_server(tmp_path / "data", *args) as server, server.client() as client:
            fetched = client.post("/v1/jobs", data={"url": clip_url, "task": "pose"}).json()
            assert fetched["filename"] == "clip.mp4"
            assert server.wait_for(fetched["id"])["state"] == "done"
            missing = client.post("/v1/jobs", data={"url": clip_url + ".gone", "task": "pose"})
            assert missing.status_code == 422 and "404" in problem_detail(missing)
            with open(LONGER, "rb") as video:
                late = client.post("/v1/predict", files={"file": ("long.avi", video)})
            assert late.status_code == 408 and "/v1/jobs" in problem_detail(late)
            slow = upload(client, LONGER, "pose").json()["id"]
            failed = server.wait_for(slow)
            assert failed["state"] == "failed" and "limit of 10 s" in failed["error"]
    finally:
        web.shutdown()
