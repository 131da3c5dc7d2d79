"""Fan live events out between platform workers with PostgreSQL's LISTEN/NOTIFY.

The worker that commits a change sends ``NOTIFY`` in the same transaction, so other workers hear of it only
once it is committed. Each worker listens on one dedicated connection and republishes what others sent on
its own bus (it skips its own notifications, which it already published locally).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Sequence

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from nitroplatform.live.bus import EventDraft, LiveBus

logger = logging.getLogger(__name__)

CHANNEL_PREFIX = "nitrosignal_live"
MAX_PAYLOAD_BYTES = 7900  # PostgreSQL's NOTIFY payload limit is 8000 bytes


# The batch's payloads travel as one JSON array parameter: json.dumps is C, whereas psycopg escapes every element
# of a text[] parameter with a regex in Python (a third of the ingest thread's time at 3,000 events/s).
_NOTIFY_ALL = text(
    "SELECT pg_notify(:channel, k.payload)"
    " FROM json_array_elements_text(CAST(:payloads AS json)) WITH ORDINALITY AS k(payload, position)"
    " ORDER BY k.position"
)


def _payload(origin: str, draft: EventDraft) -> str:
    return json.dumps({"o": origin, "e": draft.event, "c": draft.camera_id, "d": draft.data}, separators=(",", ":"))


def channel_for(url: str) -> str:
    """The NOTIFY channel of one platform database.

    Channels are per PostgreSQL database, not per schema; the name includes the database and its
    ``options`` (search_path), so platforms sharing a server (or parallel test schemas) never cross-talk.
    """
    parsed = make_url(url)
    identity = f"{parsed.database}|{parsed.query.get('options', '')}"
    return f"{CHANNEL_PREFIX}_{hashlib.sha1(identity.encode()).hexdigest()[:10]}"


def notify_in_transaction(session: Session, *, channel: str, origin: str, drafts: Sequence[EventDraft]) -> None:
    """Queue one NOTIFY per event in the session's open transaction.

    Raises:
        ValueError: if an event is too large for NOTIFY (our incident events are about 600 bytes).
    """
    payloads = []
    for draft in drafts:
        payload = _payload(origin, draft)
        if len(payload.encode()) > MAX_PAYLOAD_BYTES:
            raise ValueError(f"live event of {len(payload)} bytes exceeds the NOTIFY limit")
        payloads.append(payload)
    if payloads:
        # One statement for the whole batch (an executemany cost a round of driver work per event); ORDER BY the
        # array position keeps the events in order, as PostgreSQL delivers notifications in the order sent.
        session.execute(_NOTIFY_ALL, {"channel": channel, "payloads": json.dumps(payloads)})


def libpq_conninfo(url: str) -> str:
    """A libpq connection string for a ``postgresql+psycopg://`` SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class PgListener:
    """A thread that LISTENs on the live channel and republishes other workers' events on ``bus``."""

    def __init__(self, *, url: str, bus: LiveBus, origin: str) -> None:
        """Args: url: SQLAlchemy URL of the database; bus: the local bus; origin: this worker's id."""
        self._conninfo = libpq_conninfo(url)
        self._channel = channel_for(url)
        self._bus = bus
        self._origin = origin
        self._stop = threading.Event()
        self.listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-live-listener", daemon=True)

    def start(self) -> None:
        """Start listening; :attr:`listening` is set once LISTEN is active."""
        self._thread.start()

    def stop(self) -> None:
        """Stop and wait for the thread."""
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as connection:
                    connection.execute(f"LISTEN {self._channel}")
                    self.listening.set()
                    while not self._stop.is_set():
                        for notification in connection.notifies(timeout=0.5, stop_after=256):
                            self._republish(notification.payload)
            except psycopg.Error:
                self.listening.clear()
                logger.exception("live listener lost its PostgreSQL connection; reconnecting in 1 s")
                self._stop.wait(1.0)

    def _republish(self, payload: str) -> None:
        try:
            message = json.loads(payload)
        except json.JSONDecodeError:
            logger.error("ignoring a malformed live notification: %.80r", payload)
            return
        if message.get("o") == self._origin:
            return
        self._bus.publish([EventDraft(event=message["e"], data=message["d"], camera_id=message.get("c"))])
