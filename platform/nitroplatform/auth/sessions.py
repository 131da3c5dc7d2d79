"""Server-side login sessions and their CSRF tokens.

The browser holds a random session id in an HttpOnly, Secure, SameSite=Strict cookie; the database
holds only its sha256. A CSRF token is stored with the session and also handed to the page in a
readable cookie; every unsafe request authenticated by cookie must echo it in ``X-CSRF-Token``
(double submit, checked against the server's copy, so a planted cookie is not enough).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets as token_source
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from nitroplatform.auth.access_marks import mark_access_changed
from nitroplatform.people.models import AuthSession
from nitroplatform.people.timeutil import as_utc, utcnow

SESSION_COOKIE = "nitrosignal_session"
CSRF_COOKIE = "nitrosignal_csrf"
CSRF_HEADER = "X-CSRF-Token"


def digest(raw: str) -> str:
    """sha256 hex of a high-entropy random value (session id or API token)."""
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedSession:
    """A fresh session: the raw id for the cookie and its CSRF token."""

    raw_id: str
    csrf_token: str
    max_age_s: int


def create_session(db: Session, *, user_id: int, lifetime: timedelta, replaces: str | None = None) -> IssuedSession:
    """Start a new session for ``user_id``, first deleting the session the client came with.

    Deleting ``replaces`` and issuing a brand-new random id at every login is what defeats session
    fixation: an id planted before login never becomes authenticated.
    """
    if replaces:
        db.execute(delete(AuthSession).where(AuthSession.id_hash == digest(replaces)))
    raw_id = token_source.token_urlsafe(32)
    csrf_token = token_source.token_urlsafe(32)
    now = utcnow()
    db.add(
        AuthSession(
            id_hash=digest(raw_id),
            user_id=user_id,
            csrf_token=csrf_token,
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetime,
        )
    )
    db.flush()
    return IssuedSession(raw_id=raw_id, csrf_token=csrf_token, max_age_s=int(lifetime.total_seconds()))


def find_session(db: Session, *, raw_id: str) -> AuthSession | None:
    """The live session for a cookie value, or None if unknown or expired (expired rows are removed)."""
    row = db.scalar(select(AuthSession).where(AuthSession.id_hash == digest(raw_id)))
    if row is None:
        return None
    if as_utc(row.expires_at) <= utcnow():
        db.delete(row)
        db.flush()
        return None
    return row


def end_session(db: Session, *, raw_id: str) -> None:
    """Delete the session behind a cookie value (logout); its user's open streams re-check after the commit."""
    user_id = db.scalar(select(AuthSession.user_id).where(AuthSession.id_hash == digest(raw_id)))
    db.execute(delete(AuthSession).where(AuthSession.id_hash == digest(raw_id)))
    if user_id is not None:
        mark_access_changed(db, user_ids=[user_id])


def end_all_sessions(db: Session, *, user_id: int) -> None:
    """Delete every session of a user (password change, deactivation); their open streams re-check."""
    db.execute(delete(AuthSession).where(AuthSession.user_id == user_id))
    mark_access_changed(db, user_ids=[user_id])


def csrf_matches(expected: str, presented: str | None) -> bool:
    """Constant-time comparison, so the token cannot be guessed byte by byte from response timing."""
    return presented is not None and hmac.compare_digest(expected.encode(), presented.encode())
