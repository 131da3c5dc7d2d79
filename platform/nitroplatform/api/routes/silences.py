"""Silences: mute pages for a camera or zone with who, why and until when. /api/v1/silences.

Coordinators and admins set and expire silences; officers and auditors may read them. Officers see only
the silences that concern cameras they may see (a silence's reason can say more than the officer needs to
know about another team's area). A timed push suspend for one camera (POST /api/v1/silences/suspend) is a
silence with a duration.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from nitroplatform.api.deps import SessionDep
from nitroplatform.auth.deps import AuthUser, Role, require_roles
from nitroplatform.auth.scope import visible_camera_ids
from nitroplatform.db.models import Camera
from nitroplatform.people.api_deps import domain_errors
from nitroplatform.people.dispatch_models import Silence
from nitroplatform.people.timeutil import utcnow
from nitroplatform.routing import config_service
from nitroplatform.routing.schemas import SilenceIn, SilenceOut, SuspendIn

router = APIRouter(prefix="/api/v1/silences", tags=["silences"])

Planner = Annotated[AuthUser, Depends(require_roles(Role.coordinator, Role.admin))]
Reader = Annotated[AuthUser, Depends(require_roles(Role.officer, Role.coordinator, Role.admin, Role.auditor))]


def _concerns_visible(db: Session, user: AuthUser) -> Callable[[Silence], bool]:
    """Whether a silence concerns a camera ``user`` may see: its camera, or a zone one of those cameras has."""
    visible = visible_camera_ids(user, db)
    if visible is None:
        return lambda _silence: True
    zones: set[str] = set()
    if visible:
        for camera_zones in db.scalars(select(Camera.zones).where(Camera.id.in_(visible))):
            zones.update(str(zone) for zone in camera_zones or ())

    def concerns(silence: Silence) -> bool:
        if silence.camera_id is not None:
            return silence.camera_id in visible
        return silence.zone is not None and silence.zone in zones

    return concerns


@router.get("", response_model=list[SilenceOut])
def list_silences(
    user: Reader, db: SessionDep, include_expired: bool = Query(False, description="Also list expired silences.")
) -> list[SilenceOut]:
    """Silences, newest first; by default only pending and active ones. Officers see those of their cameras."""
    now = utcnow()
    concerns = _concerns_visible(db, user)
    rows = db.scalars(select(Silence).order_by(Silence.id.desc())).all()
    out = [config_service.silence_out(row, now) for row in rows if concerns(row)]
    return out if include_expired else [item for item in out if item.status != "expired"]


@router.post("", response_model=SilenceOut, status_code=status.HTTP_201_CREATED)
def create_silence(body: SilenceIn, user: Planner, db: SessionDep) -> SilenceOut:
    """Create a silence. ``created_by`` is the caller; ``comment`` is mandatory."""
    with domain_errors():
        silence = config_service.create_silence(db, body=body, actor=user.username)
    db.commit()
    return config_service.silence_out(silence, utcnow())


@router.post("/suspend", response_model=SilenceOut, status_code=status.HTTP_201_CREATED)
def suspend_camera(body: SuspendIn, user: Planner, db: SessionDep) -> SilenceOut:
    """Suspend pages for one camera for some minutes (Frigate's "suspend notifications")."""
    now = utcnow()
    request = SilenceIn(
        camera_id=body.camera_id, starts_at=now, ends_at=now + timedelta(minutes=body.minutes), comment=body.comment
    )
    with domain_errors():
        silence = config_service.create_silence(db, body=request, actor=user.username)
    db.commit()
    return config_service.silence_out(silence, now)


@router.delete("/{silence_id}", response_model=SilenceOut)
def expire_silence(silence_id: int, user: Planner, db: SessionDep) -> SilenceOut:
    """End a silence now; it stays listed as expired with who ended it."""
    with domain_errors():
        silence = config_service.expire_silence(db, silence_id=silence_id, actor=user.username)
    db.commit()
    return config_service.silence_out(silence, utcnow())
