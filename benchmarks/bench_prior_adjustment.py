"""Class priors after training: finished everyday runs re-scored per test source, with their
log-probabilities shifted by ``-tau * log(prior)`` (post-hoc logit adjustment), and the
probabilities of several runs averaged (an ensemble). No training; reads each run's
``config.yaml`` and ``model.pt``.

    .venv/bin/python benchmarks/bench_prior_adjustment.py --runs runs/everyday/everyday/split1-s0 \\
        runs/everyday/everyday/split1-s1 runs/everyday/everyday/split1-s2 --taus 0 0.5 1
    .venv/bin/python benchmarks/bench_prior_adjustment.py --ensemble \\
        --runs runs/everyday/everyday/split1-s0 runs/la1.0/everyday/split1-s0

Prints top-1 (%) per test source: for each tau, the mean ± population std over the runs;
with ``--ensemble``, the runs' averaged probabilities (tau 0).
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import numpy as np
import torch

from actscope.checkpoint import load_checkpoint, load_model_state
from actscope.datasets.catalog import training_data
from actscope.engine.config import load_config
from actscope.engine.evaluate import eval_loader, predict_scores
from actscope.engine.trainer import build_model


def scores(run: Path) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], np.ndarray]:
    """``{test set: (log-probabilities (N, K), labels (N,))}`` of a run's final weights, and
    its training prior ``(K,)``."""
    config = load_config(run / "config.yaml")
    data = training_data(config.data, config.model)
    model = build_model(config, len(data.class_names), data.class_names)
    load_model_state(model, load_checkpoint(run / "model.pt")["state_dict"], source=str(run))
    model.eval()
    counts = np.bincount(data.train.items.labels, minlength=len(data.class_names))
    tests = {"test": data.test, **data.extra_tests}
    out = {}
    for name, dataset in tests.items():
        logits, labels, _ = predict_scores(
            model, eval_loader(dataset, 64), device=torch.device("cpu")
        )
        out[name] = (torch.from_numpy(logits).log_softmax(-1).numpy(), labels)
    return out, counts / counts.sum()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, nargs="+", required=True)
    parser.add_argument("--taus", type=float, nargs="+", default=[0.0, 0.5, 1.0])
    parser.add_argument("--ensemble", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    runs = [scores(run) for run in args.runs]
    names = sorted(runs[0][0])
    if args.ensemble:
        print(f"{'test set':<20} {'ensemble of ' + str(len(runs)) + ' runs':>22}")
        for name in names:
            probabilities = sum(np.exp(found[name][0]) for found, _ in runs)
            labels = runs[0][0][name][1]
            print(f"{name:<20} {100 * float((probabilities.argmax(1) == labels).mean()):>22.2f}")
        return
    print(f"{'test set':<20} " + " ".join(f"{'tau ' + str(t):>16}" for t in args.taus))
    for name in names:
        cells = []
        for tau in args.taus:
            values = [
                100
                * float(((found[name][0] - tau * np.log(prior)).argmax(1) == found[name][1]).mean())
                for found, prior in runs
            ]
            cells.append(f"{statistics.fmean(values):.2f} ± {statistics.pstdev(values):.2f}")
        print(f"{name:<20} " + " ".join(f"{c:>16}" for c in cells))


if __name__ == "__main__":
    main()
