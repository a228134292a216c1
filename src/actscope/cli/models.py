"""``actscope models``: every registered model, its input, size, compute and weights."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click
from rich.table import Table

from actscope.cli.app import app, out
from actscope.video.spec import ClipSpec

if TYPE_CHECKING:
    from actscope.models.registry import InputSpec

FAMILIES = ("cnn3d", "cnn2d", "transformer", "skeleton")


@app.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--family", type=click.Choice(FAMILIES), help="Only models of this family.")
def models(as_json: bool, family: str | None) -> None:
    """List the registered models: family, default input, parameters, GMACs (multiply-adds
    per clip, the model-zoo tables' "GFLOPs") and whether their weights load offline."""
    from actscope.models import list_models
    from actscope.models.stats import stats_of
    from actscope.weights import available_offline

    rows = []
    entries = list_models(family)
    for entry in entries:
        stats = stats_of(entry)
        rows.append(
            {
                "name": entry.name,
                "family": entry.family,
                "summary": entry.summary,
                "input": entry.input.to_dict(),
                "params": stats.params,
                "gmacs": stats.gmacs,
                "weights": [
                    {
                        "name": info.name,
                        "source": info.source,
                        "dataset": info.dataset,
                        "classes": len(info.classes),
                        "licence": info.licence,
                        "metrics": info.metrics,
                        "offline": available_offline(info),
                    }
                    for info in entry.weights
                ],
            }
        )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        _print_table(rows, [_input_text(entry.input) for entry in entries])


def _input_text(spec: InputSpec) -> str:
    if isinstance(spec, ClipSpec):
        sampling = "segments" if spec.sampling == "segments" else f"stride {spec.stride}"
        return f"{spec.frames}x{spec.size}² {sampling}"
    return f"{spec.layout} {spec.frames}f {spec.channels}c"


def _offline_text(weights: list[dict]) -> str:
    """``yes`` when some weights load without a network (shipped or cached), ``no`` when
    they must be downloaded first (or given as a local file), ``–`` when none are known."""
    if not weights:
        return "–"
    return "yes" if any(w["offline"] for w in weights) else "no"


def _print_table(rows: list[dict], inputs: list[str]) -> None:
    table = Table(box=None, header_style="bold")
    for column in ("model", "family", "input", "params", "GMACs", "weights", "offline"):
        table.add_column(column, justify="right" if column in ("params", "GMACs") else "left")
    table.add_column("description")
    for row, input_text in zip(rows, inputs, strict=True):
        params = f"{row['params'] / 1e6:.2f} M" if row["params"] is not None else "?"
        gmacs = f"{row['gmacs']:.2f}" if row["gmacs"] is not None else "?"
        table.add_row(
            row["name"],
            row["family"],
            input_text,
            params,
            gmacs,
            str(len(row["weights"])),
            _offline_text(row["weights"]),
            row["summary"],
        )
    out.print(table)
