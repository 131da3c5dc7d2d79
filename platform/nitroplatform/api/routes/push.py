"""Web Push subscriptions of the signed-in user: /api/v1/push.

The browser fetches the VAPID public key, subscribes with ``pushManager.subscribe`` and posts the
subscription here. An endpoint must be an https URL of a configured push service on a public address
(``push/endpoints.py``), so a user cannot make the platform call hosts of their choosing, internal ones least of
all. An endpoint registered to one user is never moved to another: reposting it is refused (409), and the web app
then takes a fresh endpoint for its browser.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import delete, select

from nitroplatform.api.deps import SessionDep, SettingsDep
from nitroplatform.audit.chain import record
from nitroplatform.auth.deps import AuthUser, CurrentUser, Role, require_roles
from nitroplatform.auth.sessions import digest
from nitroplatform.people.api_deps import PeopleSettingsDep
from nitroplatform.people.dispatch_models import CameraCooldown, PushPolicy, PushSubscription
from nitroplatform.people.timeutil import utcnow
from nitroplatform.push.endpoints import PushEndpointError, check_endpoint
from nitroplatform.push.vapid import application_server_key, load_or_create_vapid

router = APIRouter(prefix="/api/v1/push", tags=["push"])

PolicyEditor = Annotated[AuthUser, Depends(require_roles(Role.coordinator, Role.admin))]
PolicyReader = Annotated[AuthUser, Depends(require_roles(Role.coordinator, Role.admin, Role.auditor))]


class VapidKeyOut(BaseModel):
    """The applicationServerKey for ``pushManager.subscribe``."""

    public_key: str = Field(description="Uncompressed P-256 point, base64url without padding.")


class SubscriptionKeys(BaseModel):
    """The browser's keys for payload encryption."""

    model_config = ConfigDict(extra="forbid")

    p256dh: str = Field(min_length=80, max_length=100)
    auth: str = Field(min_length=16, max_length=32)


class SubscriptionIn(BaseModel):
    """A PushSubscription as ``subscription.toJSON()`` gives it."""

    model_config = ConfigDict(extra="ignore")

    endpoint: str = Field(min_length=10, max_length=2048)
    keys: SubscriptionKeys


class SubscriptionRef(BaseModel):
    """Which subscription to remove."""

    model_config = ConfigDict(extra="ignore")

    endpoint: str = Field(min_length=10, max_length=2048)


class SubscriptionOut(BaseModel):
    """A stored subscription (the endpoint's origin only)."""

    id: int
    endpoint_origin: str


def _check_key(value: str, length: int, name: str) -> None:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=f"{name} is not base64url") from error
    if len(raw) != length:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, detail=f"{name} must be {length} bytes, got {len(raw)}"
        )


def _origin(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


@router.get("/vapid-public-key", response_model=VapidKeyOut)
def vapid_public_key(request: Request, _user: CurrentUser, settings: SettingsDep) -> VapidKeyOut:
    """The platform's VAPID public key (created on first use)."""
    notifier = getattr(request.app.state, "notifier", None)
    vapid = notifier.vapid if notifier is not None else load_or_create_vapid(settings.data_dir)
    return VapidKeyOut(public_key=application_server_key(vapid))


class CooldownPolicy(BaseModel):
    """Notification cooldowns: global, per camera, and per-camera overrides (seconds; 0 = off)."""

    model_config = ConfigDict(extra="forbid")

    cooldown_global_s: int = Field(ge=0, le=24 * 3600, description="Minimum gap between any two new pages.")
    cooldown_camera_s: int = Field(ge=0, le=24 * 3600, description="Minimum gap between new pages per camera.")
    camera_overrides: dict[Annotated[str, StringConstraints(max_length=64)], int] = Field(
        default_factory=dict,
        max_length=10_000,
        description="Camera id → its own cooldown, replacing cooldown_camera_s.",
    )


def _policy_out(db: SessionDep, defaults: PeopleSettingsDep) -> CooldownPolicy:
    stored = db.get(PushPolicy, 1)
    return CooldownPolicy(
        cooldown_global_s=stored.cooldown_global_s if stored else defaults.push_cooldown_global_s,
        cooldown_camera_s=stored.cooldown_camera_s if stored else defaults.push_cooldown_camera_s,
        camera_overrides={row.camera_id: row.cooldown_s for row in db.scalars(select(CameraCooldown))},
    )


@router.get("/policy", response_model=CooldownPolicy)
def get_policy(_user: PolicyReader, db: SessionDep, defaults: PeopleSettingsDep) -> CooldownPolicy:
    """The cooldowns in force."""
    return _policy_out(db, defaults)


@router.put("/policy", response_model=CooldownPolicy)
def set_policy(body: CooldownPolicy, user: PolicyEditor, db: SessionDep, defaults: PeopleSettingsDep) -> CooldownPolicy:
    """Replace the cooldowns (coordinators, admins). Audited."""
    if any(not 0 <= value <= 24 * 3600 for value in body.camera_overrides.values()):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="overrides must be 0..86400 seconds")
    stored = db.get(PushPolicy, 1)
    if stored is None:
        stored = PushPolicy(id=1)
        db.add(stored)
    stored.cooldown_global_s = body.cooldown_global_s
    stored.cooldown_camera_s = body.cooldown_camera_s
    stored.updated_by = user.username
    stored.updated_at = utcnow()
    db.execute(delete(CameraCooldown))
    db.add_all(CameraCooldown(camera_id=camera, cooldown_s=value) for camera, value in body.camera_overrides.items())
    record(
        db,
        actor=user.username,
        action="push.policy",
        target_type="push_policy",
        target_id=1,
        detail={
            "cooldown_global_s": body.cooldown_global_s,
            "cooldown_camera_s": body.cooldown_camera_s,
            "overrides": len(body.camera_overrides),
        },
    )
    db.commit()
    return _policy_out(db, defaults)


