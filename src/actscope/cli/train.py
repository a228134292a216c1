"""``actscope train`` and ``actscope eval``: train a registered model on a named dataset, and
evaluate a checkpoint on one."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
from rich.table import Table

from actscope.cli.app import app, check_outputs, note, out


@app.command()
@click.option("--dataset", help="Dataset name (see --list-datasets).")
@click.option(
    "--protocol",
    help="Skeletons: the dataset's standard one by default; cross-subject, cross-view, "
    "subjects=1,3,5, or the dataset's own (jhmdb split1-3, sbu fold1-5, penn-action official, "
    "utkinect loso-s1...). Videos: split=0.8 (default), testlist=FILE, column (a CSV's split "
    "column).",
)
@click.option("--root", help="Dataset folder (default: $ACTSCOPE_DATA/<dataset folder>).")
@click.option("--model", "model_name", help="Registered model name (see `actscope models`).")
@click.option("--pretrained", help="Weights to fine-tune from: a weights name or file.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="YAML/JSON run config; options and KEY=VALUE overrides apply on top.",
)
@click.option("--out", "out_dir", help="Run folder (default: runs/<dataset>-<model>-s<seed>).")
@click.option("--epochs", type=int, help="Number of epochs.")
@click.option("--seed", type=int, help="Seed of weights, batches and augmentation.")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last.pt.")
@click.option("--overwrite", is_flag=True, help="Replace a finished run in --out.")
@click.option("--list-datasets", is_flag=True, help="List the known dataset names and exit.")
@click.option(
    "--nproc",
    type=int,
    default=1,
    show_default=True,
    help="Train in N processes on this machine (torchrun: gloo on CPU cores, NCCL on GPUs), "
    "each on batch_size/N samples of every batch; same config, run folder and --resume.",
)
@click.option(
    "--recipe",
    type=click.Choice(["auto", "in-domain", "view-robust", "none"]),
    default="auto",
    show_default=True,
    help="Training recipe for keys not given: auto picks in-domain for 3D skeletons of a "
    "depth sensor, view-robust for 2D or estimated poses (with --config, auto uses the config "
    "alone); none keeps the plain defaults.",
)
@click.argument("overrides", nargs=-1)
def train(
    dataset: str | None,
    protocol: str | None,
    root: str | None,
    model_name: str | None,
    pretrained: str | None,
    config_path: str | None,
    out_dir: str | None,
    epochs: int | None,
    seed: int | None,
    resume: bool,
    overwrite: bool,
    list_datasets: bool,
    nproc: int,
    recipe: str,
    overrides: tuple[str, ...],
) -> int:
    """Train MODEL on DATASET; KEY=VALUE pairs override config keys (dotted for nested ones,
    e.g. optimizer.lr=0.003 data.options.dims=3).

    The run folder gets config.yaml, metrics.jsonl, last.pt (resumable; Ctrl-C saves it),
    model.pt (final weights for `actscope predict --model`), report.json and confusion.png.
    """
    from actscope.datasets.catalog import dataset_names, get_dataset
    from actscope.engine import distributed
    from actscope.engine.config import TrainConfig, apply_overrides, load_config
    from actscope.engine.run import fit, follow_pretrained

    if list_datasets:
        for name in dataset_names():
            out.print(f"{name:20} {get_dataset(name).summary}")
        return 0
    launching = nproc != 1 and "WORLD_SIZE" not in os.environ  # not yet under torchrun
    if launching:
        distributed.check_nproc(nproc, "auto")
    config = load_config(config_path) if config_path else TrainConfig()
    given = {
        "model": model_name,
        "pretrained": pretrained,
        "data.name": dataset,
        "data.protocol": protocol,
        "data.root": root,
        "epochs": epochs,
        "seed": seed,
    }
    flags = [f"{key}={value}" for key, value in given.items() if value is not None]
    config = apply_overrides(config, [*flags, *overrides])
    chosen = ""
    # a config file, or a checkpoint to fine-tune (its model and input), already says how
    decided = (config_path or config.pretrained) and recipe == "auto"
    if config.data.name and recipe != "none" and not decided:
        config, chosen = _with_recipe(config, recipe, config_path, [*flags, *overrides])
    follow_pretrained(config)  # the model to fine-tune names the run folder
    if out_dir is not None:
        config.out_dir = out_dir
    elif config.out_dir == TrainConfig.out_dir:
        config.out_dir = f"runs/{config.data.name}-{config.model}-s{config.seed}"
    if launching:
        distributed.check_nproc(nproc, config.device)
        distributed.check_batch(config.batch_size, nproc)
    check_outputs(folders=(config.out_dir,))
    if launching:
        argv = click.get_current_context().find_root().obj["argv"]
        return distributed.launch(nproc, [sys.executable, "-m", "actscope", *_without_nproc(argv)])
    # the recipe is said once the data and model are built: a bad request stays one line
    announce = (lambda: note(chosen)) if chosen else None
    result = fit(config, resume=resume, overwrite=overwrite, on_ready=announce)
    if result.reports:  # rank 0 (or the only process)
        _print_reports(result.summary(), f"{config.model} on {config.data.name}")
        out.print(f"model: {result.model_path}")
    return 0


def _without_nproc(argv: list[str]) -> list[str]:
    """``argv`` without ``--nproc N`` (or ``--nproc=N``): what each process runs."""
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            kept.append(arg)
    return kept


def _with_recipe(config, name: str, config_path: str | None, overrides: list[str]):
    """``config`` with the recipe ``name`` (``auto``: chosen from the data) on the keys that
    neither the config file nor the options and overrides set, and the line that says which
    (empty for video datasets, which have no recipe)."""
    from actscope.engine.recipes import apply_recipe, choose_recipe, sample_skeletons

    skeletons, untrimmed = sample_skeletons(config.data)
    if not skeletons:
        return config, ""  # video datasets have no recipe
    chosen = choose_recipe(skeletons, name, untrimmed=untrimmed)
    given = {item.partition("=")[0].strip() for item in overrides}
    if config_path:
        import yaml

        given |= _leaf_keys(yaml.safe_load(Path(config_path).read_text()) or {})
    return apply_recipe(config, chosen, given), chosen.line()


def _leaf_keys(values: dict, prefix: str = "") -> set[str]:
    """The dotted keys of the leaves of a config file's mapping."""
    keys = set()
    for key, value in values.items():
        if isinstance(value, dict) and value:
            keys |= _leaf_keys(value, f"{prefix}{key}.")
        else:
            keys.add(f"{prefix}{key}")
    return keys


