"""API tokens: Bearer credentials for integrations and devices, stored only as sha256 digests.

A token looks like ``nst_<43 url-safe characters>``. Scope ``full`` acts as its user with the user's
roles; scope ``models:fetch`` may only download approved models (for devices).

Every token expires: after ``MAX_TOKEN_LIFETIME`` (90 days) unless it is given a shorter life, so a token that
leaked or was forgotten stops working by itself. A device's token is renewed with ``nitrosignal platform user
token`` before it runs out.
"""

from __future__ import annotations

import secrets as token_source
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from nitroplatform.auth.sessions import digest
from nitroplatform.people.models import ApiToken
from nitroplatform.people.timeutil import as_utc, utcnow

TOKEN_PREFIX = "nst_"
TokenScope = Literal["full", "models:fetch"]
TOKEN_SCOPES: tuple[TokenScope, ...] = ("full", "models:fetch")
MAX_TOKEN_LIFETIME = timedelta(days=90)
"""The default and the longest life of an API token."""


@dataclass(frozen=True)
class IssuedToken:
    """A new token: the raw value is shown once and never stored."""

    id: int
    raw: str
    prefix: str
    scope: TokenScope


def issue_token(
    db: Session, *, user_id: int, name: str, scope: TokenScope = "full", lifetime: timedelta = MAX_TOKEN_LIFETIME
) -> IssuedToken:
    """Create a token for ``user_id`` that expires after ``lifetime``; the caller shows ``raw`` exactly once.

    Raises:
        ValueError: for an unknown scope, or a lifetime that is not positive or longer than MAX_TOKEN_LIFETIME.
    """
    if scope not in TOKEN_SCOPES:
        raise ValueError(f"token scope must be one of {TOKEN_SCOPES}, got {scope!r}")
    if not timedelta(0) < lifetime <= MAX_TOKEN_LIFETIME:
        raise ValueError(f"a token lives more than 0 and at most {MAX_TOKEN_LIFETIME.days} days, asked {lifetime}")
    expires_at = utcnow() + lifetime
    raw = TOKEN_PREFIX + token_source.token_urlsafe(32)
    row = ApiToken(
        user_id=user_id,
        name=name,
        token_hash=digest(raw),
        prefix=raw[:10],
        scope=scope,
        expires_at=expires_at,
    )
    db.add(row)
    db.flush()
    return IssuedToken(id=row.id, raw=raw, prefix=row.prefix, scope=scope)


def find_token(db: Session, *, raw: str) -> ApiToken | None:
    """The valid token row for a presented Bearer value, or None (unknown, revoked or expired)."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    row = db.scalar(select(ApiToken).where(ApiToken.token_hash == digest(raw)))
    if row is None or row.revoked:
        return None
    if row.expires_at is not None and as_utc(row.expires_at) <= utcnow():
        return None
    row.last_used_at = utcnow()
    return row
