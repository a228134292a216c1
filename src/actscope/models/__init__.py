"""Models of every family behind one registry (see :mod:`actscope.models.registry`)."""

from actscope.models.registry import (
    ModelEntry,
    SkeletonInput,
    VideoInput,
    WeightsInfo,
    create_model,
    get_entry,
    list_models,
    register_model,
)

__all__ = [
    "ModelEntry",
    "SkeletonInput",
    "VideoInput",
    "WeightsInfo",
    "create_model",
    "get_entry",
    "list_models",
    "register_model",
]
