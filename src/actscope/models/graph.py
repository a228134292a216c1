"""Skeleton graphs for graph convolutions: adjacency partitions, hop distances, bone parents.

A :class:`SkeletonGraph` is built from the number of joints, the bones (pairs of joint
indices) and a centre joint. It knows nothing about joint names or layouts; those live in
:mod:`actscope.pose`. Adjacency matrices are returned as ``(K, V, V)`` float32 tensors where
``A[k, i, j]`` weighs joint ``j``'s features in the output of joint ``i`` (rows are the
receiving joints).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from functools import cached_property

import numpy as np
import torch

from actscope.errors import ModelError

UNREACHABLE = -1
"""Hop distance between two joints that no chain of bones connects."""


class SkeletonGraph:
    """An undirected skeleton graph of ``num_joints`` joints joined by ``edges``.

    ``center`` is the joint the spatial partition and the bone tree are rooted at (the
    pelvis for full-body layouts). Joints no bone reaches from the centre are allowed (they
    are their own parents and form their own neighbourhood).
    """

    def __init__(self, num_joints: int, edges: Iterable[Sequence[int]], center: int) -> None:
        if num_joints < 1:
            raise ModelError(f"a skeleton graph needs at least one joint, got {num_joints}")
        edges = tuple((int(a), int(b)) for a, b in edges)
        for a, b in edges:
            if not (0 <= a < num_joints and 0 <= b < num_joints) or a == b:
                raise ModelError(
                    f"bone ({a}, {b}) is not a pair of distinct joints in 0..{num_joints - 1}; "
                    "fix the edge list"
                )
        if not 0 <= center < num_joints:
            raise ModelError(f"centre joint {center} is not in 0..{num_joints - 1}")
        self.num_joints = num_joints
        self.edges = edges
        self.center = center

    def __repr__(self) -> str:
        return (
            f"SkeletonGraph(num_joints={self.num_joints}, center={self.center}, edges={self.edges})"
        )

    @cached_property
    def hops(self) -> np.ndarray:
        """``(V, V)`` int array of shortest path lengths in bones; :data:`UNREACHABLE` if none."""
        neighbours = self._neighbours()
        hops = np.full((self.num_joints, self.num_joints), UNREACHABLE, dtype=np.int64)
        for start in range(self.num_joints):
            hops[start, start] = 0
            queue = deque([start])
            while queue:
                joint = queue.popleft()
                for other in neighbours[joint]:
                    if hops[start, other] == UNREACHABLE:
                        hops[start, other] = hops[start, joint] + 1
                        queue.append(other)
        return hops

    @cached_property
    def parents(self) -> tuple[int, ...]:
        """Each joint's parent in the breadth-first tree from the centre (the centre, and
        joints unreachable from it, are their own parents). Bone vectors are
        ``joint - parent``."""
        to_center = self.hops[self.center]
        parents = list(range(self.num_joints))
        for joint in range(self.num_joints):
            if joint == self.center or to_center[joint] == UNREACHABLE:
                continue
            # The lowest-numbered neighbour one hop closer to the centre: deterministic.
            parents[joint] = min(
                other
                for other in self._neighbours()[joint]
                if to_center[other] == to_center[joint] - 1
            )
        return tuple(parents)

    def adjacency(self, strategy: str = "spatial") -> torch.Tensor:
        """Normalised adjacency ``(K, V, V)`` for graph convolutions.

        ``"spatial"`` (ST-GCN's partition, K=3): each joint's neighbourhood (itself and the
        joints one bone away) split into joints as far from the centre as itself, closer to
        it, and farther from it. ``"uniform"`` (K=1): the whole neighbourhood. Rows are
        normalised by the neighbourhood size, so each joint averages its neighbours.
        """
        hops = self.hops
        near = (hops == 0) | (hops == 1)
        normalised = near / near.sum(axis=1, keepdims=True)
        if strategy == "uniform":
            return torch.from_numpy(normalised[None].astype(np.float32))
        if strategy != "spatial":
            raise ModelError(f"unknown adjacency strategy {strategy!r}; use 'spatial' or 'uniform'")
        # Unreachable joints count as infinitely far, so they only ever meet each other.
        depth = hops[self.center].astype(np.float64)
        depth[depth == UNREACHABLE] = np.inf
        receiver, sender = depth[:, None], depth[None, :]
        same = near & (sender == receiver)
        closer = near & (sender < receiver)
        farther = near & (sender > receiver)
        parts = np.stack([normalised * same, normalised * closer, normalised * farther])
        return torch.from_numpy(parts.astype(np.float32))

    def _neighbours(self) -> list[list[int]]:
        neighbours: list[list[int]] = [[] for _ in range(self.num_joints)]
        for a, b in self.edges:
            neighbours[a].append(b)
            neighbours[b].append(a)
        return neighbours


BODY15_EDGES: tuple[tuple[int, int], ...] = (
    (0, 1),  # head - neck
    (1, 2),  # neck - pelvis
    (1, 3),
    (3, 4),
    (4, 5),  # neck - left shoulder - elbow - wrist
    (1, 6),
    (6, 7),
    (7, 8),  # neck - right shoulder - elbow - wrist
    (2, 9),
    (9, 10),
    (10, 11),  # pelvis - left hip - knee - ankle
    (2, 12),
    (12, 13),
    (13, 14),  # pelvis - right hip - knee - ankle
)
"""Bones of the ``body15`` layout, joint order: head, neck, pelvis, left shoulder, elbow,
wrist, right shoulder, elbow, wrist, left hip, knee, ankle, right hip, knee, ankle. It must
agree with the layout of that name in :mod:`actscope.pose`; models use it only as their
default graph."""


def body15_graph() -> SkeletonGraph:
    """The default graph of skeleton models: ``body15``, centred on the pelvis (joint 2)."""
    return SkeletonGraph(15, BODY15_EDGES, center=2)


def resolve_graph(
    graph: SkeletonGraph | None,
    num_joints: int | None,
    edges: Iterable[Sequence[int]] | None,
    center: int | None,
) -> SkeletonGraph:
    """The graph a builder was given: ``graph`` itself, or one made of ``num_joints``,
    ``edges`` and ``center`` (all three), or :func:`body15_graph` when none is given."""
    parts = (num_joints, edges, center)
    if graph is not None:
        if any(p is not None for p in parts):
            raise ModelError("give either graph= or num_joints/edges/center, not both")
        return graph
    if all(p is None for p in parts):
        return body15_graph()
    if any(p is None for p in parts):
        raise ModelError("num_joints, edges and center must be given together")
    return SkeletonGraph(num_joints, edges, center)  # type: ignore[arg-type]
