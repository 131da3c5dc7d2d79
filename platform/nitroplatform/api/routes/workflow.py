"""The officer's steps on an incident: claim ("on my way"), arrive, outcome; plus the outcome vocabulary.

Officers act only on incidents of cameras in their teams' areas; coordinators and admins may act on any
(e.g. to close an incident an officer left open).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from nitroplatform.api.deps import SessionDep
from nitroplatform.auth.deps import AuthUser, CurrentUser, Role, require_roles
from nitroplatform.incidents.publish import IncidentPublisher
from nitroplatform.people.timeutil import utcnow
from nitroplatform.workflow import service
from nitroplatform.workflow.outcomes import OutcomeCategoriesOut, OutcomeIn, categories

router = APIRouter(prefix="/api/v1", tags=["workflow"])

Responder = Annotated[AuthUser, Depends(require_roles(Role.officer, Role.coordinator, Role.admin))]


class StepOut(BaseModel):
    """The incident's state after a step, and when the step was recorded."""

    incident_id: uuid.UUID
    state: str
    at: datetime


def _announce(request: Request, db: SessionDep, incident_id: uuid.UUID) -> None:
    # The incident changed in this request: tell SSE clients and listeners (push updates) after the commit.
    publisher: IncidentPublisher | None = getattr(request.app.state, "incident_publisher", None)
    if publisher is None:
        db.commit()
        return
    publisher.announce(db, incident_ids=[incident_id])


def _out(result: service.StepResult) -> StepOut:
    return StepOut(incident_id=result.incident_id, state=result.state, at=result.at)


@router.post("/incidents/{incident_id}/claim", response_model=StepOut)
def claim(incident_id: uuid.UUID, request: Request, user: Responder, db: SessionDep) -> StepOut:
    """Claim an open incident ("on my way"). 409 if someone else was first or it is closed."""
    result = service.claim(db, incident_id=incident_id, user=user, at=utcnow())
    _announce(request, db, incident_id)
    return _out(result)


@router.post("/incidents/{incident_id}/arrive", response_model=StepOut)
def arrive(incident_id: uuid.UUID, request: Request, user: Responder, db: SessionDep) -> StepOut:
    """Record arrival on site (only the claiming officer, or a coordinator/admin)."""
    result = service.arrive(db, incident_id=incident_id, user=user, at=utcnow())
    _announce(request, db, incident_id)
    return _out(result)


@router.post("/incidents/{incident_id}/outcome", response_model=StepOut)
def outcome(incident_id: uuid.UUID, body: OutcomeIn, request: Request, user: Responder, db: SessionDep) -> StepOut:
    """Record the outcome (categories only; a ``remark`` or any other extra field is refused) and close it."""
    result = service.record_outcome(db, incident_id=incident_id, user=user, body=body, at=utcnow())
    _announce(request, db, incident_id)
    return _out(result)


@router.get("/outcome-categories", response_model=OutcomeCategoriesOut)
def outcome_categories(_user: CurrentUser) -> OutcomeCategoriesOut:
    """Outcomes and the look-alike categories for false alarms."""
    return categories()
