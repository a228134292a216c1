"""``actscope live``: recognise actions in a camera, stream or replayed file as it plays."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

import click

from actscope.cli.app import USER_ERROR, app, backend_option, check_outputs, note, print_error


def _defaulted(name: str, default: object, help: str) -> Callable:
    """An option with a default that ``--help`` shows."""
    return click.option(name, default=default, show_default=True, help=help)


def source_options(function: Callable) -> Callable:
    """Options every live command shares: how to read the source and where output goes."""
    options = [
        click.option(
            "--events",
            "events_path",
            default="-",
            show_default=True,
            help="Write events as JSON lines to this file ('-': standard output).",
        ),
        click.option(
            "--record",
            type=click.Path(dir_okay=False),
            help="Record the annotated video to this mp4 (at real time; skipped frames "
            "hold the previous picture).",
        ),
        click.option("--show", is_flag=True, help="Show the annotated video in a window."),
        _defaulted(
            "--work-size", 360, "Scale frames down so their short side is at most this many pixels."
        ),
        _defaulted("--speed", 1.0, "Replay speed for files (1 = their own frame rate)."),
        click.option("--duration", type=float, help="Stop after this many seconds of wall time."),
        _defaulted("--reconnects", 3, "Times to reopen a stream or camera that stops delivering."),
        _defaulted(
            "--stats-every",
            5.0,
            "Seconds between 'stats' events (fps, latency, drops); 0 for none.",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


class _Relay:
    """Forwards the source's notices (reconnections) to the pipeline, once it exists."""

    def __init__(self) -> None:
        self.target: Callable[[dict], None] | None = None

    def __call__(self, event: dict) -> None:
        if self.target is not None:
            self.target(event)


class _Outputs:
    """Event lines, the recording and the window of one live run."""

    def __init__(self, events_path: str, record: str | None, show: bool) -> None:
        from actscope.live.render import Recorder, Window

        self.window = Window() if show else None  # fails early when there is no display
        self._handle = sys.stdout if events_path == "-" else open(events_path, "w")  # noqa: SIM115
        self.recorder = Recorder(record) if record else None
        self.pipeline = None

    def event(self, event: dict) -> None:
        self._handle.write(json.dumps(event) + "\n")
        self._handle.flush()

    def frame(self, sample, analysis) -> None:
        from actscope.live.render import annotate

        stats = self.pipeline.stats if self.pipeline is not None else None
        status = ""
        if stats is not None and stats.latencies:
            status = f"{sample.time:6.1f} s  latency {1000 * stats.latencies[-1]:4.0f} ms"
        image = annotate(sample, analysis, status)
        if self.recorder is not None:
            self.recorder.write(image, sample.time)
        if self.window is not None and not self.window.show(image):
            self.pipeline.stop.set()

    @property
    def drawing(self) -> bool:
        return self.recorder is not None or self.window is not None

    def close(self, failed: bool) -> None:
        try:
            if self.recorder is not None:
                if failed:
                    self.recorder.abort()
                else:
                    self.recorder.close()
                    note(f"{self.recorder.path}: written")
        finally:
            if self.window is not None:
                self.window.close()
            if self._handle is not sys.stdout:
                self._handle.close()


def run_live(
    source_spec: str,
    analyzer,
    *,
    events_path: str,
    record: str | None,
    show: bool,
    work_size: int,
    speed: float,
    duration: float | None,
    reconnects: int,
    stats_every: float,
) -> None:
    """Open the source, run the pipeline with ``analyzer``, report, exit 2 if it failed."""
    from actscope.live import LivePipeline, open_source
    from actscope.pose.mediapipe_backend import MediaPipePose

    if speed <= 0:
        raise click.BadParameter("must be positive", param_hint="--speed")
    check_outputs(None if events_path == "-" else events_path, record)
    relay = _Relay()
    source = open_source(
        source_spec,
        short_side=work_size or None,
        speed=speed,
        reconnects=reconnects,
        notify=relay,
    )
    estimator = MediaPipePose()
    outputs = _Outputs(events_path, record, show)
    failed = True
    try:
        pipeline = LivePipeline(
            source,
            estimator,
            analyzer,
            on_event=outputs.event,
            on_frame=outputs.frame if outputs.drawing else None,
            max_seconds=duration,
            stats_every=stats_every or None,
        )
        relay.target = pipeline.notify
        outputs.pipeline = pipeline
        report = pipeline.run()
        failed = False
    finally:
        outputs.close(failed)
        estimator.close()
    _print_summary(report.summary)
    if report.error:
        print_error(report.error)
        sys.exit(USER_ERROR)


