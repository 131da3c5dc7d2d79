"""Find the stored incidents a batch of alerts belongs to, with one indexed query per batch."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

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


# A join driven by the batch's keys: SQLite cannot use the (camera_id, device_incident_id) unique index for a
# row-value ``IN (VALUES ...)`` and scanned the whole incidents table once per batch (a cost that grows with
# retention); driving the join from the keys probes the index once per key. SQLite gets the keys as a VALUES list
# (columns column1, column2); PostgreSQL as two arrays, so psycopg parses and caches a two-parameter statement
# instead of re-parsing one with a thousand placeholders on every batch.
_SELECTED = """SELECT i.camera_id, i.device_incident_id, i.id, i.confidence, i.confidence_max, i.people_involved,
 i.zone, i.last_phase"""
_SQLITE_SQL = (
    _SELECTED
    + """
FROM (VALUES {values}) AS k JOIN incidents AS i ON i.camera_id = k.column1 AND i.device_incident_id = k.column2"""
)
_POSTGRESQL_SQL = (
    _SELECTED
    + """
FROM unnest({p}::text[], {p}::uuid[]) AS k(camera_id, device_incident_id)
JOIN incidents AS i ON i.camera_id = k.camera_id AND i.device_incident_id = k.device_incident_id"""
)


def existing_incidents(
    session: Session, writer: BulkWriter, keys: set[tuple[str, uuid.UUID]]
) -> dict[tuple[str, uuid.UUID], ExistingIncident]:
    """The stored incidents among ``keys`` (camera id, device incident id), read in one indexed query."""
    stored_keys = {(camera_id, writer.uuid(device_id)): (camera_id, device_id) for camera_id, device_id in keys}
    params: list[Any]
    if writer.sqlite:
        template = _SQLITE_SQL.replace("{values}", ", ".join(["({p}, {p})"] * len(stored_keys)))
        params = [value for stored in stored_keys for value in stored]
    else:
        template = _POSTGRESQL_SQL
        params = [[camera_id for camera_id, _ in stored_keys], [device_id for _, device_id in stored_keys]]
    existing: dict[tuple[str, uuid.UUID], ExistingIncident] = {}
    for camera_id, device_id, incident_id, *values in writer.fetch(session.connection(), template, params):
        existing[stored_keys[(camera_id, device_id)]] = ExistingIncident(writer.read_uuid(incident_id), *values)
    return existing
