"""Group alerts into incidents (new/update/end), auto-close expired ones, and publish changes.

The ingest calls :func:`apply_alerts` once per drained batch, inside the batch's transaction, with plain
values (no ORM objects on the hot path). State transitions are written as conditional SQL, so an officer's
claim committed by another worker in the meantime is never overwritten: ingest and the sweeper only close
incidents that are still *open*.

Other components react to changes without editing this module::

    from nitroplatform.incidents.service import register_change_listener
    register_change_listener(my_callback)   # called with an IncidentChange after each commit

Listeners run on the thread that committed (the ingest thread for device alerts): they must return quickly
and hand slow work (web push) to their own queue.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from nitroplatform.api.schemas import CloseReason, IncidentOut, IncidentState
from nitroplatform.db.bulk import BulkWriter
from nitroplatform.db.models import UTCDateTime, incident_table
from nitroplatform.incidents.lookup import existing_incidents
from nitroplatform.incidents.queries import view_incidents

logger = logging.getLogger(__name__)

ChangeKind = Literal["opened", "updated", "closed"]
INCIDENT_EVENT = "incident"


@dataclass(frozen=True)
class AlertFacts:
    """The fields of one accepted alert that matter for grouping (already validated by the wire contract)."""

    camera_id: str
    device_incident_id: uuid.UUID
    phase: str
    zone: str | None
    confidence: float
    people_involved: str
    model_id: str
    model_version: str
    model_sha256: str
    expires_at: datetime


@dataclass(frozen=True)
class IncidentChange:
    """A committed change to an incident, as listeners and the live stream see it."""

    kind: ChangeKind
    incident: IncidentOut


@dataclass(frozen=True)
class GroupingResult:
    """Which incident each alert joined, and which incidents changed in a way worth announcing."""

    incident_ids: list[uuid.UUID]
    changed: list[IncidentChange]


ChangeListener = Callable[[IncidentChange], None]
_listeners: list[ChangeListener] = []
_listeners_lock = threading.Lock()


def register_change_listener(listener: ChangeListener) -> None:
    """Call ``listener`` with every committed incident change (after the commit)."""
    with _listeners_lock:
        if listener not in _listeners:
            _listeners.append(listener)


def unregister_change_listener(listener: ChangeListener) -> None:
    """Stop calling ``listener``."""
    with _listeners_lock:
        if listener in _listeners:
            _listeners.remove(listener)


def notify_listeners(changes: Sequence[IncidentChange]) -> int:
    """Call every registered listener for each change; returns the number of listener failures.

    A failing listener is logged with its traceback and counted, but it cannot stop the ingest.
    """
    with _listeners_lock:
        listeners = list(_listeners)
    failures = 0
    for change in changes:
        for listener in listeners:
            try:
                listener(change)
            except Exception:
                failures += 1
                logger.exception("incident change listener %r failed for incident %s", listener, change.incident.id)
    return failures


@dataclass
class _Working:
    """An incident's state while a batch is folded into it."""

    id: uuid.UUID
    is_new: bool
    facts: AlertFacts
    confidence_max: float
    added: int
    ended: bool
    relevant: bool


def _relevant_change(previous: Any, facts: AlertFacts) -> bool:
    # Frigate's lesson (#3965, update suppression): only announce when something an officer cares about moved.
    return bool(
        previous.confidence != facts.confidence
        or previous.people_involved != facts.people_involved
        or (facts.zone is not None and previous.zone != facts.zone)
        or previous.last_phase != facts.phase
    )


# Typed explicitly: inside CASE expressions SQLAlchemy cannot infer the column type of a bound value.
_NOW = bindparam("b_now", type_=UTCDateTime())

