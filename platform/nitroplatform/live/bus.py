"""In-process live event bus with a bounded replay buffer for ``Last-Event-ID``.

Publishing is thread-safe and cheap: the ingest thread hands over a whole batch of pre-serialised events,
and each subscriber (one per SSE connection) is woken once per batch on its own event loop. Event ids are
strictly increasing integers per bus, seeded from the clock at start, so an id from before a restart or
from another worker is recognised and answered with a ``resync`` instead of a silent gap.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

SUBSCRIBER_QUEUE_MAX = 10_000
"""A subscriber further behind than this is cut off with a resync rather than growing without bound."""


@dataclass(frozen=True)
class LiveEvent:
    """One event on the stream. ``data`` is the JSON text sent as the SSE ``data:`` line."""

    id: int
    event: str
    data: str
    camera_id: str | None = None


@dataclass(frozen=True)
class EventDraft:
    """An event before the bus assigns its id."""

    event: str
    data: str
    camera_id: str | None = None


@dataclass(eq=False)  # hashed by identity: the bus keeps subscriptions in a set
class Subscription:
    """One consumer's view of the bus: events replayed at subscribe time, then a live queue."""

    loop: asyncio.AbstractEventLoop
    replay: list[LiveEvent]
    needs_resync: bool
    pending: deque[LiveEvent] = field(default_factory=deque)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    overflowed: bool = False
    closed: bool = False

    def _deliver(self, events: Sequence[LiveEvent]) -> None:
        # Runs on the subscriber's loop (via call_soon_threadsafe).
        if self.closed:
            return
        self.pending.extend(events)
        if len(self.pending) > SUBSCRIBER_QUEUE_MAX:
            self.overflowed = True
            self.pending.clear()
        self.wakeup.set()

    async def next_batch(self, timeout: float) -> list[LiveEvent]:
        """Wait up to ``timeout`` seconds for events; an empty list means 'nothing yet'."""
        if not self.pending and not self.overflowed:
            self.wakeup.clear()
            try:
                await asyncio.wait_for(self.wakeup.wait(), timeout)
            except TimeoutError:
                return []
        batch = list(self.pending)
        self.pending.clear()
        return batch


class LiveBus:
    """Fan-out of live events to every subscriber in this process."""

    def __init__(self, buffer_size: int = 4096) -> None:
        self._lock = threading.Lock()
        self._buffer: deque[LiveEvent] = deque(maxlen=buffer_size)
        self._subscribers: set[Subscription] = set()
        # Ids start at the clock (microseconds) so ids of a previous process are always lower.
        self._first_id = time.time_ns() // 1000
        self._last_id = self._first_id - 1
        self._evicted_up_to = self._first_id - 1

    @property
    def last_id(self) -> int:
        """Id of the newest event published, or ``first_id - 1`` before the first."""
        return self._last_id

    @property
    def subscriber_count(self) -> int:
        """Number of open subscriptions."""
        return len(self._subscribers)

    def publish(self, drafts: Iterable[EventDraft]) -> list[LiveEvent]:
        """Assign ids, buffer, and deliver to every subscriber. Safe from any thread.

        Returns:
            The published events with their ids.
        """
        with self._lock:
            events = []
            for draft in drafts:
                self._last_id += 1
                if len(self._buffer) == self._buffer.maxlen:
                    self._evicted_up_to = self._buffer[0].id
                event = LiveEvent(id=self._last_id, event=draft.event, data=draft.data, camera_id=draft.camera_id)
                self._buffer.append(event)
                events.append(event)
            subscribers = list(self._subscribers)
        if events:
            for subscription in subscribers:
                try:
                    subscription.loop.call_soon_threadsafe(subscription._deliver, events)
                except RuntimeError:  # the subscriber's loop is closed; it unsubscribes itself
                    continue
        return events

    def subscribe(self, last_event_id: int | None = None) -> Subscription:
        """Register a subscriber on the running event loop.

        Args:
            last_event_id: the SSE ``Last-Event-ID`` of a reconnecting client. Events after it that are still
                buffered are replayed; if some were already evicted, or the id is not from this bus, the
                subscription is flagged ``needs_resync``.
        """
        loop = asyncio.get_running_loop()
        with self._lock:
            needs_resync = False
            replay: list[LiveEvent] = []
            if last_event_id is not None:
                if last_event_id < self._evicted_up_to or last_event_id > self._last_id:
                    needs_resync = True
                else:
                    replay = [event for event in self._buffer if event.id > last_event_id]
            subscription = Subscription(loop=loop, replay=replay, needs_resync=needs_resync)
            self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Stop delivering to ``subscription``."""
        subscription.closed = True
        with self._lock:
            self._subscribers.discard(subscription)

    def recent(self, after_id: int | None = None) -> list[LiveEvent]:
        """Buffered events after ``after_id`` (all when None), oldest first."""
        with self._lock:
            return [event for event in self._buffer if after_id is None or event.id > after_id]
