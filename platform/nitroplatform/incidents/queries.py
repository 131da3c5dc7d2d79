"""Read-side queries on incidents for the API and the live page."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, select
from sqlalchemy.orm import Session

from nitroplatform.api.errors import NotFoundError
from nitroplatform.db.models import incident_table
from nitroplatform.people.dispatch_models import IncidentClaim
from nitroplatform.people.models import User


def incident_view() -> Select[Any]:
    """Incidents with who claimed them and when, as :class:`~nitroplatform.api.schemas.IncidentOut` reads them.

    Outer joins on primary keys: an unclaimed incident, or one whose officer's account was deleted, still
    comes back, with empty claim fields.
    """
    return (
        select(
            incident_table,
            User.username.label("claimed_by"),
            IncidentClaim.claimed_at,
            IncidentClaim.arrived_at,
        )
        .outerjoin(IncidentClaim.__table__, IncidentClaim.incident_id == incident_table.c.id)
        .outerjoin(User.__table__, User.id == IncidentClaim.user_id)
    )


def view_incidents(session: Session, ids: Sequence[uuid.UUID]) -> list[Row[Any]]:
    """The incidents ``ids`` (those that exist, in no particular order) as :func:`incident_view` rows."""
    if not ids:
        return []
    return list(session.execute(incident_view().where(incident_table.c.id.in_(list(ids)))).all())


def get_incident(session: Session, *, incident_id: uuid.UUID) -> Row[Any]:
    """The incident ``incident_id`` as an :func:`incident_view` row.

    Raises:
        NotFoundError: if there is none.
    """
    rows = view_incidents(session, [incident_id])
    if not rows:
        raise NotFoundError(f"incident {incident_id} does not exist")
    return rows[0]


def list_incidents(
    session: Session,
    *,
    state: str = "open",
    camera_ids: set[str] | None = None,
    zone: str | None = None,
    limit: int = 50,
    before: datetime | None = None,
) -> list[Row[Any]]:
    """Incidents newest first, as :func:`incident_view` rows.

    ``state`` is open (not closed: open, claimed, arrived), closed, or all. ``camera_ids`` restricts to those
    cameras (None: all).
    """
    table = incident_table
    query = incident_view().order_by(table.c.opened_at.desc(), table.c.id.desc()).limit(limit)
    if state == "open":
        query = query.where(table.c.state != "closed")
    elif state == "closed":
        query = query.where(table.c.state == "closed")
    if camera_ids is not None:
        query = query.where(table.c.camera_id.in_(camera_ids))
    if zone is not None:
        query = query.where(table.c.zone == zone)
    if before is not None:
        query = query.where(table.c.opened_at < before)
    return list(session.execute(query).all())
