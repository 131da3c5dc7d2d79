"""The notification path: incident changes in, pages and web pushes out, escalation on a timer.

``Notifier.on_change`` is registered with ``nitroplatform.incidents.service.register_change_listener``;
it only queues, because listeners run on the ingest thread. A worker thread routes each change
(``routing.engine.decide``), records the page, and pushes to the recipients' subscriptions. Another
thread runs ``escalate_due`` every ``escalation_interval_s``. Tests call ``handle`` and ``escalate``
directly, without threads.
"""

from __future__ import annotations

import logging
import queue as stdlib_queue
import threading
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from py_vapid import Vapid02
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from nitroplatform.audit.chain import record
from nitroplatform.incidents.service import IncidentChange
from nitroplatform.people.config import PeopleSettings
from nitroplatform.people.dispatch_models import Page, PushSubscription
from nitroplatform.people.timeutil import utcnow
from nitroplatform.push.payload import PushPayload, incident_payload
from nitroplatform.push.sender import Delivery, send_one
from nitroplatform.push.vapid import load_or_create_vapid
from nitroplatform.routing.engine import (
    Decision,
    IncidentFacts,
    RoutingPolicy,
    coordinators,
    decide,
    record_page,
    team_officers,
)
from nitroplatform.routing.escalation import escalate_due
from nitroplatform.routing.offline import OfflineChanges, check_offline

logger = logging.getLogger(__name__)

_STOP = object()
_REMEMBERED_INCIDENTS = 10_000


@dataclass
class HandleResult:
    """What handling one change did (for tests and logs)."""

    decision: Decision | None = None
    deliveries: list[Delivery] = field(default_factory=list)


