"""Teams with members, areas (cameras covered) and weekly shifts: /api/v1/teams.

Coordinators and admins change them; auditors may read them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from sqlalchemy import select

from nitroplatform.api.deps import SessionDep
from nitroplatform.api.routes.users import user_out
from nitroplatform.auth.deps import AuthUser, Role, require_roles
from nitroplatform.people import service
from nitroplatform.people.api_deps import domain_errors
from nitroplatform.people.models import Area, Shift, Team
from nitroplatform.people.schemas import (
    AreaIn,
    AreaOut,
    MemberIn,
    ShiftIn,
    ShiftOut,
    TeamIn,
    TeamOut,
    TeamPatch,
    UserOut,
    hhmm_to_minute,
    minute_to_hhmm,
)

router = APIRouter(prefix="/api/v1/teams", tags=["teams"])

Planner = Annotated[AuthUser, Depends(require_roles(Role.coordinator, Role.admin))]
TeamReader = Annotated[AuthUser, Depends(require_roles(Role.coordinator, Role.admin, Role.auditor))]


def _team_out(team: Team) -> TeamOut:
    return TeamOut.model_validate(team)


def _area_out(area: Area) -> AreaOut:
    return AreaOut(id=area.id, team_id=area.team_id, name=area.name, camera_ids=[c.camera_id for c in area.cameras])


def _shift_out(shift: Shift) -> ShiftOut:
    return ShiftOut(
        id=shift.id,
        team_id=shift.team_id,
        weekdays=[int(day) for day in shift.weekdays.split(",")],
        start=minute_to_hhmm(shift.start_minute),
        end=minute_to_hhmm(shift.end_minute),
    )


@router.get("", response_model=list[TeamOut])
def list_teams(_user: TeamReader, db: SessionDep) -> list[TeamOut]:
    """All teams."""
    return [_team_out(team) for team in db.scalars(select(Team).order_by(Team.name))]


@router.post("", response_model=TeamOut, status_code=status.HTTP_201_CREATED)
def create_team(body: TeamIn, user: Planner, db: SessionDep) -> TeamOut:
    """Create a team."""
    with domain_errors():
        team = service.create_team(
            db,
            name=body.name,
            description=body.description,
            escalate_to_team_id=body.escalate_to_team_id,
            escalate_after_s=body.escalate_after_s,
            actor=user.username,
        )
    db.commit()
    return _team_out(team)


@router.get("/{team_id}", response_model=TeamOut)
def get_team(team_id: int, _user: TeamReader, db: SessionDep) -> TeamOut:
    """One team."""
    with domain_errors():
        return _team_out(service.get_team(db, team_id=team_id))


@router.patch("/{team_id}", response_model=TeamOut)
def update_team(team_id: int, body: TeamPatch, user: Planner, db: SessionDep) -> TeamOut:
    """Change where and after how long a team's unclaimed incidents escalate."""
    with domain_errors():
        team = service.update_team(
            db,
            team_id=team_id,
            escalate_to_team_id=body.escalate_to_team_id,
            escalate_after_s=body.escalate_after_s,
            actor=user.username,
        )
    db.commit()
    return _team_out(team)


@router.delete("/{team_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_team(team_id: int, user: Planner, db: SessionDep) -> None:
    """Delete a team with its memberships, areas, shifts and routes."""
    with domain_errors():
        service.delete_team(db, team_id=team_id, actor=user.username)
    db.commit()


@router.get("/{team_id}/members", response_model=list[UserOut])
def list_members(team_id: int, _user: TeamReader, db: SessionDep) -> list[UserOut]:
    """The team's members."""
    with domain_errors():
        service.get_team(db, team_id=team_id)
    return [user_out(member) for member in service.team_members(db, team_id=team_id)]


@router.post("/{team_id}/members", status_code=status.HTTP_204_NO_CONTENT)
def add_member(team_id: int, body: MemberIn, user: Planner, db: SessionDep) -> None:
    """Put a user in the team."""
    with domain_errors():
        service.add_member(db, team_id=team_id, username=body.username, actor=user.username)
    db.commit()


@router.delete("/{team_id}/members/{username}", status_code=status.HTTP_204_NO_CONTENT)
def remove_member(team_id: int, username: str, user: Planner, db: SessionDep) -> None:
    """Take a user out of the team."""
    with domain_errors():
        service.remove_member(db, team_id=team_id, username=username, actor=user.username)
    db.commit()


@router.get("/{team_id}/areas", response_model=list[AreaOut])
def list_areas(team_id: int, _user: TeamReader, db: SessionDep) -> list[AreaOut]:
    """The team's areas and their cameras."""
    with domain_errors():
        service.get_team(db, team_id=team_id)
    return [_area_out(area) for area in service.areas_of(db, team_id=team_id)]


@router.post("/{team_id}/areas", response_model=AreaOut, status_code=status.HTTP_201_CREATED)
def add_area(team_id: int, body: AreaIn, user: Planner, db: SessionDep) -> AreaOut:
    """Give the team an area; its officers then see and get paged for these cameras."""
    with domain_errors():
        area = service.add_area(db, team_id=team_id, name=body.name, camera_ids=body.camera_ids, actor=user.username)
    db.commit()
    return _area_out(area)


@router.delete("/{team_id}/areas/{area_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_area(team_id: int, area_id: int, user: Planner, db: SessionDep) -> None:
    """Remove an area from the team."""
    with domain_errors():
        service.delete_area(db, team_id=team_id, area_id=area_id, actor=user.username)
    db.commit()


@router.get("/{team_id}/shifts", response_model=list[ShiftOut])
def list_shifts(team_id: int, _user: TeamReader, db: SessionDep) -> list[ShiftOut]:
    """The team's weekly shifts."""
    with domain_errors():
        service.get_team(db, team_id=team_id)
    return [_shift_out(shift) for shift in service.shifts_of(db, team_id=team_id)]


@router.post("/{team_id}/shifts", response_model=ShiftOut, status_code=status.HTTP_201_CREATED)
def add_shift(team_id: int, body: ShiftIn, user: Planner, db: SessionDep) -> ShiftOut:
    """Add a weekly shift (local time; an end before the start runs over midnight)."""
    with domain_errors():
        shift = service.add_shift(
            db,
            team_id=team_id,
            weekdays=body.weekdays,
            start_minute=hhmm_to_minute(body.start),
            end_minute=hhmm_to_minute(body.end),
            actor=user.username,
        )
    db.commit()
    return _shift_out(shift)


@router.delete("/{team_id}/shifts/{shift_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_shift(team_id: int, shift_id: int, user: Planner, db: SessionDep) -> None:
    """Remove a shift."""
    with domain_errors():
        service.delete_shift(db, team_id=team_id, shift_id=shift_id, actor=user.username)
    db.commit()
