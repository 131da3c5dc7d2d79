"""Web Push subscriptions of the signed-in user: /api/v1/push.

The browser fetches the VAPID public key, subscribes with ``pushManager.subscribe`` and posts the
subscription here. Endpoints must be https (unless ``push_allow_insecure_endpoints`` for local tests),
so a user cannot make the platform POST to arbitrary internal http services.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from nitroplatform.api.deps import SessionDep, SettingsDep
from nitroplatform.audit.chain import record
from nitroplatform.auth.deps import CurrentUser
from nitroplatform.auth.sessions import digest
from nitroplatform.people.api_deps import PeopleSettingsDep
from nitroplatform.people.dispatch_models import PushSubscription
from nitroplatform.push.vapid import application_server_key, load_or_create_vapid

router = APIRouter(prefix="/api/v1/push", tags=["push"])


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


@router.get("/subscriptions", response_model=list[SubscriptionOut])
def list_subscriptions(user: CurrentUser, db: SessionDep) -> list[SubscriptionOut]:
    """The caller's own subscriptions."""
    rows = db.scalars(select(PushSubscription).where(PushSubscription.user_id == user.id)).all()
    return [SubscriptionOut(id=row.id, endpoint_origin=_origin(row.endpoint)) for row in rows]


@router.post("/subscriptions", response_model=SubscriptionOut, status_code=status.HTTP_201_CREATED)
def subscribe(body: SubscriptionIn, user: CurrentUser, db: SessionDep, policy: PeopleSettingsDep) -> SubscriptionOut:
    """Store (or move to the caller) a browser's push subscription."""
    parts = urlsplit(body.endpoint)
    allowed = {"https", "http"} if policy.push_allow_insecure_endpoints else {"https"}
    if parts.scheme not in allowed or not parts.netloc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="endpoint must be an https URL")
    _check_key(body.keys.p256dh, 65, "p256dh")
    _check_key(body.keys.auth, 16, "auth")
    key = digest(body.endpoint)
    row = db.scalar(select(PushSubscription).where(PushSubscription.endpoint_hash == key))
    if row is None:
        row = PushSubscription(
            user_id=user.id, endpoint=body.endpoint, endpoint_hash=key, p256dh=body.keys.p256dh, auth=body.keys.auth
        )
        db.add(row)
    else:
        # The same browser signed in as someone else: the subscription follows the current user.
        row.user_id = user.id
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