class Notifier:
    """Routes incident changes to officers and pushes to their browsers."""

    def __init__(
        self, *, factory: sessionmaker[Session], data_dir: Path, policy: PeopleSettings, offline_after_s: float = 180.0
    ) -> None:
        """Args: factory: sessions; data_dir: where the VAPID key lives; policy: the tunables;
        offline_after_s: heartbeat silence after which a camera is flagged offline (core settings)."""
        self._factory = factory
        self._offline_after_s = offline_after_s
        self._known_offline: set[str] = set()
        self._data_dir = data_dir
        self._policy = policy
        self._routing = RoutingPolicy(
            timezone=policy.timezone,
            cooldown_camera_s=policy.push_cooldown_camera_s,
            cooldown_global_s=policy.push_cooldown_global_s,
        )
        self._vapid: Vapid02 | None = None
        self._queue: stdlib_queue.Queue[object] = stdlib_queue.Queue()
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        # Last (state, people_involved) pushed per incident: updates that change neither are not re-pushed.
        self._pushed: OrderedDict[uuid.UUID, tuple[str, str]] = OrderedDict()

    @property
    def vapid(self) -> Vapid02:
        """The VAPID key, loaded (or created) on first use."""
        if self._vapid is None:
            self._vapid = load_or_create_vapid(self._data_dir)
        return self._vapid

    def on_change(self, change: IncidentChange) -> None:
        """Change listener: queue only, never block the committing thread."""
        self._queue.put(change)

    def handle(self, change: IncidentChange, *, now: datetime | None = None) -> HandleResult:
        """Route one change and push; opened incidents are paged, state changes update the notification."""
        at = now or utcnow()
        incident = change.incident
        facts = IncidentFacts(incident_id=incident.id, camera_id=incident.camera_id, zone=incident.zone)
        with self._factory() as db:
            if change.kind == "opened":
                decision = decide(db, facts=facts, at=at, policy=self._routing)
                record_page(db, facts=facts, decision=decision, at=at)
                if decision.held_reason is None:
                    record(
                        db,
                        actor="system:router",
                        action="incident.page",
                        target_type="incident",
                        target_id=str(incident.id),
                        detail={"team_id": decision.team_id, "recipients": len(decision.user_ids)},
                    )
                db.commit()
                if decision.held_reason is not None:
                    logger.info("page for incident %s held back: %s", incident.id, decision.held_reason)
                    return HandleResult(decision=decision)
                user_ids = decision.user_ids
            else:
                key = (str(incident.state), incident.people_involved)
                if self._pushed.get(incident.id) == key:
                    return HandleResult()
                user_ids = self._previous_recipients(db, incident_id=incident.id)
                decision = None
                if not user_ids:
                    return HandleResult()
            payload = incident_payload(
                incident_id=incident.id,
                state=str(incident.state),
                camera_id=incident.camera_id,
                zone=incident.zone,
                people_involved=incident.people_involved,
                escalated=False,
            )
            deliveries = self._push(
                db, user_ids=user_ids, payload_state=(str(incident.state), incident.people_involved), payload=payload
            )
            return HandleResult(decision=decision, deliveries=deliveries)

    def escalate(self, *, now: datetime | None = None) -> list[Delivery]:
        """Run one escalation pass and push to the new recipients."""
        at = now or utcnow()
        deliveries: list[Delivery] = []
        with self._factory() as db:
            escalations = escalate_due(db, now=at, policy=self._routing)
            db.commit()
            for item in escalations:
                payload = incident_payload(
                    incident_id=item.facts.incident_id,
                    state="open",
                    camera_id=item.facts.camera_id,
                    zone=item.facts.zone,
                    people_involved=item.people_involved,
                    escalated=True,
                )
                deliveries += self._push(
                    db, user_ids=item.decision.user_ids, payload=payload, payload_state=("open", item.people_involved)
                )
        return deliveries

    def check_cameras(self, *, now: datetime | None = None) -> OfflineChanges:
        """Flag cameras that went offline or came back since the last check."""
        with self._factory() as db:
            changes = check_offline(
                db, now=now or utcnow(), offline_after_s=self._offline_after_s, known_offline=self._known_offline
            )
            db.commit()
        return changes

    def _previous_recipients(self, db: Session, *, incident_id: uuid.UUID) -> tuple[int, ...]:
        pages = db.scalars(select(Page).where(Page.incident_id == incident_id, Page.held_reason.is_(None))).all()
        users: list[int] = []
        for page in pages:
            users += team_officers(db, team_id=page.team_id) if page.team_id is not None else coordinators(db)
        return tuple(dict.fromkeys(users))

    def _push(
        self, db: Session, *, user_ids: Sequence[int], payload_state: tuple[str, str], payload: PushPayload
    ) -> list[Delivery]:
        self._pushed[payload.incident_id] = payload_state
        self._pushed.move_to_end(payload.incident_id)
        while len(self._pushed) > _REMEMBERED_INCIDENTS:
            self._pushed.popitem(last=False)
        if not user_ids:
            return []
        subscriptions = db.scalars(select(PushSubscription).where(PushSubscription.user_id.in_(user_ids))).all()
        deliveries = [
            send_one(
                db,
                subscription=subscription,
                payload=payload,
                vapid=self.vapid,
                policy=self._policy,
            )
            for subscription in subscriptions
        ]
        db.commit()
        return deliveries

    # Threads -----------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the routing worker and the escalation timer."""
        if self._threads:
            return
        self._stopping.clear()
        for target, name in ((self._work, "nitrosignal-notifier"), (self._tick, "nitrosignal-escalation")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop both threads, finishing the change being handled."""
        self._stopping.set()
        self._queue.put(_STOP)
        for thread in self._threads:
            thread.join(timeout_s)
        self._threads.clear()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if isinstance(item, IncidentChange):
                try:
                    self.handle(item)
                except Exception:
                    logger.exception("routing incident %s failed", item.incident.id)

    def _tick(self) -> None:
        while not self._stopping.wait(self._policy.escalation_interval_s):
            try:
                self.escalate()
            except Exception:
                logger.exception("escalation pass failed")
            try:
                self.check_cameras()
            except Exception:
                logger.exception("offline check failed")
