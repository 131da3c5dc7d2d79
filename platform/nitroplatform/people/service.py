"""User and team administration, shared by the API and the ``nitrosignal platform user|team`` commands.

Every function is keyword-only, takes the caller's session, flushes but does not commit (the caller
owns the transaction), and appends an audit entry for what it changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from nitroplatform.api.errors import ConflictError as CoreConflictError
from nitroplatform.api.errors import NotFoundError as CoreNotFoundError
from nitroplatform.audit.chain import record
from nitroplatform.auth.access_marks import mark_access_changed
from nitroplatform.auth.deps import Role
from nitroplatform.auth.passwords import hash_password
from nitroplatform.auth.sessions import end_all_sessions
from nitroplatform.people.models import Area, AreaCamera, Membership, RoleGrant, Shift, Team, User
from nitroplatform.people.timeutil import utcnow


class NotFoundError(CoreNotFoundError):
    """The named user, team, area or shift does not exist."""


class ConflictError(CoreConflictError):
    """The change would duplicate something unique (a username, a team name, a membership)."""


def get_user(db: Session, *, username: str) -> User:
    """The user named ``username``, or NotFoundError."""
    user = db.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFoundError(f"no user named {username!r}")
    return user


def create_user(
    db: Session, *, username: str, password: str | None, roles: Iterable[Role], display_name: str = "", actor: str
) -> User:
    """Create a user with roles; ``password`` None makes a service account that signs in only by token."""
    if db.scalar(select(User.id).where(User.username == username)) is not None:
        raise ConflictError(f"a user named {username!r} already exists")
    now = utcnow()
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password) if password is not None else None,
        active=True,
        created_at=now,
        password_changed_at=now if password is not None else None,
    )
    user.grants = [RoleGrant(role=Role(role).value, granted_by=actor) for role in sorted(set(roles))]
    db.add(user)
    db.flush()
    record(db, actor=actor, action="user.create", target_type="user", target_id=username, detail=_roles(user))
    return user


def set_password(db: Session, *, username: str, password: str, actor: str) -> User:
    """Replace a user's password and end all their sessions."""
    user = get_user(db, username=username)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    end_all_sessions(db, user_id=user.id)
    db.flush()
    record(db, actor=actor, action="user.password", target_type="user", target_id=username)
    return user


def set_roles(db: Session, *, username: str, roles: Iterable[Role], actor: str) -> User:
    """Replace a user's roles."""
    user = get_user(db, username=username)
    wanted = {Role(role).value for role in roles}
    user.grants = [grant for grant in user.grants if grant.role in wanted]
    held = {grant.role for grant in user.grants}
    user.grants.extend(RoleGrant(role=role, granted_by=actor) for role in sorted(wanted - held))
    db.flush()
    mark_access_changed(db, user_ids=[user.id])
    record(db, actor=actor, action="user.roles", target_type="user", target_id=username, detail=_roles(user))
    return user


def set_active(db: Session, *, username: str, active: bool, actor: str) -> User:
    """Activate or deactivate a user; deactivation ends their sessions (tokens stop working too)."""
    user = get_user(db, username=username)
    user.active = active
    if not active:
        end_all_sessions(db, user_id=user.id)
    db.flush()
    mark_access_changed(db, user_ids=[user.id])
    record(
        db, actor=actor, action="user.activate" if active else "user.deactivate", target_type="user", target_id=username
    )
    return user


def list_users(db: Session) -> Sequence[User]:
    """All users by username."""
    return db.scalars(select(User).order_by(User.username)).all()


def _roles(user: User) -> dict[str, str]:
    return {"roles": ",".join(sorted(grant.role for grant in user.grants))}


def get_team(db: Session, *, team_id: int) -> Team:
    """The team with ``team_id``, or NotFoundError."""
    team = db.get(Team, team_id)
    if team is None:
        raise NotFoundError(f"no team with id {team_id}")
    return team


def find_team(db: Session, *, name: str) -> Team:
    """The team named ``name``, or NotFoundError."""
    team = db.scalar(select(Team).where(Team.name == name))
    if team is None:
        raise NotFoundError(f"no team named {name!r}")
    return team


def create_team(
    db: Session,
    *,
    name: str,
    description: str = "",
    escalate_to_team_id: int | None = None,
    escalate_after_s: int = 120,
    actor: str,
) -> Team:
    """Create a team; unclaimed incidents escalate to ``escalate_to_team_id`` (or coordinators) after the delay."""
    if db.scalar(select(Team.id).where(Team.name == name)) is not None:
        raise ConflictError(f"a team named {name!r} already exists")
    if escalate_to_team_id is not None:
        get_team(db, team_id=escalate_to_team_id)
    team = Team(
        name=name,
        description=description,
        escalate_to_team_id=escalate_to_team_id,
        escalate_after_s=escalate_after_s,
    )
    db.add(team)
    db.flush()
    record(db, actor=actor, action="team.create", target_type="team", target_id=team.id, detail={"name": name})
    return team


def update_team(
    db: Session, *, team_id: int, escalate_to_team_id: int | None, escalate_after_s: int, actor: str
) -> Team:
    """Change where and when a team's unclaimed incidents escalate."""
    team = get_team(db, team_id=team_id)
    if escalate_to_team_id is not None:
        if escalate_to_team_id == team_id:
            raise ConflictError("a team cannot escalate to itself")
        get_team(db, team_id=escalate_to_team_id)
    team.escalate_to_team_id = escalate_to_team_id
    team.escalate_after_s = escalate_after_s
    db.flush()
    record(
        db,
        actor=actor,
        action="team.update",
        target_type="team",
        target_id=team_id,
        detail={"escalate_to_team_id": escalate_to_team_id, "escalate_after_s": escalate_after_s},
    )
    return team


