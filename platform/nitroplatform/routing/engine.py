"""Decide who gets paged for an incident, or why nobody is (yet).

The order follows Alertmanager's pipeline, plus the officer-specific parts it leaves out:
silence → dispatch inhibition (an officer already on the way to that zone) → cooldowns → route
(zone or camera + time window → team on shift) → fall back to teams whose areas hold the camera →
coordinators. Every decision is written to ``people_pages`` so escalation and cooldowns can read it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from nitroplatform.auth.deps import Role
from nitroplatform.people.dispatch_models import CameraCooldown, IncidentClaim, Page, PushPolicy, Route, Silence
from nitroplatform.people.models import Area, AreaCamera, Membership, RoleGrant, Shift, Team, User
from nitroplatform.routing.windows import in_window, parse_weekdays, to_local

# A claim older than this no longer inhibits pages, even if the officer never recorded an outcome.
DISPATCH_INHIBIT_MAX = timedelta(hours=1)


@dataclass(frozen=True)
class RoutingPolicy:
    """The tunables routing needs (from PeopleSettings)."""

    timezone: str = "Europe/Amsterdam"
    cooldown_camera_s: int = 60
    cooldown_global_s: int = 0


@dataclass(frozen=True)
class IncidentFacts:
    """What routing needs to know about an incident."""

    incident_id: uuid.UUID
    camera_id: str
    zone: str | None


@dataclass(frozen=True)
class Decision:
    """Whom to page, or why the page is held back (``held_reason``)."""

    team_id: int | None
    user_ids: tuple[int, ...]
    held_reason: str | None
    level: int = 0


def active_silence(db: Session, *, camera_id: str, zone: str | None, at: datetime) -> Silence | None:
    """The first silence covering this camera/zone at ``at``.

    A silence with a camera and a zone needs both to match; with only one, that one must match.
    """
    rows = db.scalars(
        select(Silence).where(Silence.starts_at <= at, Silence.ends_at > at, Silence.expired_by.is_(None))
    ).all()
    for silence in rows:
        camera_ok = silence.camera_id is None or silence.camera_id == camera_id
        zone_ok = silence.zone is None or silence.zone == zone
        if camera_ok and zone_ok and (silence.camera_id is not None or silence.zone is not None):
            return silence
    return None


def dispatch_active(db: Session, *, facts: IncidentFacts, at: datetime) -> bool:
    """True while an officer has claimed another unfinished incident in the same zone (or camera if no zone)."""
    query = select(IncidentClaim.incident_id).where(
        IncidentClaim.finished_at.is_(None),
        IncidentClaim.claimed_at > at - DISPATCH_INHIBIT_MAX,
        IncidentClaim.incident_id != facts.incident_id,
    )
    if facts.zone is not None:
        query = query.where(IncidentClaim.zone == facts.zone)
    else:
        query = query.where(IncidentClaim.camera_id == facts.camera_id)
    return db.scalar(query.limit(1)) is not None


def effective_cooldowns(db: Session, *, camera_id: str, policy: RoutingPolicy) -> tuple[int, int]:
    """(camera cooldown, global cooldown) in seconds: API-set values override the settings' defaults."""
    camera_s, global_s = policy.cooldown_camera_s, policy.cooldown_global_s
    stored = db.get(PushPolicy, 1)
    if stored is not None:
        camera_s, global_s = stored.cooldown_camera_s, stored.cooldown_global_s
    override = db.get(CameraCooldown, camera_id)
    if override is not None:
        camera_s = override.cooldown_s
    return camera_s, global_s


def cooldown_reason(db: Session, *, camera_id: str, at: datetime, policy: RoutingPolicy) -> str | None:
    """``cooldown_camera`` or ``cooldown_global`` while a recent page blocks a new one, else None."""
    camera_s, global_s = effective_cooldowns(db, camera_id=camera_id, policy=policy)
    sent = Page.held_reason.is_(None)
    if camera_s > 0:
        since = at - timedelta(seconds=camera_s)
        recent = select(Page.id).where(sent, Page.camera_id == camera_id, Page.paged_at > since, Page.level == 0)
        if db.scalar(recent.limit(1)) is not None:
            return "cooldown_camera"
    if global_s > 0:
        since = at - timedelta(seconds=global_s)
        if db.scalar(select(Page.id).where(sent, Page.paged_at > since, Page.level == 0).limit(1)) is not None:
            return "cooldown_global"
    return None


def team_on_shift(db: Session, *, team_id: int, at: datetime, timezone: str) -> bool:
    """True when the team has a shift covering ``at``; a team without any shift counts as always on duty."""
    shifts = db.scalars(select(Shift).where(Shift.team_id == team_id)).all()
    if not shifts:
        return True
    local = to_local(at, timezone)
    return any(
        in_window(
            weekdays=parse_weekdays(shift.weekdays),
            start_minute=shift.start_minute,
            end_minute=shift.end_minute,
            local=local,
        )
        for shift in shifts
    )


