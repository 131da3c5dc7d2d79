"""Find the stored incidents a batch of alerts belongs to, with one indexed query per batch."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from nitroplatform.db.bulk import BulkWriter


@dataclass(frozen=True)
class ExistingIncident:
    """The columns of a stored incident that grouping compares against."""

    id: uuid.UUID
    confidence: float
    confidence_max: float
    people_involved: str
    zone: str | None
    last_phase: str


# A join against the batch's keys as a VALUES list: SQLite cannot use the (camera_id, device_incident_id)
# unique index for a row-value ``IN (VALUES ...)`` and scanned the whole incidents table once per batch (a cost
# that grows with retention); driving the join from the VALUES rows probes the index once per key on SQLite and
# PostgreSQL alike. Both name VALUES columns column1, column2.
_EXISTING_SQL = """SELECT i.camera_id, i.device_incident_id, i.id, i.confidence, i.confidence_max, i.people_involved,
 i.zone, i.last_phase
FROM (VALUES {values}) AS k JOIN incidents AS i ON i.camera_id = k.column1 AND i.device_incident_id = k.column2"""


def existing_incidents(
    session: Session, writer: BulkWriter, keys: set[tuple[str, uuid.UUID]]
) -> dict[tuple[str, uuid.UUID], ExistingIncident]:
    """The stored incidents among ``keys`` (camera id, device incident id), read in one indexed query."""
    stored_keys = {(camera_id, writer.uuid(device_id)): (camera_id, device_id) for camera_id, device_id in keys}
    template = _EXISTING_SQL.replace("{values}", ", ".join(["({p}, {p})"] * len(stored_keys)))
    params = [value for stored in stored_keys for value in stored]
    existing: dict[tuple[str, uuid.UUID], ExistingIncident] = {}
    for camera_id, device_id, incident_id, *values in writer.fetch(session.connection(), template, params):
        existing[stored_keys[(camera_id, device_id)]] = ExistingIncident(writer.read_uuid(incident_id), *values)
    return existing