def _print_summary(summary: dict) -> None:
    latency = (
        f"latency p50 {summary['latency_p50_ms']:.0f} ms, p95 {summary['latency_p95_ms']:.0f} ms"
        if summary["latency_p50_ms"] is not None
        else "no frame reached the output"
    )
    note(
        f"live: {summary['frames_out']} of {summary['frames_in']} frames out in "
        f"{summary['seconds']:.1f} s ({summary['fps']:.1f} fps), {latency}, "
        f"{100 * summary['drop_rate']:.1f}% dropped"
    )


@app.command()
@click.argument("source")
@click.option(
    "-m",
    "--model",
    default="default",
    show_default=True,
    help="Skeleton model: 'default', a checkpoint path, a registered name, or an .onnx file.",
)
@backend_option
@click.option("--no-model", is_flag=True, help="Poses only: no action recognition.")
@click.option("--window", type=float, help="Seconds of poses per decision [default: model's].")
@click.option("--hop", default=0.25, show_default=True, help="Seconds between decisions.")
@click.option("--on", "on_score", default=0.6, show_default=True, help="Score to start an action.")
@click.option("--off", "off_score", default=0.4, show_default=True, help="Score to end it.")
@click.option(
    "--min-duration",
    default=0.5,
    show_default=True,
    help="Seconds a score must hold before an action starts or ends (no flicker).",
)
@source_options
def live(
    source: str,
    model: str,
    backend: str,
    no_model: bool,
    window: float | None,
    hop: float,
    on_score: float,
    off_score: float,
    min_duration: float,
    **options,
) -> None:
    """Recognise actions live in SOURCE: a camera index (0), a stream URL (rtsp://, http://)
    or a video file, played at its own frame rate.

    Events (stream start and end, a person coming into or leaving view, action start and end
    with times in seconds and scores, reconnections, periodic stats) are written as JSON lines.
    Frames are skipped, never queued, when the machine cannot keep up, so the output stays
    close to real time; the drop rate and end-to-end latency are reported.
    """
    if not 0 <= off_score <= on_score <= 1:
        raise click.UsageError("need 0 <= --off <= --on <= 1")
    if hop <= 0:
        raise click.BadParameter("must be positive", param_hint="--hop")
    analyzer = None
    if not no_model:
        import torch

        from actscope.inference import Recognizer, SkeletonRecognizer
        from actscope.live import ActionAnalyzer, ActionTracker

        # one small window at a time: a second thread would only compete with pose estimation
        torch.set_num_threads(1)
        recognizer = Recognizer.load(model, backend)
        if not isinstance(recognizer, SkeletonRecognizer):
            raise click.UsageError(
                f"{model} is an RGB model; live recognition takes a skeleton model"
            )
        from actscope.pose.layouts import MEDIAPIPE33

        # live poses are MediaPipe's: a model of a sensor's own joints cannot read them
        recognizer.check_layout(MEDIAPIPE33.name, f"{source} (live, MediaPipe poses)")
        tracker = ActionTracker(
            recognizer.class_names,
            on=on_score,
            off=off_score,
            min_start=min_duration,
            min_end=min_duration,
        )
        analyzer = ActionAnalyzer(recognizer, window=window, hop=hop, tracker=tracker)
    run_live(source, analyzer, **options)
