"""Hand-offs between pipeline threads that drop old items instead of queueing them.

A stage that cannot keep up must not fall behind: it should always work on the newest
input. :class:`LatestSlot` keeps only the newest item and counts the ones overwritten;
:class:`Mailbox` keeps a bounded backlog that the consumer takes in one go (for stages that
need every item's data, such as a pose history, but work only on the newest).
"""

from __future__ import annotations

import collections
import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class ClosedError(Exception):
    """The producer closed the hand-off and every item has been taken."""


class Mailbox(Generic[T]):
    """A bounded backlog: ``put`` never blocks; the oldest item is dropped when full.

    ``take`` waits for at least one item and returns all waiting items, oldest first.
    ``dropped`` counts items that fell off the full backlog, never seen by the consumer.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self._items: collections.deque[T] = collections.deque()
        self._capacity = capacity
        self._ready = threading.Condition()
        self._closed = False
        self.dropped = 0
        self.put_count = 0

    def put(self, item: T) -> None:
        with self._ready:
            if self._closed:
                return
            if len(self._items) == self._capacity:
                self._items.popleft()
                self.dropped += 1
            self._items.append(item)
            self.put_count += 1
            self._ready.notify()

    def take(self, timeout: float | None = None) -> list[T]:
        """All waiting items (at least one), or ``[]`` after ``timeout`` seconds.

        Raises :class:`ClosedError` once the producer closed it and nothing is left.
        """
        with self._ready:
            if not self._items and not self._closed:
                self._ready.wait(timeout)
            if not self._items:
                if self._closed:
                    raise ClosedError
                return []
            items = list(self._items)
            self._items.clear()
            return items

    def close(self) -> None:
        """No more items will come; the consumer gets what is left, then :class:`ClosedError`."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()


class LatestSlot(Mailbox[T]):
    """Only the newest item waits; an item replaced before it was taken counts as dropped."""

    def __init__(self) -> None:
        super().__init__(capacity=1)

    def get(self, timeout: float | None = None) -> T | None:
        """The newest item, or ``None`` after ``timeout``; :class:`ClosedError` when done."""
        items = self.take(timeout)
        return items[-1] if items else None
