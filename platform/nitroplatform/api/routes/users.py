"""User administration: /api/v1/users (admin; coordinators may list) and API tokens per user."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from sqlalchemy import select

from nitroplatform.api.deps import SessionDep
from nitroplatform.audit.chain import record
from nitroplatform.auth.access_marks import mark_access_changed
from nitroplatform.auth.deps import AuthUser, Role, require_roles
from nitroplatform.auth.tokens import issue_token
from nitroplatform.people import service
from nitroplatform.people.api_deps import domain_errors
from nitroplatform.people.models import ApiToken, User
from nitroplatform.people.schemas import TokenIn, TokenOut, UserIn, UserOut, UserPatch

router = APIRouter(prefix="/api/v1/users", tags=["users"])

Admin = Annotated[AuthUser, Depends(require_roles(Role.admin))]
UserReader = Annotated[AuthUser, Depends(require_roles(Role.admin, Role.coordinator))]


def user_out(user: User) -> UserOut:
    """The API view of a user."""
    return UserOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        active=user.active,
        roles=sorted(Role(grant.role) for grant in user.grants),
        team_ids=sorted(membership.team_id for membership in user.memberships),
        created_at=user.created_at,
    )


def token_out(token: ApiToken, raw: str | None = None) -> TokenOut:
    """The API view of a token (the secret only when just created)."""
    return TokenOut(
        id=token.id,
        name=token.name,
        prefix=token.prefix,
        scope=token.scope,
        created_at=token.created_at,
        expires_at=token.expires_at,
        last_used_at=token.last_used_at,
        revoked=token.revoked,
        token=raw,
    )


@router.get("", response_model=list[UserOut])
def list_users(_user: UserReader, db: SessionDep) -> list[UserOut]:
    """All users with roles and teams."""
    return [user_out(user) for user in service.list_users(db)]


@router.post("", response_model=UserOut, status_code=status.HTTP_201_CREATED)
def create_user(body: UserIn, admin: Admin, db: SessionDep) -> UserOut:
    """Create a user. Passwords need at least 12 characters; no password makes a token-only account."""
    with domain_errors():
        user = service.create_user(
            db,
            username=body.username,
            password=body.password,
            roles=body.roles,
            display_name=body.display_name,
            actor=admin.username,
        )
    db.commit()
    return user_out(user)


@router.get("/{username}", response_model=UserOut)
def get_user(username: str, _user: UserReader, db: SessionDep) -> UserOut:
    """One user."""
    with domain_errors():
        return user_out(service.get_user(db, username=username))


@router.patch("/{username}", response_model=UserOut)
def update_user(username: str, body: UserPatch, admin: Admin, db: SessionDep) -> UserOut:
    """Change a user's display name, password, roles or active flag."""
    with domain_errors():
        user = service.get_user(db, username=username)
        if body.roles is not None:
            if username == admin.username and Role.admin not in body.roles:
                # Keeps at least one admin able to undo mistakes; another admin can demote this one.
                raise HTTPException(status.HTTP_409_CONFLICT, detail="you cannot remove your own admin role")
            service.set_roles(db, username=username, roles=body.roles, actor=admin.username)
        if body.password is not None:
            service.set_password(db, username=username, password=body.password, actor=admin.username)
        if body.active is not None:
            if username == admin.username and not body.active:
                raise HTTPException(status.HTTP_409_CONFLICT, detail="you cannot deactivate yourself")
            service.set_active(db, username=username, active=body.active, actor=admin.username)
        if body.display_name is not None:
            user.display_name = body.display_name
    db.commit()
    return user_out(user)


@router.get("/{username}/tokens", response_model=list[TokenOut])
def list_tokens(username: str, _admin: Admin, db: SessionDep) -> list[TokenOut]:
    """A user's API tokens (never the secrets)."""
    with domain_errors():
        user = service.get_user(db, username=username)
    rows = db.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)).all()
    return [token_out(row) for row in rows]


@router.post("/{username}/tokens", response_model=TokenOut, status_code=status.HTTP_201_CREATED)
def create_token(username: str, body: TokenIn, admin: Admin, db: SessionDep) -> TokenOut:
    """Create an API token for a user; the response holds the secret, which is not shown again."""
    with domain_errors():
        user = service.get_user(db, username=username)
    issued = issue_token(db, user_id=user.id, name=body.name, scope=body.scope, lifetime=body.lifetime)
    record(
        db,
        actor=admin.username,
        action="token.create",
        target_type="user",
        target_id=username,
        detail={"token_id": issued.id, "scope": body.scope},
    )
    db.commit()
    row = db.get(ApiToken, issued.id)
    if row is None:
        raise RuntimeError("token vanished after commit")
    return token_out(row, raw=issued.raw)


@router.delete("/{username}/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(username: str, token_id: int, admin: Admin, db: SessionDep) -> None:
    """Revoke a token; it stops working at once."""
    with domain_errors():
        user = service.get_user(db, username=username)
    row = db.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"{username!r} has no token {token_id}")
    row.revoked = True
    mark_access_changed(db, user_ids=[user.id])  # a live stream opened with this token ends
    record(
        db,
        actor=admin.username,
        action="token.revoke",
        target_type="user",
        target_id=username,
        detail={"token_id": token_id},
    )
    db.commit()
