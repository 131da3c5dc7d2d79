"""``access`` events: tell open live streams that some users' access changed, right after the commit.

``AccessAnnouncer.install`` hooks the app's sessionmaker (in ``create_app``, the one composition root):

* before a commit, on PostgreSQL with fan-out on, the marked users go out as ``NOTIFY`` in the same
  transaction, so streams held by other workers hear of it exactly when the change is committed;
* after the commit, the same event is published on this worker's bus. The bus keeps its order, so an
  incident published after a logout reaches a stream only after the stream has handled the logout.

The event carries user ids only and is never sent to a browser: the stream consumes it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from nitroplatform.auth.access_marks import pending_access_changes, take_access_changes
from nitroplatform.live.bus import EventDraft, LiveBus, LiveEvent
from nitroplatform.live.pg_notify import notify_in_transaction

ACCESS_EVENT = "access"


def access_event(user_ids: Iterable[int]) -> EventDraft:
    """The bus event for these users."""
    return EventDraft(event=ACCESS_EVENT, data=json.dumps({"users": sorted(set(user_ids))}), camera_id=None)


def users_of(live_event: LiveEvent) -> frozenset[int]:
    """The user ids an ``access`` event names (empty for any other event or a malformed one)."""
    if live_event.event != ACCESS_EVENT:
        return frozenset()
    try:
        users = json.loads(live_event.data).get("users", [])
    except (ValueError, AttributeError):
        return frozenset()
    return frozenset(user for user in users if isinstance(user, int))


class AccessAnnouncer:
    """Publishes the access marks of committed transactions (see the module docstring)."""

    def __init__(self, *, bus: LiveBus, pg_channel: str | None = None, pg_origin: str = "") -> None:
        """Args: bus: this worker's live bus; pg_channel/pg_origin: NOTIFY fan-out, as the incident publisher."""
        self._bus = bus
        self._pg_channel = pg_channel
        self._pg_origin = pg_origin

    def install(self, factory: sessionmaker[Session]) -> None:
        """Hook every session ``factory`` makes."""
        event.listen(factory, "before_commit", self._before_commit)
        event.listen(factory, "after_commit", self._after_commit)
        event.listen(factory, "after_rollback", self._after_rollback)

    def _before_commit(self, session: Session) -> None:
        users = pending_access_changes(session)
        if users and self._pg_channel is not None:
            notify_in_transaction(
                session, channel=self._pg_channel, origin=self._pg_origin, drafts=[access_event(users)]
            )

    def _after_commit(self, session: Session) -> None:
        users = take_access_changes(session)
        if users:
            self._bus.publish([access_event(users)])

    @staticmethod
    def _after_rollback(session: Session) -> None:
        take_access_changes(session)
