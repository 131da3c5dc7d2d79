"""Deliver one payload to one subscription with pywebpush (aes128gcm, VAPID, ``Urgency: high``).

A 404 or 410 from the push service means the browser dropped the subscription: it is deleted at once. Before
each send the endpoint is checked again (a configured push service, on public addresses: ``push/endpoints.py``),
and the request follows no redirect.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from py_vapid import Vapid02
from pywebpush import WebPushException, webpush
from sqlalchemy.orm import Session

from nitroplatform.people.config import PeopleSettings
from nitroplatform.people.dispatch_models import PushSubscription
from nitroplatform.people.timeutil import utcnow
from nitroplatform.push.endpoints import NoRedirectSession, PushEndpointError, check_endpoint
from nitroplatform.push.payload import PushPayload

logger = logging.getLogger(__name__)

SEND_TIMEOUT_S = 10.0
_SESSION = NoRedirectSession()
DeliveryStatus = Literal["sent", "pruned", "failed"]


@dataclass(frozen=True)
class Delivery:
    """What happened to one push."""

    subscription_id: int
    status: DeliveryStatus
    http_status: int | None


def send_one(
    db: Session, *, subscription: PushSubscription, payload: PushPayload, vapid: Vapid02, policy: PeopleSettings
) -> Delivery:
    """Encrypt and POST ``payload`` to the subscription's endpoint; prune it on 404/410.

    ``policy`` gives the VAPID subject, the TTL of a live page and which push endpoints may be called.
    """
    try:
        check_endpoint(
            subscription.endpoint,
            allowed_hosts=policy.push_allowed_hosts,
            allow_insecure=policy.push_allow_insecure_endpoints,
            allow_private=policy.push_allow_private_addresses,
        )
    except PushEndpointError as error:
        subscription.failures += 1
        logger.warning("push to subscription %s not sent: %s", subscription.id, error)
        return Delivery(subscription_id=subscription.id, status="failed", http_status=None)
    origin = urlsplit(subscription.endpoint)
    claims: dict[str, str | int] = {"sub": policy.vapid_subject, "aud": f"{origin.scheme}://{origin.netloc}"}
    headers: dict[str, str | int | float] = {
        "Urgency": "high",
        # RFC 8030 Topic: the push service itself replaces an undelivered older message for this incident.
        "Topic": payload.incident_id.hex,
    }
    try:
        response = webpush(
            subscription_info={
                "endpoint": subscription.endpoint,
                "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
            },
            data=payload.model_dump_json(by_alias=True),
            vapid_private_key=vapid,
            vapid_claims=claims,
            content_encoding="aes128gcm",
            timeout=SEND_TIMEOUT_S,
            ttl=policy.push_ttl_live_s,
            headers=headers,
            requests_session=_SESSION,
        )
    except WebPushException as error:
        status = error.response.status_code if error.response is not None else None
        if status in (404, 410):
            logger.info("push subscription %s is gone (%s); pruning it", subscription.id, status)
            db.delete(subscription)
            db.flush()
            return Delivery(subscription_id=subscription.id, status="pruned", http_status=status)
        subscription.failures += 1
        logger.warning("push to subscription %s failed: %s", subscription.id, error)
        return Delivery(subscription_id=subscription.id, status="failed", http_status=status)
    except OSError as error:
        subscription.failures += 1
        logger.warning("push to subscription %s failed: %s", subscription.id, error)
        return Delivery(subscription_id=subscription.id, status="failed", http_status=None)
    subscription.last_success_at = utcnow()
    subscription.failures = 0
    return Delivery(subscription_id=subscription.id, status="sent", http_status=getattr(response, "status_code", None))
