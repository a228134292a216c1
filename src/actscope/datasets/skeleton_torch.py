"""A torch ``Dataset`` over skeleton items: ``(transform(skeleton), label)`` pairs."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch.utils.data import Dataset

from actscope.datasets.skeleton_base import SkeletonItem
from actscope.pose.skeleton import Skeleton


class SkeletonTorchDataset(Dataset):
    """Wraps items (a :class:`~actscope.datasets.SkeletonDataset` or any sequence of
    :class:`~actscope.datasets.SkeletonItem`) for a ``DataLoader``.

    ``transform`` turns a :class:`Skeleton` into the model's input tensor, e.g.
    ``(C, T, V, M)``; item ``i`` is ``(transform(skeleton_i), label_i)``. ``cache=True``
    keeps each computed pair, for deterministic transforms evaluated every epoch.
    """

    def __init__(
        self,
        items: Sequence[SkeletonItem],
        transform: Callable[[Skeleton], torch.Tensor],
        cache: bool = False,
    ) -> None:
        self.items = items
        self.transform = transform
        self._cache: dict[int, tuple[torch.Tensor, int]] | None = {} if cache else None

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        if self._cache is not None and index in self._cache:
            return self._cache[index]
        item = self.items[index]
        pair = (self.transform(item.skeleton), item.label)
        if self._cache is not None:
            self._cache[index] = pair
        return pair