# Conditional transitions in SQL, evaluated against the row as committed: an officer's claim made meanwhile
# by another worker is never overwritten. Positional parameters, in order: confidence, confidence_max,
# people_involved, zone, expires_at, last_phase, model_id, model_version, model_sha256, now, added,
# ended, now, ended, ended, ended, now, ended, ended, ended, id.
_UPDATE_SQL = """UPDATE incidents SET
 confidence = {p}, confidence_max = {p}, people_involved = {p}, zone = {p}, expires_at = {p}, last_phase = {p},
 model_id = {p}, model_version = {p}, model_sha256 = {p}, updated_at = {p}, alert_count = alert_count + {p},
 ended_at = CASE WHEN {p} AND ended_at IS NULL THEN {p} ELSE ended_at END,
 state = CASE WHEN {p} AND state = 'open' THEN 'closed'
              WHEN NOT {p} AND close_reason = 'expired' THEN 'open' ELSE state END,
 closed_at = CASE WHEN {p} AND state = 'open' THEN {p}
                  WHEN NOT {p} AND close_reason = 'expired' THEN NULL ELSE closed_at END,
 close_reason = CASE WHEN {p} AND state = 'open' THEN 'ended'
                     WHEN NOT {p} AND close_reason = 'expired' THEN NULL ELSE close_reason END
WHERE id = {p}"""


def apply_alerts(
    session: Session, *, alerts: Sequence[AlertFacts], now: datetime, writer: BulkWriter | None = None
) -> GroupingResult:
    """Fold a batch of accepted alerts into incidents, inside the caller's transaction.

    A ``new`` (or the first alert seen of an event) opens an incident; ``update`` refreshes it; ``end`` closes
    it if it is still open (a claimed incident stays with its officer, with ``ended_at`` set). An update
    after an auto-close by expiry reopens the incident: the event evidently was not over.

    Returns:
        The incident id of every alert (same order) and the changes to announce after the commit.
    """
    if not alerts:
        return GroupingResult(incident_ids=[], changed=[])
    writer = writer or BulkWriter(session.get_bind().dialect.name)
    existing = existing_incidents(session, writer, {(facts.camera_id, facts.device_incident_id) for facts in alerts})
    working: dict[tuple[str, uuid.UUID], _Working] = {}
    incident_ids: list[uuid.UUID] = []
    for facts in alerts:
        key = (facts.camera_id, facts.device_incident_id)
        current = working.get(key)
        if current is None:
            previous = existing.get(key)
            if previous is None:
                current = _Working(uuid.uuid4(), True, facts, facts.confidence, 0, False, True)
            else:
                current = _Working(
                    previous.id,
                    False,
                    facts,
                    max(previous.confidence_max, facts.confidence),
                    0,
                    False,
                    _relevant_change(previous, facts),
                )
            working[key] = current
        else:
            current.relevant = current.relevant or _relevant_change(_as_previous(current.facts), facts)
            merged_zone = facts.zone if facts.zone is not None else current.facts.zone
            current.facts = _with_zone(facts, merged_zone)
            current.confidence_max = max(current.confidence_max, facts.confidence)
        current.added += 1
        current.ended = current.ended or facts.phase == "end"
        incident_ids.append(current.id)
    created = _write(session, writer=writer, working=working, existing=existing, now=now)
    updated = [item.id for item in working.values() if not item.is_new and (item.relevant or item.ended)]
    changes = [IncidentChange(kind="opened", incident=incident) for incident in created]
    changes.extend(load_changes(session, ids=updated, new_ids=set()))
    return GroupingResult(incident_ids=incident_ids, changed=changes)


def _as_previous(facts: AlertFacts) -> Any:
    return _Previous(facts.confidence, facts.people_involved, facts.zone, facts.phase)


@dataclass(frozen=True)
class _Previous:
    confidence: float
    people_involved: str
    zone: str | None
    last_phase: str


def _with_zone(facts: AlertFacts, zone: str | None) -> AlertFacts:
    if facts.zone == zone:
        return facts
    return AlertFacts(**{**facts.__dict__, "zone": zone})


INCIDENT_INSERT_COLUMNS = (
    "id",
    "camera_id",
    "device_incident_id",
    "zone",
    "state",
    "last_phase",
    "opened_at",
    "updated_at",
    "ended_at",
    "closed_at",
    "close_reason",
    "expires_at",
    "confidence",
    "confidence_max",
    "people_involved",
    "model_id",
    "model_version",
    "model_sha256",
    "alert_count",
)