def _route_matches(route: Route, facts: IncidentFacts, local: datetime) -> bool:
    if route.camera_id is not None and route.camera_id != facts.camera_id:
        return False
    if route.zone is not None and route.zone != facts.zone:
        return False
    if route.start_minute is None or route.end_minute is None:
        return local.isoweekday() in parse_weekdays(route.weekdays)
    return in_window(
        weekdays=parse_weekdays(route.weekdays),
        start_minute=route.start_minute,
        end_minute=route.end_minute,
        local=local,
    )


def _specificity(route: Route) -> int:
    # Camera+zone beats camera beats zone beats catch-all, at equal priority.
    return -(2 * (route.camera_id is not None) + (route.zone is not None))


def pick_team(db: Session, *, facts: IncidentFacts, at: datetime, policy: RoutingPolicy) -> int | None:
    """The team to page: the best matching route whose team is on shift, else a team covering the camera."""
    local = to_local(at, policy.timezone)
    routes = db.scalars(
        select(Route).where(
            or_(Route.camera_id.is_(None), Route.camera_id == facts.camera_id),
            or_(Route.zone.is_(None), Route.zone == facts.zone),
        )
    ).all()
    for route in sorted(routes, key=lambda r: (r.priority, _specificity(r), r.id)):
        if _route_matches(route, facts, local) and team_on_shift(
            db, team_id=route.team_id, at=at, timezone=policy.timezone
        ):
            return route.team_id
    covering = db.scalars(
        select(Area.team_id)
        .join(AreaCamera, AreaCamera.area_id == Area.id)
        .where(AreaCamera.camera_id == facts.camera_id)
        .order_by(Area.team_id)
    ).all()
    for team_id in dict.fromkeys(covering):
        if team_on_shift(db, team_id=team_id, at=at, timezone=policy.timezone):
            return team_id
    return None


def team_officers(db: Session, *, team_id: int) -> tuple[int, ...]:
    """Active users in the team who hold the officer role."""
    rows = db.scalars(
        select(User.id)
        .join(Membership, Membership.user_id == User.id)
        .join(RoleGrant, RoleGrant.user_id == User.id)
        .where(Membership.team_id == team_id, RoleGrant.role == Role.officer.value, User.active.is_(True))
        .order_by(User.id)
    ).all()
    return tuple(dict.fromkeys(rows))


def coordinators(db: Session) -> tuple[int, ...]:
    """Active users with the coordinator role."""
    rows = db.scalars(
        select(User.id)
        .join(RoleGrant, RoleGrant.user_id == User.id)
        .where(RoleGrant.role == Role.coordinator.value, User.active.is_(True))
        .order_by(User.id)
    ).all()
    return tuple(dict.fromkeys(rows))


def decide(db: Session, *, facts: IncidentFacts, at: datetime, policy: RoutingPolicy) -> Decision:
    """Who to page for a new incident, or why not; the result is not yet recorded."""
    silence = active_silence(db, camera_id=facts.camera_id, zone=facts.zone, at=at)
    if silence is not None:
        return Decision(team_id=None, user_ids=(), held_reason="silenced")
    if dispatch_active(db, facts=facts, at=at):
        return Decision(team_id=None, user_ids=(), held_reason="dispatch_inhibited")
    reason = cooldown_reason(db, camera_id=facts.camera_id, at=at, policy=policy)
    if reason is not None:
        return Decision(team_id=None, user_ids=(), held_reason=reason)
    team_id = pick_team(db, facts=facts, at=at, policy=policy)
    if team_id is None:
        return Decision(team_id=None, user_ids=coordinators(db), held_reason=None)
    return Decision(team_id=team_id, user_ids=team_officers(db, team_id=team_id), held_reason=None)


def record_page(db: Session, *, facts: IncidentFacts, decision: Decision, at: datetime) -> Page:
    """Write the decision to the page log."""
    page = Page(
        incident_id=facts.incident_id,
        camera_id=facts.camera_id,
        zone=facts.zone,
        team_id=decision.team_id,
        level=decision.level,
        paged_at=at,
        recipients=len(decision.user_ids),
        held_reason=decision.held_reason,
    )
    db.add(page)
    db.flush()
    return page


def team_name(db: Session, team_id: int | None) -> str:
    """A team's name for messages, or ``coordinators``."""
    if team_id is None:
        return "coordinators"
    team = db.get(Team, team_id)
    return team.name if team else f"team {team_id}"
