"""Models of every family behind one registry (see :mod:`actscope.models.registry`)."""

from actscope.models.registry import (
    InputSpec,
    ModelEntry,
    WeightsInfo,
    create_model,
    get_entry,
    input_from_dict,
    list_models,
    register_model,
)

__all__ = [
    "InputSpec",
    "ModelEntry",
    "WeightsInfo",
    "create_model",
    "get_entry",
    "input_from_dict",
    "list_models",
    "register_model",
]
