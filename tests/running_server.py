"""A real ``actscope serve`` on a loopback port, started as its own process for a test:
the server, its worker processes and its SQLite store exactly as a user runs them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A running server: its base URL, data folder and process."""

    url: str
    data_dir: Path
    process: subprocess.Popen
    token: str | None = None

    def client(self, **kwargs) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60, **kwargs)

    def wait_for(self, job_id: str, timeout: float = 240.0, states=("done", "failed", "cancelled")):
        """The job's JSON once it reaches one of ``states``."""
        deadline = time.monotonic() + timeout
        with self.client() as client:
            while time.monotonic() < deadline:
                job = client.get(f"/v1/jobs/{job_id}").json()
                if job["state"] in states:
                    return job
                time.sleep(0.25)
        raise TimeoutError(f"job {job_id} still {job['state']} after {timeout} s")

    def kill(self) -> None:
        """``kill -9`` of the server's whole process group: the server and its workers."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


def start_server(
    data_dir: Path,
    *args: str,
    token: str | None = None,
    timeout: float = 60.0,
    env: dict[str, str] | None = None,
):
    """Start ``actscope serve`` on a free loopback port with ``data_dir`` and ``args`` (and
    ``env`` added to the environment); wait until ``/healthz`` answers."""
    port = free_port()
    command = [sys.executable, "-m", "actscope", "serve", "--port", str(port)]
    command += ["--data-dir", str(data_dir), *args]
    if token:
        command += ["--token", token]
    env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    log = open(Path(data_dir).parent / f"serve-{port}.log", "ab")  # noqa: SIM115 - kept open
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"actscope serve exited with {process.returncode}; see {log.name}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return Server(url, Path(data_dir), process, token)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    raise TimeoutError(f"actscope serve did not answer on {url} within {timeout} s")


def stop_server(server: Server) -> None:
    """SIGTERM, then SIGKILL if it has not stopped in 15 s."""
    if server.process.poll() is not None:
        return
    os.killpg(server.process.pid, signal.SIGTERM)
    try:
        server.process.wait(15)
    except subprocess.TimeoutExpired:
        server.kill()


@contextmanager
def running_server(data_dir: Path, *args: str, token: str | None = None, env=None):
    server = start_server(data_dir, *args, token=token, env=env)
    try:
        yield server
    finally:
        stop_server(server)
