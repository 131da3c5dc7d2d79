"""Server-Sent Events framing and the per-connection generator over a bus subscription."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from nitroplatform.live.bus import LiveBus, LiveEvent

KEEPALIVE_S = 15.0
RETRY_MS = 2000


def frame(event: LiveEvent) -> str:
    """One SSE message: ``id``, ``event`` and a single-line JSON ``data``."""
    return f"id: {event.id}\nevent: {event.event}\ndata: {event.data}\n\n"


def parse_last_event_id(raw: str | None) -> int | None:
    """The integer Last-Event-ID, or None when absent or not ours (which then triggers a resync)."""
    if raw is None or not raw.strip():
        return None
    try:
        return int(raw.strip())
    except ValueError:
        return -1


async def event_stream(
    bus: LiveBus,
    *,
    last_event_id: int | None,
    visible: Callable[[LiveEvent], bool],
    is_disconnected: Callable[[], object],
    keepalive_s: float = KEEPALIVE_S,
) -> AsyncIterator[str]:
    """Yield SSE text: a resync notice if needed, buffered events after ``last_event_id``, then live ones.

    Events are delivered at most once per connection and in id order, so a reconnect with Last-Event-ID
    neither duplicates nor misses anything still in the bus buffer.
    """
    subscription = bus.subscribe(last_event_id)
    delivered = last_event_id if last_event_id is not None and last_event_id >= 0 else 0
    try:
        yield f"retry: {RETRY_MS}\n\n"
        if subscription.needs_resync:
            # The client missed events we no longer have: tell it to reload the incident list.
            yield f"id: {bus.last_id}\nevent: resync\ndata: {{}}\n\n"
            delivered = bus.last_id
        pending = subscription.replay
        while True:
            chunks = []
            for event in pending:
                if event.id <= delivered:
                    continue
                delivered = event.id
                if visible(event):
                    chunks.append(frame(event))
            if chunks:
                yield "".join(chunks)
            if subscription.overflowed:
                yield "event: resync\ndata: {}\n\n"
                return
            pending = await subscription.next_batch(keepalive_s)
            if not pending:
                if await _call(is_disconnected):
                    return
                yield ": keepalive\n\n"
    finally:
        bus.unsubscribe(subscription)


async def _call(check: Callable[[], object]) -> bool:
    result = check()
    if hasattr(result, "__await__"):
        result = await result
    return bool(result)