def delete_team(db: Session, *, team_id: int, actor: str) -> None:
    """Delete a team with its memberships, areas, shifts and routes."""
    team = get_team(db, team_id=team_id)
    mark_access_changed(db, user_ids=_member_ids(db, team_id=team_id))
    db.delete(team)
    db.flush()
    record(db, actor=actor, action="team.delete", target_type="team", target_id=team_id, detail={"name": team.name})


def add_member(db: Session, *, team_id: int, username: str, actor: str) -> Membership:
    """Put a user in a team."""
    get_team(db, team_id=team_id)
    user = get_user(db, username=username)
    if any(membership.team_id == team_id for membership in user.memberships):
        raise ConflictError(f"{username!r} is already in team {team_id}")
    membership = Membership(team_id=team_id, user_id=user.id)
    user.memberships.append(membership)
    db.flush()
    mark_access_changed(db, user_ids=[user.id])
    record(
        db, actor=actor, action="team.member_add", target_type="team", target_id=team_id, detail={"username": username}
    )
    return membership


def remove_member(db: Session, *, team_id: int, username: str, actor: str) -> None:
    """Take a user out of a team."""
    user = get_user(db, username=username)
    before = len(user.memberships)
    user.memberships = [membership for membership in user.memberships if membership.team_id != team_id]
    if len(user.memberships) == before:
        raise NotFoundError(f"{username!r} is not in team {team_id}")
    db.flush()
    mark_access_changed(db, user_ids=[user.id])
    record(
        db,
        actor=actor,
        action="team.member_remove",
        target_type="team",
        target_id=team_id,
        detail={"username": username},
    )


def _member_ids(db: Session, *, team_id: int) -> list[int]:
    return list(db.scalars(select(Membership.user_id).where(Membership.team_id == team_id)))


def team_members(db: Session, *, team_id: int) -> Sequence[User]:
    """The users in a team."""
    return db.scalars(
        select(User).join(Membership, Membership.user_id == User.id).where(Membership.team_id == team_id)
    ).all()


def add_area(db: Session, *, team_id: int, name: str, camera_ids: Sequence[str], actor: str) -> Area:
    """Give a team an area: a named set of cameras whose incidents its officers see and get paged for."""
    get_team(db, team_id=team_id)
    area = Area(team_id=team_id, name=name)
    area.cameras = [AreaCamera(camera_id=camera_id) for camera_id in sorted(set(camera_ids))]
    db.add(area)
    db.flush()
    # The team's officers now see other cameras.
    mark_access_changed(db, user_ids=_member_ids(db, team_id=team_id))
    record(
        db,
        actor=actor,
        action="team.area_add",
        target_type="team",
        target_id=team_id,
        detail={"area": name, "cameras": ",".join(sorted(set(camera_ids)))},
    )
    return area


def delete_area(db: Session, *, team_id: int, area_id: int, actor: str) -> None:
    """Remove an area from a team."""
    area = db.get(Area, area_id)
    if area is None or area.team_id != team_id:
        raise NotFoundError(f"team {team_id} has no area {area_id}")
    db.delete(area)
    db.flush()
    mark_access_changed(db, user_ids=_member_ids(db, team_id=team_id))
    record(
        db, actor=actor, action="team.area_delete", target_type="team", target_id=team_id, detail={"area": area.name}
    )


def areas_of(db: Session, *, team_id: int) -> Sequence[Area]:
    """A team's areas."""
    return db.scalars(select(Area).where(Area.team_id == team_id).order_by(Area.id)).all()


def add_shift(
    db: Session, *, team_id: int, weekdays: Sequence[int], start_minute: int, end_minute: int, actor: str
) -> Shift:
    """Add a weekly shift; ``end_minute < start_minute`` runs over midnight into the next day."""
    get_team(db, team_id=team_id)
    if not weekdays or any(day < 1 or day > 7 for day in weekdays):
        raise ValueError(f"weekdays must be ISO weekdays 1..7, got {list(weekdays)}")
    for value in (start_minute, end_minute):
        if not 0 <= value < 24 * 60:
            raise ValueError(f"minutes of the day must be 0..1439, got {value}")
    if start_minute == end_minute:
        raise ValueError("a shift needs a start and an end that differ")
    shift = Shift(
        team_id=team_id,
        weekdays=",".join(str(day) for day in sorted(set(weekdays))),
        start_minute=start_minute,
        end_minute=end_minute,
    )
    db.add(shift)
    db.flush()
    record(
        db,
        actor=actor,
        action="team.shift_add",
        target_type="team",
        target_id=team_id,
        detail={"weekdays": shift.weekdays, "start_minute": start_minute, "end_minute": end_minute},
    )
    return shift


def delete_shift(db: Session, *, team_id: int, shift_id: int, actor: str) -> None:
    """Remove a shift from a team."""
    shift = db.get(Shift, shift_id)
    if shift is None or shift.team_id != team_id:
        raise NotFoundError(f"team {team_id} has no shift {shift_id}")
    db.delete(shift)
    db.flush()
    record(
        db,
        actor=actor,
        action="team.shift_delete",
        target_type="team",
        target_id=team_id,
        detail={"shift_id": shift_id},
    )


def shifts_of(db: Session, *, team_id: int) -> Sequence[Shift]:
    """A team's shifts."""
    return db.scalars(select(Shift).where(Shift.team_id == team_id).order_by(Shift.id)).all()


def delete_members_of(db: Session, *, team_id: int) -> None:
    """Remove every membership of a team (used before deleting it on backends without cascades)."""
    db.execute(delete(Membership).where(Membership.team_id == team_id))
