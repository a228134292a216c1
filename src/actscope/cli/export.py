"""``actscope export``: a model as one ONNX file, for ONNX Runtime and other runtimes."""

from __future__ import annotations

import click

from actscope.cli.app import app, note

MODEL_HELP = (
    "Model: 'default' (shipped skeleton model), a checkpoint file, or a registered model name "
    "(random weights unless --weights is given)."
)


@app.command()
@click.argument("model")
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help="The .onnx file."
)
@click.option(
    "--weights",
    type=click.Path(exists=True),
    help="Upstream weights file or folder for the registered model named by MODEL.",
)
@click.option("--int8", is_flag=True, help="Quantise the weights to int8 (dynamic quantisation).")
@click.option(
    "--num-classes",
    type=click.IntRange(min=1),
    help="Outputs of a registered model built with random weights [default: as many as its "
    "published weights' classes].",
)
def export(
    model: str, output: str, weights: str | None, int8: bool, num_classes: int | None
) -> None:
    """Export MODEL to ONNX (opset 17, dynamic batch size), with its input spec, class names
    and unknown-action rule stored in the file: `actscope predict -m model.onnx` (or any
    ONNX runtime) reads it. The file is checked against PyTorch before it is kept.

    Every registered model exports at its default input; a model that cannot (an op ONNX
    lacks) is one error line. docs/export.md has the details.
    """
    from pathlib import Path

    from actscope.inference.onnx_backend import require_onnx
    from actscope.inference.onnx_export import export_onnx, resolve

    if Path(output).suffix.lower() != ".onnx":
        raise click.BadParameter("give a .onnx file", param_hint="--output")
    require_onnx()
    if weights is not None and num_classes is not None:
        raise click.UsageError("--num-classes goes with random weights, not --weights")
    exportable = resolve(model, weights, num_classes=num_classes)
    if exportable.source == "random weights":
        note(f"warning: {model} has random weights (no --weights given): its scores mean nothing")
    report = export_onnx(exportable, output, int8=int8)
    kind = "int8 weights" if report.int8 else "float32"
    note(
        f"{report.path}: written ({exportable.name}, {kind}, {report.size / 1e6:.1f} MB; "
        f"max |PyTorch - ONNX Runtime| logit {report.max_difference:.1e} on a random batch)"
    )
