"""Re-checking a long-lived request's credential: is the session or token still good, and is the scope the same?

A live stream stays open for hours, but what its caller may see is decided by who they are *now*: after
logout, deactivation, a revoked token, an expired session, or a change of roles, teams or areas, the
stream must not go on as before. ``current_access`` answers that from the database without writing to it.
Code that changes someone's access marks it (``nitroplatform.auth.access_marks``), so open streams re-check
at once instead of at their next keepalive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fastapi import Request
from sqlalchemy.orm import Session

from nitroplatform.auth.deps import AuthUser, principal_for
from nitroplatform.auth.scope import visible_camera_ids
from nitroplatform.auth.sessions import SESSION_COOKIE, find_session
from nitroplatform.auth.tokens import find_token


@dataclass(frozen=True)
class Credential:
    """What a request authenticated with; kept in memory by the stream that needs to re-check it."""

    kind: Literal["session", "token"]
    raw: str = ""

    def __repr__(self) -> str:  # never print the secret
        return f"Credential(kind={self.kind!r})"


@dataclass(frozen=True)
class AccessSnapshot:
    """Who a caller is and which cameras they may see, at one moment."""

    user_id: int
    roles: frozenset[str]
    team_ids: frozenset[int]
    visible: frozenset[str] | None

    @classmethod
    def of(cls, user: AuthUser, visible: set[str] | None) -> AccessSnapshot:
        """The snapshot of an authenticated user with their visible cameras (None = all)."""
        return cls(
            user_id=user.id,
            roles=frozenset(str(role) for role in user.roles),
            team_ids=user.team_ids,
            visible=None if visible is None else frozenset(visible),
        )


def credential_of(request: Request) -> Credential | None:
    """The credential the request carries, the same way ``get_optional_user`` reads it."""
    header = request.headers.get("authorization")
    if header:
        _scheme, _, value = header.partition(" ")
        return Credential(kind="token", raw=value.strip())
    raw_id = request.cookies.get(SESSION_COOKIE)
    return Credential(kind="session", raw=raw_id) if raw_id else None


def current_access(db: Session, credential: Credential) -> AccessSnapshot | None:
    """The caller's access now, or None when the credential no longer authenticates an active user.

    Read-only: the token's ``last_used_at`` and the removal of an expired session are never flushed, and
    the caller closes the session without committing.
    """
    with db.no_autoflush:
        if credential.kind == "token":
            token = find_token(db, raw=credential.raw)
            if token is None or token.scope != "full":
                return None
            user = principal_for(db, user_id=token.user_id, via="token")
        else:
            row = find_session(db, raw_id=credential.raw)
            if row is None:
                return None
            user = principal_for(db, user_id=row.user_id, via="session")
        if user is None:
            return None
        return AccessSnapshot.of(user, visible_camera_ids(user, db))
