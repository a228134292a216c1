"""Applications built on poses: fall detection and exercise analysis.

- :mod:`actscope.apps.fall`: falls from a skeleton over time (offline or live);
  :mod:`actscope.apps.fall_synth` makes synthetic falls and near-falls to test it.
- :mod:`actscope.apps.exercise`: repetition counting, timing and range of motion;
  :mod:`actscope.apps.pushup_form`: the push-up form classifier.
"""

from actscope.apps.exercise import EXERCISES, ExerciseReport, Repetition, count_repetitions
from actscope.apps.fall import FallAlert, FallAnalyzer, FallConfig, FallDetector, detect_falls
from actscope.apps.pushup_form import FormClassifier

__all__ = [
    "EXERCISES",
    "ExerciseReport",
    "FallAlert",
    "FallAnalyzer",
    "FallConfig",
    "FallDetector",
    "FormClassifier",
    "Repetition",
    "count_repetitions",
    "detect_falls",
]
