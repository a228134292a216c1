"""Metadata shared by the Kinetics-400 weights of the RGB model zoo: class names, licences.

Every Kinetics-400 checkpoint listed here (torchvision, PySlowFast, PyTorchVideo, TSM, Hugging
Face) orders its 400 classes alphabetically, as torchvision's weights metadata does, so one
list serves them all.
"""

from __future__ import annotations

from torchvision.models.video import R3D_18_Weights

from actscope.models.registry import WeightsInfo

KINETICS400_CLASSES: tuple[str, ...] = tuple(R3D_18_Weights.KINETICS400_V1.meta["categories"])

# Licences of the code releases the checkpoints come from. Kinetics-400 itself is a list of
# YouTube videos whose annotations DeepMind publishes under CC BY 4.0; the videos keep their
# owners' terms.
KINETICS_TERMS = "trained on Kinetics-400 (annotations CC BY 4.0, videos under their owners' terms)"
KINETICS_NOTE = "; " + KINETICS_TERMS
TORCHVISION_LICENCE = "BSD-3-Clause (torchvision)" + KINETICS_NOTE
PYSLOWFAST_LICENCE = "Apache-2.0 (PySlowFast)" + KINETICS_NOTE
PYTORCHVIDEO_LICENCE = "Apache-2.0 (PyTorchVideo)" + KINETICS_NOTE
TSM_LICENCE = "MIT (mit-han-lab/temporal-shift-module)" + KINETICS_NOTE
CC_BY_NC_LICENCE = "CC BY-NC 4.0 (model card; non-commercial use only)" + KINETICS_NOTE
MIT_LICENCE = "MIT (model card)" + KINETICS_NOTE


def kinetics400_weights(
    name: str, source: str, licence: str, metrics: dict[str, float] | None = None
) -> WeightsInfo:
    """Weights trained on Kinetics-400 (its 400 classes, in the order above)."""
    return WeightsInfo(
        name=name,
        source=source,
        classes=KINETICS400_CLASSES,
        licence=licence,
        metrics=metrics or {},
        dataset="Kinetics-400",
    )
