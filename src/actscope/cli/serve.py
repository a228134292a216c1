"""``actscope serve``: the HTTP service and its web page."""

from __future__ import annotations

import click

from actscope.cli.app import app, backend_option, note


@app.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, help="Port to listen on.")
@click.option(
    "--data-dir",
    default="actscope-data",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder of the job store (SQLite) and every job's files.",
)
@click.option("--workers", default=1, show_default=True, help="Worker processes running jobs.")
@click.option("--max-upload-mb", default=500.0, show_default=True, help="Largest upload, MB.")
@click.option(
    "--token",
    envvar="ACTSCOPE_TOKEN",
    help="Require 'Authorization: Bearer TOKEN' on the API (all but /healthz and the page's files) "
    "[env ACTSCOPE_TOKEN].",
)
@click.option("--allow-url", is_flag=True, help="Let clients give a video URL to fetch.")
@click.option(
    "--cors-origin",
    multiple=True,
    help="An origin allowed cross-site (repeatable); none by default.",
)
@click.option(
    "--job-timeout", default=3600.0, show_default=True, help="Longest a job may run, seconds."
)
@click.option(
    "--sync-max-mb", default=20.0, show_default=True, help="Largest clip for POST /v1/predict, MB."
)
@click.option(
    "--sync-timeout",
    default=120.0,
    show_default=True,
    help="Longest POST /v1/predict waits for its result, seconds.",
)
@backend_option
def serve(
    host: str,
    port: int,
    data_dir: str,
    workers: int,
    max_upload_mb: float,
    token: str | None,
    allow_url: bool,
    cors_origin: tuple[str, ...],
    job_timeout: float,
    sync_max_mb: float,
    sync_timeout: float,
    backend: str,
) -> None:
    """Serve recognition jobs over HTTP, with a web page at http://HOST:PORT/.

    Jobs (predict, detect, fall, exercise, pose) are kept in DATA_DIR and survive restarts;
    the API is described at /openapi.json (see docs/serve.md).
    """
    from pathlib import Path

    import uvicorn

    from actscope.serve.app import ServeSettings, create_app

    checks = (
        (workers >= 1, "--workers", "must be at least 1"),
        (max_upload_mb > 0, "--max-upload-mb", "must be positive"),
        (job_timeout > 0, "--job-timeout", "must be positive"),
        (sync_max_mb > 0, "--sync-max-mb", "must be positive"),
        (sync_timeout > 0, "--sync-timeout", "must be positive"),
        (token is None or len(token) >= 8, "--token", "must be at least 8 characters"),
    )
    for ok, name, rule in checks:
        if not ok:
            raise click.BadParameter(rule, param_hint=name)
    if host not in ("127.0.0.1", "localhost", "::1") and not token:
        note(f"warning: listening on {host} without --token: anyone who reaches it can use it")
    settings = ServeSettings(
        data_dir=Path(data_dir),
        workers=workers,
        max_upload_mb=max_upload_mb,
        sync_max_mb=sync_max_mb,
        sync_timeout=sync_timeout,
        job_timeout=job_timeout,
        token=token,
        allow_url=allow_url,
        backend=backend,
        cors_origins=cors_origin,
    )
    note(f"actscope serve: http://{host}:{port}/ (jobs in {data_dir}, {workers} worker(s))")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
