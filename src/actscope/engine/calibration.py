"""When to answer "unknown action": a threshold on how sure a model is, calibrated on
held-out clips of the actions it knows.

A classifier always names one of its classes, even for a clip of something it never saw.
:class:`UnknownRule` turns its class probabilities into a confidence (the largest
probability) and calls a clip unknown below a threshold. The threshold is chosen on clips the
model was not trained on but whose actions it knows (held out of the training split, never
the test split), so that ``coverage`` of them (95% by default) are still named: the rest of
the known actions' clips are the price of telling the unknown ones apart, and how well that
works is measured by training without some classes (``benchmarks/bench_unknown.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from actscope.errors import ModelError

DEFAULT_COVERAGE = 0.95


@dataclass(frozen=True)
class UnknownRule:
    """Call a clip unknown when its largest class probability is under ``threshold``.

    ``coverage`` is the share of the ``calibrated_on`` held-out known clips that were named.
    """

    threshold: float
    coverage: float = DEFAULT_COVERAGE
    calibrated_on: int = 0
    score: str = "max_probability"

    def confidence(self, probabilities: np.ndarray) -> np.ndarray:
        """``(..., K)`` class probabilities -> ``(...)`` confidence."""
        return np.asarray(probabilities).max(axis=-1)

    def is_unknown(self, probabilities: np.ndarray) -> np.ndarray:
        """``(..., K)`` -> ``(...)`` bool."""
        return self.confidence(probabilities) < self.threshold

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> UnknownRule:
        if values.get("score", "max_probability") != "max_probability":
            raise ModelError(f"unknown-action score {values['score']!r} is not known here")
        return cls(
            threshold=float(values["threshold"]),
            coverage=float(values.get("coverage", DEFAULT_COVERAGE)),
            calibrated_on=int(values.get("calibrated_on", 0)),
        )


def calibrate(probabilities: np.ndarray, coverage: float = DEFAULT_COVERAGE) -> UnknownRule:
    """The rule that names ``coverage`` of the held-out known clips whose class
    probabilities are ``probabilities (N, K)``."""
    if not 0 < coverage <= 1:
        raise ModelError(f"coverage must be in (0, 1], got {coverage}")
    if len(probabilities) == 0:
        raise ModelError("no held-out clips to calibrate the unknown-action threshold on")
    confidence = np.asarray(probabilities).max(axis=-1)
    threshold = float(np.quantile(confidence, 1 - coverage, method="lower"))
    return UnknownRule(threshold, coverage, len(probabilities))
