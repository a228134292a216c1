"""``actscope fall`` and ``actscope exercise``: the applications built on poses."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from actscope.cli.app import PARTIAL_HELP, app, err, note, say
from actscope.cli.live import run_live, source_options


def _is_live(source: str) -> bool:
    from actscope.live.sources import is_camera

    return is_camera(source) or "://" in source


def load_poses(source: str, work_size: int = 480, allow_partial: bool = False):
    """The image keypoints of ``source``: a poses file (``.npz`` from ``actscope pose``; its
    world keypoints when it has no image ones, e.g. a depth sensor's; frames recorded
    unevenly put on an even grid from the first one), or a video whose poses are estimated
    now (every frame, MediaPipe; with ``allow_partial`` from the frames of a damaged video
    that decode)."""
    from actscope.pose import PoseTrack, Skeleton

    if source.endswith(".npz"):
        from actscope.inference.scoring import even_frames
        from actscope.pose.skeleton import load_skeletons

        found = load_skeletons(source)
        if "image" in found:
            skeleton = PoseTrack(found["image"], found.get("world")).image
        else:
            skeleton = Skeleton.load(source)
        return even_frames(skeleton)[0]
    from actscope.pose.estimate import extract_poses

    with err.status(f"estimating poses in {Path(source).name}"):
        track = extract_poses(source, work_size=work_size or None, allow_partial=allow_partial)
    return track.image


@app.command()
@click.argument("source")
@click.option(
    "--live",
    "force_live",
    is_flag=True,
    help="Replay a video file in real time through the live pipeline instead of "
    "analysing every frame.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the alerts as JSON (files only).")
@click.option("--allow-partial", is_flag=True, help=PARTIAL_HELP)
@source_options
def fall(source: str, force_live: bool, as_json: bool, allow_partial: bool, **options) -> None:
    """Detect falls in SOURCE: a video file or poses file (.npz), or live from a camera
    index or stream URL.

    A fall is a person seen standing (feet in view) whose head and shoulders go down to
    the floor fast (about 1.4 m/s or more) and stay there. Heights are measured against
    the person's own standing height just before, so video and 3D skeletons work alike,
    and noisy or partly missing poses of the person on the floor still count. The alert
    comes once they have been down for 1 s, or when the recording or stream ends sooner
    with the person last seen on the floor (marked "at the end"). Each is reported with
    the time of the impact (seconds) and a confidence.

    Not falls: sitting, kneeling, squatting, bending over, picking something up, lying
    down slowly, push-ups. Not detected: slow collapses, falls from a chair, falls of a
    person never seen standing, and falls after which the person is out of view while
    the stream goes on (see docs/live_and_apps.md).
    """
    from actscope.apps.fall import FallAnalyzer, detect_falls

    if force_live or _is_live(source):
        run_live(source, FallAnalyzer(), **options)
        return
    skeleton = load_poses(source, allow_partial=allow_partial)
    if skeleton.num_people == 0 or not skeleton.present().any():
        note(f"{source}: nobody in view in any frame; no fall can be detected")
        alerts = []
    else:
        alerts = detect_falls(skeleton)
    if as_json:
        click.echo(json.dumps([a.to_event() for a in alerts]))
        return
    seen = skeleton.present().any(axis=0).mean() if skeleton.num_people else 0.0
    for alert in alerts:
        ending = "" if alert.complete else ", at the end of the recording"
        say(
            f"fall at {alert.time:.2f} s (began {alert.onset:.2f} s; on the floor for "
            f"{alert.lying:.1f} s when confirmed at {alert.confirmed:.2f} s{ending}), "
            f"confidence {alert.confidence:.2f}"
        )
    if not alerts:
        say(
            f"no fall in {skeleton.duration:.1f} s (a person in view in {100 * seen:.0f}% "
            "of the frames)"
        )


@app.command()
@click.argument("video")
@click.option(
    "--kind",
    default="pushup",
    show_default=True,
    help="Exercise: pushup, squat, lunge, situp, curl, press, jumping_jack.",
)
@click.option(
    "--min-range",
    type=float,
    help="Smallest range of motion of the joint angle that counts as a repetition (degrees).",
)
@click.option(
    "--form/--no-form",
    default=True,
    show_default=True,
    help="For push-ups, also judge the form with the shipped form classifier.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the analysis as JSON.")
@click.option("--allow-partial", is_flag=True, help=PARTIAL_HELP)
def exercise(
    video: str, kind: str, min_range: float | None, form: bool, as_json: bool, allow_partial: bool
) -> None:
    """Count repetitions in VIDEO (or a poses file, .npz), with each repetition's timing
    and range of motion; for push-ups, also judge the form (correct or wrong)."""
    from actscope.apps.exercise import count_repetitions, get_exercise

    exercise_kind = get_exercise(kind)  # a bad --kind fails before any pose estimation
    skeleton = load_poses(video, allow_partial=allow_partial)
    report = count_repetitions(skeleton, exercise_kind, min_range=min_range)
    result = report.summary()
    if form and kind == "pushup":
        from actscope.apps.pushup_form import FormClassifier

        model = FormClassifier.load()
        result["form"] = {**model.judge(skeleton), "trained_on_clips": model.info.get("clips")}
    if as_json:
        click.echo(json.dumps(result))
        return
    name = os.path.basename(video)
    say(
        f"{name}: {report.count} {kind} repetition{'s' if report.count != 1 else ''} "
        f"(angle measured on the {report.side} side)"
    )
    for rep in report.repetitions:
        say(
            f"  {rep.index:3d}  {rep.start:6.2f}-{rep.end:6.2f} s  ({rep.duration:.2f} s)  "
            f"range {rep.range:5.1f} deg  ({rep.bottom:.0f}-{rep.top:.0f})"
        )
    if report.count:
        say(
            f"  mean {result['mean_duration']:.2f} s per repetition, "
            f"{result['cadence_per_minute']:.0f} per minute, mean range "
            f"{result['mean_range']:.0f} deg"
        )
    if "form" in result:
        verdict = result["form"]
        say(
            f"form: {verdict['label']} (probability of correct form "
            f"{verdict['p_correct']:.2f}; about 74% right on unseen clips of its training "
            "data, less on other sources: see docs/apps/pushup_form.md)"
        )
