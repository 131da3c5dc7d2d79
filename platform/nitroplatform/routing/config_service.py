"""Create, list and remove routes and silences; every change is audited."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from nitroplatform.api.errors import NotFoundError
from nitroplatform.audit.chain import record
from nitroplatform.people.dispatch_models import Route, Silence
from nitroplatform.people.models import Team
from nitroplatform.people.schemas import hhmm_to_minute, minute_to_hhmm
from nitroplatform.people.timeutil import utcnow
from nitroplatform.routing.schemas import RouteIn, RouteOut, SilenceIn, SilenceOut


def route_out(route: Route) -> RouteOut:
    """API view of a route."""
    return RouteOut(
        id=route.id,
        name=route.name,
        team_id=route.team_id,
        camera_id=route.camera_id,
        zone=route.zone,
        weekdays=[int(day) for day in route.weekdays.split(",")],
        start=minute_to_hhmm(route.start_minute) if route.start_minute is not None else None,
        end=minute_to_hhmm(route.end_minute) if route.end_minute is not None else None,
        priority=route.priority,
    )


def create_route(db: Session, *, body: RouteIn, actor: str) -> Route:
    """Add a route after checking its team exists."""
    if db.get(Team, body.team_id) is None:
        raise NotFoundError(f"no team with id {body.team_id}")
    route = Route(
        name=body.name,
        team_id=body.team_id,
        camera_id=body.camera_id,
        zone=body.zone,
        weekdays=",".join(str(day) for day in sorted(set(body.weekdays))),
        start_minute=hhmm_to_minute(body.start) if body.start else None,
        end_minute=hhmm_to_minute(body.end) if body.end else None,
        priority=body.priority,
    )
    db.add(route)
    db.flush()
    record(
        db,
        actor=actor,
        action="route.create",
        target_type="route",
        target_id=route.id,
        detail=route_out(route).model_dump(mode="json", exclude={"weekdays"}),
    )
    return route


def replace_route(db: Session, *, route_id: int, body: RouteIn, actor: str) -> Route:
    """Overwrite a route's fields."""
    route = db.get(Route, route_id)
    if route is None:
        raise NotFoundError(f"no route {route_id}")
    if db.get(Team, body.team_id) is None:
        raise NotFoundError(f"no team with id {body.team_id}")
    route.name = body.name
    route.team_id = body.team_id
    route.camera_id = body.camera_id
    route.zone = body.zone
    route.weekdays = ",".join(str(day) for day in sorted(set(body.weekdays)))
    route.start_minute = hhmm_to_minute(body.start) if body.start else None
    route.end_minute = hhmm_to_minute(body.end) if body.end else None
    route.priority = body.priority
    db.flush()
    record(
        db,
        actor=actor,
        action="route.update",
        target_type="route",
        target_id=route.id,
        detail=route_out(route).model_dump(mode="json", exclude={"weekdays"}),
    )
    return route


def delete_route(db: Session, *, route_id: int, actor: str) -> None:
    """Remove a route."""
    route = db.get(Route, route_id)
    if route is None:
        raise NotFoundError(f"no route {route_id}")
    db.delete(route)
    db.flush()
    record(db, actor=actor, action="route.delete", target_type="route", target_id=route_id)


def list_routes(db: Session) -> Sequence[Route]:
    """All routes, in evaluation order."""
    return db.scalars(select(Route).order_by(Route.priority, Route.id)).all()


def silence_status(silence: Silence, now: datetime) -> str:
    """pending, active or expired."""
    if silence.expired_by is not None or silence.ends_at <= now:
        return "expired"
    if silence.starts_at > now:
        return "pending"
    return "active"


def silence_out(silence: Silence, now: datetime) -> SilenceOut:
    """API view of a silence."""
    return SilenceOut(
        id=silence.id,
        camera_id=silence.camera_id,
        zone=silence.zone,
        starts_at=silence.starts_at,
        ends_at=silence.ends_at,
        created_by=silence.created_by,
        comment=silence.comment,
        created_at=silence.created_at,
        status=silence_status(silence, now),
        expired_by=silence.expired_by,
    )


def create_silence(db: Session, *, body: SilenceIn, actor: str) -> Silence:
    """Add a silence; who set it comes from the authenticated caller, never from the request body."""
    now = utcnow()
    silence = Silence(
        camera_id=body.camera_id,
        zone=body.zone,
        starts_at=body.starts_at or now,
        ends_at=body.ends_at,
        created_by=actor,
        comment=body.comment,
        created_at=now,
    )
    if silence.ends_at <= now:
        raise ValueError("ends_at lies in the past")
    db.add(silence)
    db.flush()
    record(
        db,
        actor=actor,
        action="silence.create",
        target_type="silence",
        target_id=silence.id,
        detail={"camera_id": body.camera_id, "zone": body.zone, "ends_at": body.ends_at.isoformat()},
    )
    return silence


def expire_silence(db: Session, *, silence_id: int, actor: str) -> Silence:
    """End a silence early (it stays listed as expired)."""
    silence = db.get(Silence, silence_id)
    if silence is None:
        raise NotFoundError(f"no silence {silence_id}")
    silence.expired_by = actor
    db.flush()
    record(db, actor=actor, action="silence.expire", target_type="silence", target_id=silence_id)
    return silence
