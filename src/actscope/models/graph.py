"""Skeleton graphs for graph convolutions: adjacency partitions, hop distances, bone parents.

A :class:`SkeletonGraph` is built from the number of joints, the bones (pairs of joint
indices) and a centre joint; :func:`layout_graph` makes one from a joint layout of
:mod:`actscope.pose`, where joint names and bones are defined. Adjacency matrices are
returned as ``(K, V, V)`` float32 tensors where ``A[k, i, j]`` weighs joint ``j``'s
features in the output of joint ``i`` (rows are the receiving joints).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from functools import cached_property

import numpy as np
import torch

from actscope.errors import ActscopeError, ModelError

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


def body15_graph() -> SkeletonGraph:
    """The default graph of skeleton models: ``body15``, centred on the pelvis."""
    return layout_graph("body15")


GraphLike = SkeletonGraph | str | None
"""How builders take a graph: a :class:`SkeletonGraph`, the name of a joint layout of
:mod:`actscope.pose.layouts` (e.g. ``"kinect_v1_20"``; plain, so it fits in a checkpoint),
or ``None`` for the default :func:`body15_graph`."""


def resolve_graph(graph: GraphLike) -> SkeletonGraph:
    """The :class:`SkeletonGraph` a builder's ``graph`` argument names."""
    if isinstance(graph, SkeletonGraph):
        return graph
    if graph is None:
        return body15_graph()
    if isinstance(graph, str):
        return layout_graph(graph)
    raise ModelError(
        f"graph must be a SkeletonGraph, a joint layout name or None, got {type(graph).__name__}"
    )


def layout_graph(name: str) -> SkeletonGraph:
    """The graph of joint layout ``name``: its joints, bones and (first) centre joint."""
    from actscope.pose.layouts import get_layout

    try:
        layout = get_layout(name)
    except ActscopeError as exc:
        raise ModelError(f"graph {name!r}: {exc}") from None
    return SkeletonGraph(layout.num_joints, layout.edges, layout.center[0])
