"""Which cameras a user may see incidents of.

Officers see the cameras in their teams' areas, plus any camera their team was paged for in the last
``PAGED_VISIBILITY`` (a route or an escalation can send a team to a camera outside its areas, and an
officer must be able to open the incident they were paged for). Every other role sees all cameras
(coordinators plan coverage, auditors and privacy officers oversee, ML engineers and admins operate).
The incident list and the SSE stream filter with ``visible_camera_ids``.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from nitroplatform.auth.deps import AuthUser, Role
from nitroplatform.people.dispatch_models import Page
from nitroplatform.people.models import Area, AreaCamera
from nitroplatform.people.timeutil import utcnow

PAGED_VISIBILITY = timedelta(hours=24)

ALL_CAMERA_ROLES = frozenset({Role.coordinator, Role.privacy_officer, Role.ml_engineer, Role.admin, Role.auditor})


def visible_camera_ids(user: AuthUser, session: Session) -> set[str] | None:
    """Camera ids whose incidents ``user`` may see, or ``None`` meaning all cameras.

    An officer in no team, or in teams without areas, sees nothing (an empty set), never everything.
    """
    if user.roles.intersection(ALL_CAMERA_ROLES):
        return None
    if not user.team_ids:
        return set()
    rows = session.scalars(
        select(AreaCamera.camera_id).join(Area, Area.id == AreaCamera.area_id).where(Area.team_id.in_(user.team_ids))
    )
    paged = session.scalars(
        select(Page.camera_id)
        .where(
            Page.team_id.in_(user.team_ids),
            Page.held_reason.is_(None),
            Page.paged_at > utcnow() - PAGED_VISIBILITY,
        )
        .distinct()
    )
    return set(rows) | set(paged)


def can_see_camera(user: AuthUser, session: Session, camera_id: str) -> bool:
    """True when ``user`` may see incidents of ``camera_id``."""
    visible = visible_camera_ids(user, session)
    return visible is None or camera_id in visible
