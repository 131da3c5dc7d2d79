"""Announce committed incident changes: the live bus (SSE), PostgreSQL NOTIFY, and change listeners."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.orm import Session

from nitroplatform.incidents.service import INCIDENT_EVENT, IncidentChange, load_changes, notify_listeners
from nitroplatform.live.bus import EventDraft, LiveBus
from nitroplatform.live.pg_notify import notify_in_transaction
from nitroplatform.live.relay import RelayPublisher


class IncidentPublisher:
    """Turns incident changes into live events.

    Use :meth:`stage` inside the transaction (on PostgreSQL it queues NOTIFY, which PostgreSQL delivers only
    on commit) and :meth:`deliver` after the commit. Route handlers that change incidents (claim, arrive,
    outcome) call :meth:`announce` after their own commit.
    """

    def __init__(
        self, *, bus: LiveBus, pg_channel: str | None = None, pg_origin: str = "", relay: RelayPublisher | None = None
    ) -> None:
        """Args: bus: this process's live bus; pg_channel: NOTIFY channel when fan-out is on; pg_origin: worker id."""
        self.bus = bus
        self.pg_channel = pg_channel
        self.pg_origin = pg_origin
        self.relay = relay

    def stage(self, session: Session, changes: Sequence[IncidentChange]) -> list[EventDraft]:
        """Serialise changes once, and queue them for other workers inside the open transaction."""
        drafts = [
            EventDraft(
                event=INCIDENT_EVENT, data=change.incident.model_dump_json(), camera_id=change.incident.camera_id
            )
            for change in changes
        ]
        if drafts and self.pg_channel is not None:
            notify_in_transaction(session, channel=self.pg_channel, origin=self.pg_origin, drafts=drafts)
        return drafts

    def deliver(self, drafts: Sequence[EventDraft], changes: Sequence[IncidentChange]) -> int:
        """After the commit: publish on the local bus and call change listeners. Returns listener failures."""
        self.bus.publish(drafts)
        if self.relay is not None:
            self.relay.send(drafts)
        return notify_listeners(changes)

    def announce(self, session: Session, *, incident_ids: Sequence[uuid.UUID]) -> list[IncidentChange]:
        """Re-read incidents that a request changed and committed, and announce them everywhere."""
        changes = load_changes(session, ids=incident_ids, new_ids=set())
        drafts = self.stage(session, changes)
        session.commit()
        self.deliver(drafts, changes)
        return changes
