"""The HTTP API and web page of ``actscope serve`` (FastAPI).

Requests only queue and read jobs; the work runs in the worker pool
(:mod:`actscope.serve.workers`), so the server stays responsive whatever a video does.
Errors are ``application/problem+json`` (RFC 9457) with a ``detail`` a person can act on.
With a token, every endpoint but ``/healthz`` and the page's own static files (which hold no
data; the page asks for the token) needs ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from actscope.errors import ActscopeError
from actscope.serve.store import Job, JobStore, new_id
from actscope.serve.tasks import TASKS, check_options
from actscope.serve.uploads import (
    INPUT_NAME,
    UploadError,
    check_video,
    display_name,
    fetch_url,
    remove_tree,
    save_stream,
    too_large,
)
from actscope.serve.workers import Layout, WorkerPool

logger = logging.getLogger(__name__)

PROBLEM = "application/problem+json"
UPLOAD_PATHS = ("/v1/jobs", "/v1/predict")


@dataclass(frozen=True)
class ServeSettings:
    """How the server runs. Sizes in MB, times in seconds."""

    data_dir: Path = Path("actscope-data")
    workers: int = 1
    max_upload_mb: float = 500.0
    sync_max_mb: float = 20.0
    sync_timeout: float = 120.0
    job_timeout: float = 3600.0
    token: str | None = None
    allow_url: bool = False
    backend: str = "torch"
    cors_origins: tuple[str, ...] = field(default_factory=tuple)

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 2**20)

    @property
    def sync_max_bytes(self) -> int:
        return int(min(self.sync_max_mb, self.max_upload_mb) * 2**20)


def problem(status: int, detail: str, title: str | None = None, **headers: str) -> JSONResponse:
    from http import HTTPStatus

    body = {
        "type": "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers or None)


def iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="seconds")


def job_json(job: Job) -> dict[str, Any]:
    """The public JSON of a job (see docs/serve.md)."""
    base = f"/v1/jobs/{job.id}"
    now = time.time()
    queued = (job.started or job.finished or now) - job.created
    run = None if job.started is None else (job.finished or now) - job.started
    files = {name: f"{base}/files/{name}" for name in job.files} if job.state == "done" else {}
    return {
        "id": job.id,
        "task": job.task,
        "state": job.state,
        "filename": job.filename,
        "options": job.options,
        "created": iso(job.created),
        "started": iso(job.started),
        "finished": iso(job.finished),
        "progress": {"done": job.done, "total": job.total, "unit": job.unit},
        "timings": {
            "queued_s": round(max(queued, 0.0), 3),
            "run_s": None if run is None else round(run, 3),
        },
        "error": job.error,
        "result": job.result,
        "files": files,
        "links": {"self": base, "events": f"{base}/events", "files": f"{base}/files"},
    }


class BodyLimit:
    """ASGI middleware: uploads over the limit are refused with 413 as soon as they are
    known to be (by Content-Length, or by counting the body as it streams), before they
    fill the disk. The limit of ``/v1/predict`` is the smaller synchronous one."""

    def __init__(self, app, settings: ServeSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] not in UPLOAD_PATHS:
            return await self.app(scope, receive, send)
        allowed = self.settings.max_upload_bytes
        if scope["path"] == "/v1/predict":
            allowed = self.settings.sync_max_bytes
        limit = allowed + 64 * 1024  # the multipart envelope around the file
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            return await problem(413, too_large(allowed))(scope, receive, send)
        seen, refused = 0, False

        async def counted():
            # past the limit: answer 413 now, and tell the app the client has gone
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                refused = True
                await problem(413, too_large(allowed))(scope, receive, send)
                return {"type": "http.disconnect"}
            return message

        async def send_unless_refused(message) -> None:
            if not refused:
                await send(message)

        return await self.app(scope, counted, send_unless_refused)


def create_app(settings: ServeSettings, *, start_workers: bool = True) -> FastAPI:
    """The application over ``settings.data_dir``; its worker pool starts with it."""
    layout = Layout(Path(settings.data_dir))
    layout.data_dir.mkdir(parents=True, exist_ok=True)
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        state["store"] = JobStore(layout.database)
        if start_workers:
            state["pool"] = WorkerPool(
                layout.data_dir, settings.workers, settings.job_timeout, settings.backend
            )
            state["pool"].start()
        yield
        if "pool" in state:
            state["pool"].close()
        state["store"].close()

    app = FastAPI(
        title="actscope",
        version="1",
        summary="Human action recognition in video: recognition jobs over HTTP.",
        lifespan=lifespan,
        docs_url=None,  # Swagger UI loads its assets from a CDN; the schema is served below
        redoc_url=None,
        openapi_url=None,
    )
    app.add_middleware(BodyLimit, settings=settings)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )

    def store() -> JobStore:
        return state["store"]

    def authorised(request: Request) -> None:
        if settings.token is None:
            return
        given = request.headers.get("authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(
            token.strip().encode(), settings.token.encode()
        ):
            raise HTTPException(401, "this server needs a token: Authorization: Bearer <token>")

    guarded = [Depends(authorised)]

    @app.exception_handler(HTTPException)
    async def http_problem(request: Request, error: HTTPException):
        headers = {"WWW-Authenticate": "Bearer"} if error.status_code == 401 else {}
        return problem(error.status_code, str(error.detail), **headers)

    @app.exception_handler(RequestValidationError)
    async def validation_problem(request: Request, error: RequestValidationError):
        parts = []
        for item in error.errors():
            where = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
            parts.append(f"{where}: {item.get('msg', 'invalid')}")
        return problem(422, "; ".join(parts) or "invalid request")

    @app.exception_handler(UploadError)
    async def upload_problem(request: Request, error: UploadError):
        return problem(error.status, str(error))

    @app.exception_handler(ActscopeError)
    async def user_problem(request: Request, error: ActscopeError):
        return problem(422, str(error))

    @app.exception_handler(Exception)
    async def server_problem(request: Request, error: Exception):
        if isinstance(error, ClientDisconnect):  # the client left, or BodyLimit refused it
            return problem(400, "the request body ended early")
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "the server failed on this request; see its log")

    # --- the page and health -------------------------------------------------------------

    static = resources.files("actscope.serve") / "static"

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(str(static / "index.html"), media_type="text/html")

    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.get("/healthz", tags=["service"])
    async def healthz() -> dict[str, Any]:
        """Liveness: answers without a token."""
        pool = state.get("pool")
        return {"status": "ok", "workers": len(pool.pids()) if pool else 0}

    @app.get("/openapi.json", include_in_schema=False, dependencies=guarded)
    async def openapi() -> dict[str, Any]:
        if "openapi" not in state:
            state["openapi"] = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
        return state["openapi"]

    # --- jobs ----------------------------------------------------------------------------

    async def receive_input(file: UploadFile | None, url: str | None, limit: int) -> tuple:
        """Save the upload (or fetch the URL) into a new job folder; check it is a video."""
        if (file is None) == (not url):
            raise UploadError(422, "give a video: either a file field or a url field")
        if url and not settings.allow_url:
            raise UploadError(
                422, "this server does not fetch URLs (start it with --allow-url); upload the file"
            )
        job_id = new_id()
        job_dir = layout.job_dir(job_id)
        job_dir.mkdir(parents=True)
        target = job_dir / INPUT_NAME
        try:
            if file is not None:
                await run_in_threadpool(save_stream, file.file, target, limit)
                name = display_name(file.filename)
            else:
                await run_in_threadpool(fetch_url, url, target, limit)
                name = display_name(url.split("?", 1)[0])
            await run_in_threadpool(check_video, target)
        except BaseException:
            remove_tree(job_dir)
            raise
        return job_id, name

    def parse_options(task: str, options: str) -> dict[str, Any]:
        try:
            values = json.loads(options or "{}")
        except json.JSONDecodeError as error:
            raise UploadError(422, f"options must be a JSON object: {error.msg}") from None
        if not isinstance(values, dict):
            raise UploadError(422, 'options must be a JSON object, e.g. {"top_k": 3}')
        check_options(task, values)
        return values

    @app.post("/v1/jobs", status_code=202, tags=["jobs"], dependencies=guarded)
    async def create_job(
        file: Annotated[UploadFile | None, File(description="the video")] = None,
        url: Annotated[str | None, Form(description="a video URL (with --allow-url)")] = None,
        task: Annotated[str, Form(description=f"one of {', '.join(TASKS)}")] = "detect",
        options: Annotated[str, Form(description="task options, a JSON object")] = "{}",
    ) -> dict[str, Any]:
        """Queue a job on an uploaded video (streamed to disk) or a URL; answers at once."""
        values = parse_options(task, options)
        job_id, name = await receive_input(file, url, settings.max_upload_bytes)
        job = store().add(job_id, task, values, name, INPUT_NAME)
        return job_json(job)

    @app.get("/v1/jobs", tags=["jobs"], dependencies=guarded)
    async def list_jobs(
        limit: int = Query(20, ge=1, le=200), offset: int = Query(0, ge=0, le=10**9)
    ) -> dict[str, Any]:
        """Jobs, newest first."""
        jobs, total = store().list(limit, offset)
        return {
            "items": [job_json(j) for j in jobs],
            "total": total,
            "limit": limit,
            "offset": offset,
        }

    def find(job_id: str) -> Job:
        job = store().get(job_id)
        if job is None:
            raise HTTPException(
                404, f"no job {job_id[:64]!r} on this server (deleted, or never made)"
            )
        return job

    @app.get("/v1/jobs/{job_id}", tags=["jobs"], dependencies=guarded)
    async def get_job(job_id: str) -> dict[str, Any]:
        """State, progress, timings, result and file links of a job."""
        return job_json(find(job_id))

    @app.delete("/v1/jobs/{job_id}", status_code=204, tags=["jobs"], dependencies=guarded)
    async def delete_job(job_id: str) -> Response:
        """Cancel a queued or running job (its files removed), or remove a finished one."""
        job = find(job_id)
        was = store().cancel(job.id)
        if was == "queued":
            remove_tree(layout.job_dir(job.id))
        elif was is None:
            store().delete(job.id)
            remove_tree(layout.job_dir(job.id))
        return Response(status_code=204)

    @app.get("/v1/jobs/{job_id}/events", tags=["jobs"], dependencies=guarded)
    async def job_events(job_id: str, request: Request) -> StreamingResponse:
        """Server-sent events: ``event: job`` with the job JSON at every change, until it
        ends."""
        find(job_id)

        async def events():
            last = None
            while True:
                job = store().get(job_id)
                if job is None:
                    yield "event: gone\ndata: {}\n\n"
                    return
                seen = (job.state, job.done, job.total)
                if seen != last:
                    last = seen
                    yield f"event: job\ndata: {json.dumps(job_json(job))}\n\n"
                if job.terminal or await request.is_disconnected():
                    return
                await asyncio.sleep(0.25)

        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(events(), media_type="text/event-stream", headers=headers)

    @app.get("/v1/jobs/{job_id}/files", tags=["jobs"], dependencies=guarded)
    async def job_files(job_id: str) -> dict[str, str]:
        """The job's result files and their URLs (empty until it is done)."""
        return job_json(find(job_id))["files"]

    @app.get("/v1/jobs/{job_id}/files/{name}", tags=["jobs"], dependencies=guarded)
    async def job_file(job_id: str, name: str) -> FileResponse:
        """One result file (byte ranges supported, for video seeking)."""
        job = find(job_id)
        if job.state != "done" or name not in job.files:  # only names the job wrote
            raise HTTPException(404, f"job {job.id} has no file {name[:64]!r}")
        return FileResponse(layout.out_dir(job.id) / name, filename=name)

    # --- synchronous predict, models, metrics --------------------------------------------

    @app.post("/v1/predict", tags=["predict"], dependencies=guarded)
    async def predict_now(
        file: Annotated[UploadFile, File(description="a short video")],
        options: Annotated[str, Form(description="predict options, a JSON object")] = "{}",
    ) -> dict[str, Any]:
        """Top-k of a short clip, answered in the same request (408 past the time limit)."""
        values = parse_options("predict", options)
        job_id, name = await receive_input(file, None, settings.sync_max_bytes)
        store().add(job_id, "predict", {**values, "overlay": False}, name, INPUT_NAME, priority=1)
        deadline = time.monotonic() + settings.sync_timeout
        while time.monotonic() < deadline:
            job = store().get(job_id)
            if job is not None and job.terminal:
                break
            await asyncio.sleep(0.1)
        else:
            if store().cancel(job_id) == "queued":  # a running one's worker cleans up
                remove_tree(layout.job_dir(job_id))
            raise HTTPException(
                408,
                f"the clip took longer than {settings.sync_timeout:g} s; "
                "POST it to /v1/jobs instead",
            )
        store().delete(job_id)
        remove_tree(layout.job_dir(job_id))
        if job.state != "done":
            raise HTTPException(422, job.error or f"the job ended {job.state}")
        return {"filename": name, **job.result}

    @app.get("/v1/models", tags=["service"], dependencies=guarded)
    async def models() -> dict[str, Any]:
        """The default model's actions, and the registered models a job may name."""
        if "models" not in state:
            state["models"] = await run_in_threadpool(model_list)
        return state["models"]

    @app.get("/metrics", tags=["service"], dependencies=guarded)
    async def metrics() -> Response:
        """Prometheus text: jobs by state, queue length, workers, job durations."""
        from actscope.serve.metrics import render

        pool = state.get("pool")
        body = render(store(), len(pool.pids()) if pool else 0)
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")

    return app


def model_list() -> dict[str, Any]:
    from actscope.checkpoint import default_checkpoint, load_checkpoint
    from actscope.models.registry import list_models

    default = load_checkpoint(default_checkpoint())
    return {
        "default": {
            "name": "default",
            "model": default.get("model"),
            "classes": list(default.get("class_names", [])),
        },
        "models": [
            {"name": e.name, "family": e.family, "summary": e.summary} for e in list_models()
        ],
    }
