"""Camera registry service: register, list, remove, and status from heartbeats."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from nitroplatform.api.errors import ConflictError, DomainError, NotFoundError
from nitroplatform.api.schemas import CameraOut, CameraStatus
from nitroplatform.db.models import Camera, utcnow
from nitrosignal.keys import KeyFileError, parse_public_key

_HEARTBEAT_STATES = {
    "active": CameraStatus.ACTIVE,
    "inactive_schedule": CameraStatus.INACTIVE_SCHEDULE,
    "inactive_gated": CameraStatus.GATED,
    "degraded": CameraStatus.DEGRADED,
    "error": CameraStatus.ERROR,
}


@dataclass(frozen=True)
class CameraProfile:
    """Descriptive fields of a camera; its location is where it hangs, never anyone's position."""

    name: str = ""
    site: str = ""
    latitude: float | None = None
    longitude: float | None = None
    zones: tuple[str, ...] = field(default_factory=tuple)
    deployment_id: str | None = None


class InvalidKeyError(DomainError):
    """A public key that is not a 40-character Z85 CURVE key."""

    status_code = 422
    code = "invalid_public_key"


def register_camera(
    session: Session, *, camera_id: str, public_key: str, profile: CameraProfile | None = None
) -> Camera:
    """Add a camera to the registry (the caller commits).

    Raises:
        InvalidKeyError: if ``public_key`` is not a Z85 CURVE key.
        ConflictError: if the id or the key is already registered.
    """
    try:
        key = parse_public_key(public_key).decode("ascii")
    except KeyFileError as exc:
        raise InvalidKeyError(str(exc)) from exc
    if session.get(Camera, camera_id) is not None:
        raise ConflictError(f"camera {camera_id!r} is already registered")
    if session.scalar(select(Camera.id).where(Camera.public_key == key)) is not None:
        raise ConflictError("this public key is already registered to another camera")
    profile = profile or CameraProfile()
    camera = Camera(
        id=camera_id,
        public_key=key,
        name=profile.name,
        site=profile.site,
        latitude=profile.latitude,
        longitude=profile.longitude,
        zones=list(profile.zones),
        deployment_id=profile.deployment_id,
        created_at=utcnow(),
        last_alert_seq=0,
        last_heartbeat_seq=0,
        gated=False,
    )
    session.add(camera)
    session.flush()
    return camera


def get_camera(session: Session, *, camera_id: str) -> Camera:
    """The camera ``camera_id``.

    Raises:
        NotFoundError: if it is not registered.
    """
    camera = session.get(Camera, camera_id)
    if camera is None:
        raise NotFoundError(f"camera {camera_id!r} is not registered")
    return camera


def list_cameras(session: Session, *, camera_ids: set[str] | None = None) -> list[Camera]:
    """Registered cameras ordered by id, optionally only those in ``camera_ids``."""
    query = select(Camera).order_by(Camera.id)
    if camera_ids is not None:
        query = query.where(Camera.id.in_(camera_ids))
    return list(session.scalars(query))


def remove_camera(session: Session, *, camera_id: str) -> None:
    """Delete a camera from the registry; its key stops working at the next registry refresh.

    Its alerts and incidents stay until retention removes them.
    """
    session.delete(get_camera(session, camera_id=camera_id))
    session.flush()


def camera_status(camera: Camera, *, now: datetime, offline_after_s: float) -> CameraStatus:
    """Status from the last heartbeat: offline when none came for ``offline_after_s`` seconds.

    The platform's own gating decision wins over what the device reports.
    """
    if camera.last_heartbeat_at is None or now - camera.last_heartbeat_at > timedelta(seconds=offline_after_s):
        return CameraStatus.OFFLINE
    if camera.gated:
        return CameraStatus.GATED
    return _HEARTBEAT_STATES.get(camera.last_state or "", CameraStatus.ERROR)


def camera_out(camera: Camera, *, now: datetime, offline_after_s: float) -> CameraOut:
    """The API view of a camera with its status."""
    return CameraOut(
        id=camera.id,
        public_key=camera.public_key,
        name=camera.name,
        site=camera.site,
        latitude=camera.latitude,
        longitude=camera.longitude,
        zones=list(camera.zones),
        deployment_id=camera.deployment_id,
        created_at=camera.created_at,
        status=camera_status(camera, now=now, offline_after_s=offline_after_s),
        gated=camera.gated,
        last_heartbeat_at=camera.last_heartbeat_at,
        last_state=camera.last_state,
        last_reason=camera.last_reason,
        fps_in=camera.fps_in,
        fps_processed=camera.fps_processed,
        outbox_depth=camera.outbox_depth,
        model_version=camera.model_version,
    )
