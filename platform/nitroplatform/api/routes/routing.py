"""Routes: zone or camera plus weekly window → team. /api/v1/routes (coordinator, admin; auditor reads)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from nitroplatform.api.deps import SessionDep
from nitroplatform.auth.deps import AuthUser, Role, require_roles
from nitroplatform.people.api_deps import domain_errors
from nitroplatform.routing import config_service
from nitroplatform.routing.schemas import RouteIn, RouteOut

router = APIRouter(prefix="/api/v1/routes", tags=["routing"])

Planner = Annotated[AuthUser, Depends(require_roles(Role.coordinator, Role.admin))]
Reader = Annotated[AuthUser, Depends(require_roles(Role.coordinator, Role.admin, Role.auditor))]


@router.get("", response_model=list[RouteOut])
def list_routes(_user: Reader, db: SessionDep) -> list[RouteOut]:
    """All routes in evaluation order (priority, then id)."""
    return [config_service.route_out(route) for route in config_service.list_routes(db)]


@router.post("", response_model=RouteOut, status_code=status.HTTP_201_CREATED)
def create_route(body: RouteIn, user: Planner, db: SessionDep) -> RouteOut:
    """Add a route."""
    with domain_errors():
        route = config_service.create_route(db, body=body, actor=user.username)
    db.commit()
    return config_service.route_out(route)


@router.put("/{route_id}", response_model=RouteOut)
def replace_route(route_id: int, body: RouteIn, user: Planner, db: SessionDep) -> RouteOut:
    """Replace a route."""
    with domain_errors():
        route = config_service.replace_route(db, route_id=route_id, body=body, actor=user.username)
    db.commit()
    return config_service.route_out(route)


@router.delete("/{route_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_route(route_id: int, user: Planner, db: SessionDep) -> None:
    """Remove a route."""
    with domain_errors():
        config_service.delete_route(db, route_id=route_id, actor=user.username)
    db.commit()
