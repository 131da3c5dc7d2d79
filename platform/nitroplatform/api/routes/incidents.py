"""Incidents: list and detail, scoped to the cameras the caller may see.

Both are audited: who saw what. The detail view logs the incident; the list logs one ``incident.list``
entry per request with the filters, the caller's scope and how many incidents it returned (the incidents
themselves follow from those while they are kept).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from nitroplatform.api.deps import SessionDep
from nitroplatform.api.errors import NotFoundError
from nitroplatform.api.schemas import ErrorOut, IncidentOut, IncidentPage
from nitroplatform.audit.chain import record
from nitroplatform.auth.deps import CurrentUser
from nitroplatform.auth.scope import can_see_camera, visible_camera_ids
from nitroplatform.db.models import Camera
from nitroplatform.incidents.queries import get_incident, list_incidents

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"], responses={401: {"model": ErrorOut}})


@router.get("", response_model=IncidentPage, summary="List incidents, newest first")
def read_incidents(
    user: CurrentUser,
    session: SessionDep,
    state: Annotated[Literal["open", "closed", "all"], Query(description="open = not closed yet")] = "open",
    camera_id: Annotated[str | None, Query(max_length=64, description="Only this camera.")] = None,
    zone: Annotated[str | None, Query(max_length=48, description="Only this zone.")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Page size.")] = 50,
    before: Annotated[datetime | None, Query(description="Only incidents opened before this time.")] = None,
) -> IncidentPage:
    """Incidents of the cameras the caller may see."""
    visible = visible_camera_ids(user, session)
    if camera_id is not None:
        visible = {camera_id} if visible is None or camera_id in visible else set()
    rows = list_incidents(session, state=state, camera_ids=visible, zone=zone, limit=limit, before=before)
    items = [IncidentOut.model_validate(row) for row in rows]
    next_before = items[-1].opened_at if len(items) == limit else None
    record(
        session,
        actor=user.username,
        action="incident.list",
        target_type="incident_list",
        target_id=state,
        detail={
            **_known_filters(session, camera_id=camera_id, zone=zone),
            "before": before.isoformat() if before is not None else None,
            "scope": "all" if visible is None else "cameras",
            "count": len(items),
        },
    )
    session.commit()
    return IncidentPage(items=items, next_before=next_before)


def _known_filters(session: Session, *, camera_id: str | None, zone: str | None) -> dict[str, str | None]:
    """The filters as the audit log keeps them: a configured camera or zone by name, anything else as ``other``.

    Audit entries are kept for good, so a typed value that names nothing configured is not copied into one.
    """
    zones: set[str] = set()
    if zone is not None:
        for camera_zones in session.scalars(select(Camera.zones)):
            zones.update(str(name) for name in camera_zones or ())
    known_camera = camera_id is not None and session.get(Camera, camera_id) is not None
    return {
        "camera_id": None if camera_id is None else camera_id if known_camera else "other",
        "zone": None if zone is None else zone if zone in zones else "other",
    }


@router.get("/{incident_id}", response_model=IncidentOut, responses={404: {"model": ErrorOut}}, summary="One incident")
def read_incident(incident_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> IncidentOut:
    """The incident, if the caller may see its camera (404 otherwise, so ids don't leak)."""
    incident = get_incident(session, incident_id=incident_id)
    if not can_see_camera(user, session, incident.camera_id):
        raise NotFoundError(f"incident {incident_id} does not exist")
    result = IncidentOut.model_validate(incident)
    # Who saw what is part of the accountability the audit log provides (issue 5 §8).
    record(session, actor=user.username, action="incident.view", target_type="incident", target_id=str(incident_id))
    session.commit()
    return result
