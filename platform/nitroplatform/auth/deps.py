"""FastAPI dependencies for who is calling: ``CurrentUser``, ``OptionalUser`` and ``require_roles``.

A caller authenticates either with a Bearer API token (integrations, devices) or with the session
cookie set at login (the officer web app). Cookie-authenticated unsafe requests (POST, PUT, PATCH,
DELETE) must carry the session's CSRF token in ``X-CSRF-Token``; token-authenticated requests need
no CSRF token because browsers never attach an Authorization header on their own.

``require_roles`` is strict: admin is not implied, each route lists every role it allows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy.orm import Session

from nitroplatform.api.deps import SessionDep
from nitroplatform.auth.sessions import CSRF_HEADER, SESSION_COOKIE, csrf_matches, find_session
from nitroplatform.auth.tokens import find_token
from nitroplatform.people.models import User

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Role(StrEnum):
    """The roles a user can hold; a user may hold several."""

    officer = "officer"
    coordinator = "coordinator"
    privacy_officer = "privacy_officer"
    ml_engineer = "ml_engineer"
    admin = "admin"
    auditor = "auditor"


ALL_ROLES: tuple[Role, ...] = tuple(Role)


@dataclass(frozen=True)
class AuthUser:
    """The authenticated caller of one request."""

    id: int
    username: str
    display_name: str
    roles: frozenset[Role]
    team_ids: frozenset[int]
    via: Literal["session", "token"]
    token_scope: str | None = None
    session_csrf: str | None = field(default=None, repr=False)

    def has_any(self, *roles: Role) -> bool:
        """True when the user holds at least one of ``roles``."""
        return bool(self.roles.intersection(roles))


def principal_for(db: Session, *, user_id: int, via: Literal["session", "token"]) -> AuthUser | None:
    """Load the active user ``user_id`` with roles and teams, or None if missing or deactivated."""
    user = db.get(User, user_id)
    if user is None or not user.active:
        return None
    return AuthUser(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        roles=frozenset(Role(grant.role) for grant in user.grants),
        team_ids=frozenset(membership.team_id for membership in user.memberships),
        via=via,
    )


def _unauthorised(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def _from_bearer(db: Session, header: str) -> AuthUser:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise _unauthorised("Authorization header must be 'Bearer <token>'")
    token = find_token(db, raw=value.strip())
    if token is None:
        raise _unauthorised("unknown, revoked or expired API token")
    principal = principal_for(db, user_id=token.user_id, via="token")
    if principal is None:
        raise _unauthorised("the token's user is deactivated")
    db.commit()  # persist last_used_at
    return AuthUser(**{**principal.__dict__, "token_scope": token.scope})


def get_optional_user(request: Request, db: SessionDep) -> AuthUser | None:
    """The caller, or None when the request carries no credentials (public endpoints).

    A Bearer header that does not check out is an error (401), never silently anonymous. A stale
    session cookie is treated as no cookie, so the web app can show its login page.
    """
    header = request.headers.get("authorization")
    if header:
        return _from_bearer(db, header)
    raw_id = request.cookies.get(SESSION_COOKIE)
    if not raw_id:
        return None
    row = find_session(db, raw_id=raw_id)
    if row is None:
        db.commit()
        return None
    if request.method not in SAFE_METHODS and not csrf_matches(row.csrf_token, request.headers.get(CSRF_HEADER)):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"missing or wrong {CSRF_HEADER} header")
    principal = principal_for(db, user_id=row.user_id, via="session")
    if principal is None:
        return None
    return AuthUser(**{**principal.__dict__, "session_csrf": row.csrf_token})


OptionalUser = Annotated[AuthUser | None, Depends(get_optional_user)]


def get_current_user(user: OptionalUser) -> AuthUser:
    """The authenticated caller with full scope; 401 without credentials.

    Device tokens (scope ``models:fetch``) are refused here: they only work on the model download routes,
    which use ``get_model_fetcher`` instead.
    """
    if user is None:
        raise _unauthorised("not authenticated")
    if user.via == "token" and user.token_scope != "full":
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"token scope {user.token_scope!r} is not allowed here")
    return user


CurrentUser = Annotated[AuthUser, Depends(get_current_user)]


def require_roles(*roles: Role) -> Callable[[AuthUser], AuthUser]:
    """A dependency that passes the current user through if they hold one of ``roles``, else 403.

    Use as ``user: Annotated[AuthUser, Depends(require_roles(Role.admin))]`` or in
    ``dependencies=[Depends(require_roles(...))]``.
    """
    if not roles:
        raise ValueError("require_roles needs at least one role")
    allowed = frozenset(roles)

    def _check(user: CurrentUser) -> AuthUser:
        if not user.roles.intersection(allowed):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"needs one of the roles {sorted(allowed)}, you have {sorted(user.roles)}",
            )
        return user

    return _check


def get_model_fetcher(user: OptionalUser) -> AuthUser:
    """Devices with a ``models:fetch`` token, or users allowed to handle models."""
    if user is None:
        raise _unauthorised("not authenticated")
    if user.via == "token" and user.token_scope == "models:fetch":
        return user
    if user.has_any(Role.ml_engineer, Role.privacy_officer, Role.admin):
        return user
    raise HTTPException(status.HTTP_403_FORBIDDEN, detail="needs a models:fetch token or a model-handling role")


ModelFetcher = Annotated[AuthUser, Depends(get_model_fetcher)]
