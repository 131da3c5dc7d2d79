"""Read-side queries on incidents for the API and the live page."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from nitroplatform.api.errors import NotFoundError
from nitroplatform.db.models import Incident


def get_incident(session: Session, *, incident_id: uuid.UUID) -> Incident:
    """The incident ``incident_id``.

    Raises:
        NotFoundError: if there is none.
    """
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFoundError(f"incident {incident_id} does not exist")
    return incident


def list_incidents(
    session: Session,
    *,
    state: str = "open",
    camera_ids: set[str] | None = None,
    zone: str | None = None,
    limit: int = 50,
    before: datetime | None = None,
) -> list[Incident]:
    """Incidents newest first. ``state`` is open (not closed: open, claimed, arrived), closed, or all.

    ``camera_ids`` restricts to those cameras (None: all).
    """
    query = select(Incident).order_by(Incident.opened_at.desc(), Incident.id.desc()).limit(limit)
    if state == "open":
        query = query.where(Incident.state != "closed")
    elif state == "closed":
        query = query.where(Incident.state == "closed")
    if camera_ids is not None:
        query = query.where(Incident.camera_id.in_(camera_ids))
    if zone is not None:
        query = query.where(Incident.zone == zone)
    if before is not None:
        query = query.where(Incident.opened_at < before)
    return list(session.scalars(query))
