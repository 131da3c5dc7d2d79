"""A bounded frame queue between capture and analysis that drops the oldest frame under load.

Live sources must never stall capture (that would let frames pile up in the camera's buffer and make
alerts late), so a full queue drops its oldest frame and counts the drop. A file read as fast as possible
instead blocks the producer, so that every frame is analysed and test runs are deterministic.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Generic, TypeVar

ItemT = TypeVar("ItemT")


@dataclass(frozen=True)
class QueueStats:
    """Counters since the queue was created."""

    put: int
    dropped: int
    depth: int


class FrameQueue(Generic[ItemT]):
    """Thread-safe bounded FIFO.

    Args:
        capacity: most items held at once, at least 1.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self._items: deque[ItemT] = deque()
        self._capacity = capacity
        self._cond = threading.Condition()
        self._put = 0
        self._dropped = 0

    def put(self, item: ItemT, *, block: bool = False, timeout_s: float | None = None) -> bool:
        """Add an item.

        Args:
            item: the frame.
            block: wait for room instead of dropping the oldest item.
            timeout_s: with ``block``, give up after this long.

        Returns:
            True if the item was queued; False only when blocking timed out.
        """
        with self._cond:
            if block:
                if not self._cond.wait_for(lambda: len(self._items) < self._capacity, timeout_s):
                    return False
            elif len(self._items) >= self._capacity:
                self._items.popleft()
                self._dropped += 1
            self._items.append(item)
            self._put += 1
            self._cond.notify_all()
            return True

    def get(self, timeout_s: float | None = None) -> ItemT | None:
        """Take the oldest item, waiting up to ``timeout_s``; None if nothing came."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._items) > 0, timeout_s):
                return None
            item = self._items.popleft()
            self._cond.notify_all()
            return item

    def clear(self) -> int:
        """Discard every queued item (for example when the schedule closes); returns how many."""
        with self._cond:
            count = len(self._items)
            self._items.clear()
            self._cond.notify_all()
            return count

    def stats(self) -> QueueStats:
        """Counters and current depth."""
        with self._cond:
            return QueueStats(put=self._put, dropped=self._dropped, depth=len(self._items))