@app.command("eval")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option(
    "--dataset", required=True, help="Dataset name (see `actscope train --list-datasets`)."
)
@click.option("--protocol", default="", help="Split protocol (default: the dataset's own).")
@click.option("--root", default="", help="Dataset folder (default: $ACTSCOPE_DATA/<folder>).")
@click.option(
    "--split",
    "part",
    type=click.Choice(["test", "train", "all"]),
    default="test",
    show_default=True,
    help="Which items to evaluate.",
)
@click.option("--out", "out_dir", help="Folder for report.json and confusion.png.")
@click.option("--batch-size", default=64, show_default=True, help="Sequences per batch.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def eval_command(
    checkpoint: str,
    dataset: str,
    protocol: str,
    root: str,
    part: str,
    out_dir: str | None,
    batch_size: int,
    as_json: bool,
) -> None:
    """Evaluate an actscope CHECKPOINT on a dataset: top-1, top-5, mean class accuracy and the
    confusion matrix. A checkpoint trained on other classes is refused."""
    from actscope.checkpoint import check_compatible, load_trained_model
    from actscope.datasets.catalog import evaluation_data
    from actscope.engine.evaluate import evaluate
    from actscope.models.registry import input_from_dict

    check_outputs(folders=(out_dir,))
    model, saved = load_trained_model(checkpoint)
    spec = input_from_dict(saved["input"])
    data, class_names = evaluation_data(dataset, root, protocol, spec, part)
    check_compatible(saved, class_names=class_names, source=checkpoint)
    views = getattr(data, "views", 1) > 1  # multi-view video test items: (V, C, T, H, W)
    report = evaluate(
        model, data, class_names=class_names, batch_size=batch_size, device="cpu", views=views
    )
    if out_dir:
        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        report.save_json(folder / "report.json")
        report.save_confusion_png(folder / "confusion.png")
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _print_reports({part: report.to_dict()}, f"{Path(checkpoint).name} on {dataset}")


def _print_reports(reports: dict[str, dict], title: str) -> None:
    table = Table(title=title)
    for column in ("set", "samples", "top-1", "top-5", "mean class acc."):
        table.add_column(column, justify="left" if column == "set" else "right")
    for name, r in reports.items():
        table.add_row(
            name,
            str(r["num_samples"]),
            f"{100 * r['top1']:.2f}%",
            f"{100 * r['top5']:.2f}%",
            f"{100 * r['mean_class_accuracy']:.2f}%",
        )
    out.print(table)
