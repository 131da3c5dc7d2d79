"""Server-Sent Events framing and the per-connection generator over a bus subscription.

A stream ends with ``event: end`` and ``data: {"reason": ...}`` when its caller's access ends
(``signed_out``: logout, deactivation, revoked token, expired session) or changes (``scope_changed``:
roles, teams or visible cameras; a ``resync`` comes first so the client reloads its lists, and its
reconnect gets the new scope).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Protocol

from nitroplatform.live.access import ACCESS_EVENT
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


class StreamGuard(Protocol):
    """Decides, while a stream is open, whether its caller may still receive it."""

    def concerns(self, event: LiveEvent) -> bool:
        """True for a control event that names this stream's user (re-check at once)."""

    async def verdict(self) -> str | None:
        """None to go on, or the reason the stream must end (``signed_out``, ``scope_changed``)."""


def end_frames(reason: str) -> str:
    """What a stream sends before it closes: a resync first when only the scope changed."""
    resync = "event: resync\ndata: {}\n\n" if reason == "scope_changed" else ""
    return f'{resync}event: end\ndata: {{"reason": "{reason}"}}\n\n'


async def event_stream(
    bus: LiveBus,
    *,
    last_event_id: int | None,
    visible: Callable[[LiveEvent], bool],
    is_disconnected: Callable[[], object],
    keepalive_s: float = KEEPALIVE_S,
    guard: StreamGuard | None = None,
) -> AsyncIterator[str]:
    """Yield SSE text: a resync notice if needed, buffered events after ``last_event_id``, then live ones.

    Events are delivered at most once per connection and in id order, so a reconnect with Last-Event-ID
    neither duplicates nor misses anything still in the bus buffer. With a ``guard``, the stream re-checks
    its caller at each keepalive, at least every ``keepalive_s`` while events flow, and at once when an
    ``access`` event names them; it ends (``event: end``) when the guard says so. Control events are
    consumed here and never sent.
    """
    subscription = bus.subscribe(last_event_id)
    delivered = last_event_id if last_event_id is not None and last_event_id >= 0 else 0
    next_check = time.monotonic() + keepalive_s

    async def ending() -> str | None:
        nonlocal next_check
        next_check = time.monotonic() + keepalive_s
        return None if guard is None else await guard.verdict()

    try:
        yield f"retry: {RETRY_MS}\n\n"
        if subscription.needs_resync:
            # The client missed events we no longer have: tell it to reload the incident list.
            yield f"id: {bus.last_id}\nevent: resync\ndata: {{}}\n\n"
            delivered = bus.last_id
        pending = subscription.replay
        while True:
            if pending and guard is not None and time.monotonic() >= next_check:
                reason = await ending()
                if reason is not None:
                    yield end_frames(reason)
                    return
            chunks = []
            for event in pending:
                if event.id <= delivered:
                    continue
                delivered = event.id
                if event.event == ACCESS_EVENT:
                    if guard is not None and guard.concerns(event):
                        # Everything before the change was published while the caller still had access.
                        reason = await ending()
                        if reason is not None:
                            chunks.append(end_frames(reason))
                            yield "".join(chunks)
                            return
                    continue
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
                reason = await ending()
                if reason is not None:
                    yield end_frames(reason)
                    return
                yield ": keepalive\n\n"
    finally:
        bus.unsubscribe(subscription)


async def _call(check: Callable[[], object]) -> bool:
    result = check()
    if hasattr(result, "__await__"):
        result = await result
    return bool(result)