@router.get("/subscriptions", response_model=list[SubscriptionOut])
def list_subscriptions(user: CurrentUser, db: SessionDep) -> list[SubscriptionOut]:
    """The caller's own subscriptions."""
    rows = db.scalars(select(PushSubscription).where(PushSubscription.user_id == user.id)).all()
    return [SubscriptionOut(id=row.id, endpoint_origin=_origin(row.endpoint)) for row in rows]


@router.post("/subscriptions", response_model=SubscriptionOut, status_code=status.HTTP_201_CREATED)
def subscribe(body: SubscriptionIn, user: CurrentUser, db: SessionDep, policy: PeopleSettingsDep) -> SubscriptionOut:
    """Store a browser's push subscription for the caller, or renew the caller's own keys for it."""
    try:
        check_endpoint(
            body.endpoint,
            allowed_hosts=policy.push_allowed_hosts,
            allow_insecure=policy.push_allow_insecure_endpoints,
            allow_private=policy.push_allow_private_addresses,
        )
    except PushEndpointError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(error)) from error
    _check_key(body.keys.p256dh, 65, "p256dh")
    _check_key(body.keys.auth, 16, "auth")
    key = digest(body.endpoint)
    row = db.scalar(select(PushSubscription).where(PushSubscription.endpoint_hash == key))
    if row is None:
        row = PushSubscription(
            user_id=user.id, endpoint=body.endpoint, endpoint_hash=key, p256dh=body.keys.p256dh, auth=body.keys.auth
        )
        db.add(row)
    elif row.user_id != user.id:
        # Moving it would take another user's pages (or, with new keys, silence them): never. The previous user
        # signs out (which deletes it), or the browser takes a fresh endpoint.
        raise HTTPException(status.HTTP_409_CONFLICT, detail="this push endpoint is registered to another user")
    else:
        row.p256dh = body.keys.p256dh
        row.auth = body.keys.auth
        row.failures = 0
    db.flush()
    record(
        db,
        actor=user.username,
        action="push.subscribe",
        target_type="push_subscription",
        target_id=row.id,
        detail={"origin": _origin(body.endpoint)},
    )
    db.commit()
    return SubscriptionOut(id=row.id, endpoint_origin=_origin(row.endpoint))


@router.delete("/subscriptions", status_code=status.HTTP_204_NO_CONTENT)
def unsubscribe(body: SubscriptionRef, user: CurrentUser, db: SessionDep) -> None:
    """Remove one of the caller's subscriptions by endpoint (JSON body ``{"endpoint": ...}``)."""
    row = db.scalar(select(PushSubscription).where(PushSubscription.endpoint_hash == digest(body.endpoint)))
    if row is None or row.user_id != user.id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such subscription of yours")
    db.delete(row)
    record(db, actor=user.username, action="push.unsubscribe", target_type="push_subscription", target_id=row.id)
    db.commit()
