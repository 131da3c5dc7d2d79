"""Camera registry: list with status, detail, and registration (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status

from nitroplatform.api.deps import SessionDep, SettingsDep
from nitroplatform.api.errors import NotFoundError
from nitroplatform.api.schemas import CameraIn, CameraOut, ErrorOut
from nitroplatform.audit.chain import record
from nitroplatform.auth.deps import AuthUser, CurrentUser, Role, require_roles
from nitroplatform.auth.scope import can_see_camera, visible_camera_ids
from nitroplatform.cameras import CameraProfile, camera_out, get_camera, list_cameras, register_camera
from nitroplatform.db.models import utcnow

router = APIRouter(prefix="/api/v1/cameras", tags=["cameras"], responses={401: {"model": ErrorOut}})

AdminUser = Annotated[AuthUser, Depends(require_roles(Role.admin))]


@router.get("", response_model=list[CameraOut], summary="Registered cameras with their status")
def read_cameras(user: CurrentUser, session: SessionDep, settings: SettingsDep) -> list[CameraOut]:
    """Cameras the caller may see, with status from heartbeats (offline when silent too long)."""
    now = utcnow()
    cameras = list_cameras(session, camera_ids=visible_camera_ids(user, session))
    return [camera_out(camera, now=now, offline_after_s=settings.offline_after_s) for camera in cameras]


@router.get("/{camera_id}", response_model=CameraOut, responses={404: {"model": ErrorOut}}, summary="One camera")
def read_camera(camera_id: str, user: CurrentUser, session: SessionDep, settings: SettingsDep) -> CameraOut:
    """The camera, if the caller may see it."""
    if not can_see_camera(user, session, camera_id):
        raise NotFoundError(f"camera {camera_id!r} is not registered")
    camera = get_camera(session, camera_id=camera_id)
    return camera_out(camera, now=utcnow(), offline_after_s=settings.offline_after_s)


@router.post(
    "",
    response_model=CameraOut,
    status_code=status.HTTP_201_CREATED,
    responses={403: {"model": ErrorOut}, 409: {"model": ErrorOut}, 422: {"model": ErrorOut}},
    summary="Register a camera and its CURVE public key (admin)",
)
def create_camera(
    body: CameraIn, request: Request, user: AdminUser, session: SessionDep, settings: SettingsDep
) -> CameraOut:
    """Register a camera; the ingest accepts its key right away."""
    camera = register_camera(
        session,
        camera_id=body.id,
        public_key=body.public_key,
        profile=CameraProfile(
            name=body.name,
            site=body.site,
            latitude=body.latitude,
            longitude=body.longitude,
            zones=tuple(body.zones),
            deployment_id=body.deployment_id,
        ),
    )
    record(
        session,
        actor=user.username,
        action="camera.create",
        target_type="camera",
        target_id=body.id,
        detail={"site": body.site, "deployment_id": body.deployment_id},
    )
    session.commit()
    ingest = request.app.state.runtime.ingest
    if ingest is not None:
        ingest.refresh_registry()
    return camera_out(camera, now=utcnow(), offline_after_s=settings.offline_after_s)
