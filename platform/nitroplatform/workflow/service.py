"""Claim, arrive and outcome as checked state transitions, each timestamped and audited.

Transitions are conditional UPDATEs (``WHERE state = ...``), so two officers claiming at once, or an
officer racing the ingest's auto-close, cannot both win: the loser gets a ConflictError.

    open ──claim──► claimed ──arrive──► arrived
                       │                   │
                       └─────outcome───────┴──► closed (close_reason = outcome)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from nitroplatform.api.errors import ConflictError, NotFoundError
from nitroplatform.audit.chain import record
from nitroplatform.auth.deps import AuthUser, Role
from nitroplatform.auth.scope import can_see_camera
from nitroplatform.db.models import Incident
from nitroplatform.people.dispatch_models import IncidentClaim, IncidentOutcome
from nitroplatform.workflow.outcomes import OutcomeIn

# Who may act for someone else's claim (e.g. a coordinator closing an incident an officer left open).
SUPERVISORS = frozenset({Role.coordinator, Role.admin})

# (step, allowed from-states, to-state)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "claim": (frozenset({"open"}), "claimed"),
    "arrive": (frozenset({"claimed"}), "arrived"),
    "outcome": (frozenset({"claimed", "arrived"}), "closed"),
}


@dataclass(frozen=True)
class StepResult:
    """The incident after a workflow step."""

    incident_id: uuid.UUID
    state: str
    at: datetime


def _load_visible(db: Session, *, incident_id: uuid.UUID, user: AuthUser) -> Incident:
    incident = db.get(Incident, incident_id)
    # An incident the user may not see is reported as missing, so ids of other areas leak nothing.
    if incident is None or not can_see_camera(user, db, incident.camera_id):
        raise NotFoundError(f"no incident {incident_id}")
    return incident


def _transition(db: Session, *, incident: Incident, step: str, at: datetime) -> None:
    allowed, target = TRANSITIONS[step]
    values: dict[str, object] = {"state": target, "updated_at": at}
    if target == "closed":
        values.update(closed_at=at, close_reason="outcome")
    result = db.execute(
        update(Incident).where(Incident.id == incident.id, Incident.state.in_(allowed)).values(**values)
    )
    if getattr(result, "rowcount", 0) != 1:
        db.refresh(incident)
        raise ConflictError(
            f"cannot {step} an incident that is {incident.state} (needs {' or '.join(sorted(allowed))})"
        )
    db.refresh(incident)


def _own_claim(db: Session, *, incident_id: uuid.UUID, user: AuthUser) -> IncidentClaim:
    claim = db.get(IncidentClaim, incident_id)
    if claim is None:
        raise ConflictError("the incident has not been claimed")
    if claim.user_id != user.id and not user.has_any(*SUPERVISORS):
        raise ConflictError("another officer has claimed this incident")
    return claim


def claim(db: Session, *, incident_id: uuid.UUID, user: AuthUser, at: datetime) -> StepResult:
    """Claim an open incident: "on my way". Pages for the same zone are held back while it lasts."""
    incident = _load_visible(db, incident_id=incident_id, user=user)
    _transition(db, incident=incident, step="claim", at=at)
    db.merge(
        IncidentClaim(
            incident_id=incident.id,
            user_id=user.id,
            camera_id=incident.camera_id,
            zone=incident.zone,
            claimed_at=at,
            arrived_at=None,
            finished_at=None,
        )
    )
    db.flush()
    record(
        db,
        actor=user.username,
        action="incident.claim",
        target_type="incident",
        target_id=str(incident.id),
        detail={"camera_id": incident.camera_id},
    )
    return StepResult(incident_id=incident.id, state=incident.state, at=at)


def arrive(db: Session, *, incident_id: uuid.UUID, user: AuthUser, at: datetime) -> StepResult:
    """Record arrival on site by the officer who claimed the incident."""
    incident = _load_visible(db, incident_id=incident_id, user=user)
    claim_row = _own_claim(db, incident_id=incident.id, user=user)
    _transition(db, incident=incident, step="arrive", at=at)
    claim_row.arrived_at = at
    db.flush()
    record(
        db,
        actor=user.username,
        action="incident.arrive",
        target_type="incident",
        target_id=str(incident.id),
        detail={"camera_id": incident.camera_id},
    )
    return StepResult(incident_id=incident.id, state=incident.state, at=at)


def record_outcome(db: Session, *, incident_id: uuid.UUID, user: AuthUser, body: OutcomeIn, at: datetime) -> StepResult:
    """Record what was found (structured categories only) and close the incident."""
    incident = _load_visible(db, incident_id=incident_id, user=user)
    claim_row = _own_claim(db, incident_id=incident.id, user=user)
    _transition(db, incident=incident, step="outcome", at=at)
    claim_row.finished_at = at
    db.merge(
        IncidentOutcome(
            incident_id=incident.id,
            user_id=user.id,
            camera_id=incident.camera_id,
            model_id=incident.model_id,
            model_version=incident.model_version,
            outcome=body.outcome.value,
            category=body.category.value if body.category else None,
            recorded_at=at,
        )
    )
    db.flush()
    record(
        db,
        actor=user.username,
        action="incident.close",
        target_type="incident",
        target_id=str(incident.id),
        detail={
            "camera_id": incident.camera_id,
            "outcome": body.outcome.value,
            "category": body.category.value if body.category else None,
        },
    )
    return StepResult(incident_id=incident.id, state=incident.state, at=at)