def _write(
    session: Session,
    *,
    writer: BulkWriter,
    working: dict[tuple[str, uuid.UUID], _Working],
    existing: dict[Any, Any],
    now: datetime,
) -> list[IncidentOut]:
    """Insert new incidents (bulk) and update existing ones (conditional SQL); returns the new ones."""
    created: list[IncidentOut] = []
    inserts: list[tuple[Any, ...]] = []
    updates: list[tuple[Any, ...]] = []
    for key, item in working.items():
        facts = item.facts
        if item.is_new:
            incident = IncidentOut(
                id=item.id,
                camera_id=facts.camera_id,
                device_incident_id=facts.device_incident_id,
                zone=facts.zone,
                state=IncidentState.CLOSED if item.ended else IncidentState.OPEN,
                last_phase=facts.phase,
                opened_at=now,
                updated_at=now,
                ended_at=now if item.ended else None,
                closed_at=now if item.ended else None,
                close_reason=CloseReason.ENDED if item.ended else None,
                expires_at=facts.expires_at,
                confidence=facts.confidence,
                confidence_max=item.confidence_max,
                people_involved=facts.people_involved,
                model_id=facts.model_id,
                model_version=facts.model_version,
                alert_count=item.added,
            )
            created.append(incident)
            inserts.append(
                (
                    writer.uuid(item.id),
                    facts.camera_id,
                    writer.uuid(facts.device_incident_id),
                    facts.zone,
                    incident.state.value,
                    facts.phase,
                    writer.time(now),
                    writer.time(now),
                    writer.time(incident.ended_at),
                    writer.time(incident.closed_at),
                    incident.close_reason.value if incident.close_reason else None,
                    writer.time(facts.expires_at),
                    facts.confidence,
                    item.confidence_max,
                    facts.people_involved,
                    facts.model_id,
                    facts.model_version,
                    facts.model_sha256,
                    item.added,
                )
            )
        else:
            zone = facts.zone if facts.zone is not None else existing[key].zone
            at, ended = writer.time(now), writer.flag(item.ended)
            updates.append(
                (
                    facts.confidence,
                    item.confidence_max,
                    facts.people_involved,
                    zone,
                    writer.time(facts.expires_at),
                    facts.phase,
                    facts.model_id,
                    facts.model_version,
                    facts.model_sha256,
                    at,
                    item.added,
                    ended,
                    at,
                    ended,
                    ended,
                    ended,
                    at,
                    ended,
                    ended,
                    ended,
                    writer.uuid(item.id),
                )
            )
    writer.insert(session.connection(), incident_table, INCIDENT_INSERT_COLUMNS, inserts)
    writer.execute_many(session.connection(), _UPDATE_SQL, updates)
    return created


def load_changes(session: Session, *, ids: Sequence[uuid.UUID], new_ids: set[uuid.UUID]) -> list[IncidentChange]:
    """Read incidents back (inside the transaction) as changes to announce."""
    if not ids:
        return []
    rows = view_incidents(session, ids)
    changes = []
    for row in rows:
        incident = IncidentOut.model_validate(row, from_attributes=True)
        kind: ChangeKind = "opened" if row.id in new_ids else "closed" if row.state == "closed" else "updated"
        changes.append(IncidentChange(kind=kind, incident=incident))
    return changes


def close_expired(session: Session, *, now: datetime) -> list[IncidentChange]:
    """Auto-close open incidents whose ``expires_at`` has passed (the caller commits).

    Safe with several workers sweeping at once: the conditional UPDATE ... RETURNING closes each incident once.
    """
    table = incident_table
    closed_ids = list(
        session.execute(
            update(table)
            .where(table.c.state == "open", table.c.expires_at < _NOW)
            .values(state="closed", close_reason="expired", closed_at=_NOW, updated_at=_NOW)
            .returning(table.c.id),
            {"b_now": now},
        ).scalars()
    )
    changes = load_changes(session, ids=closed_ids, new_ids=set())
    return [IncidentChange("closed", change.incident) for change in changes]
