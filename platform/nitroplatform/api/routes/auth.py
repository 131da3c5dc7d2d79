"""Sign in and out: POST /api/v1/auth/login, POST /api/v1/auth/logout, GET /api/v1/auth/me.

Login sets two cookies: ``nitrosignal_session`` (HttpOnly, Secure, SameSite=Strict: the session id)
and ``nitrosignal_csrf`` (readable by the page, which echoes it in ``X-CSRF-Token``).
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import ValidationError
from sqlalchemy import select

from nitroplatform.api.deps import SessionDep, SettingsDep
from nitroplatform.audit.chain import record
from nitroplatform.auth.deps import AuthUser, CurrentUser, Role
from nitroplatform.auth.passwords import verify_password
from nitroplatform.auth.sessions import CSRF_COOKIE, SESSION_COOKIE, create_session, end_session
from nitroplatform.auth.throttle import check_lockout, clear_failures, record_failure
from nitroplatform.people.api_deps import PeopleSettingsDep
from nitroplatform.people.models import Team, User
from nitroplatform.people.schemas import LoginIn, MeOut, TeamRef

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


async def _read_credentials(request: Request) -> LoginIn:
    content_type = request.headers.get("content-type", "")
    try:
        if content_type.startswith("application/json"):
            return LoginIn.model_validate_json(await request.body())
        form = await request.form()
        return LoginIn.model_validate({key: form.get(key) for key in ("username", "password")})
    except ValidationError as error:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, detail=error.errors(include_url=False, include_input=False)
        ) from error


def _me(db: SessionDep, user: AuthUser, csrf_token: str | None) -> MeOut:
    teams = (
        db.scalars(select(Team).where(Team.id.in_(user.team_ids)).order_by(Team.name)).all() if user.team_ids else []
    )
    return MeOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        roles=sorted(user.roles),
        teams=[TeamRef(id=team.id, name=team.name) for team in teams],
        csrf_token=csrf_token,
    )


@router.post(
    "/login",
    response_model=MeOut,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": LoginIn.model_json_schema()},
                "application/x-www-form-urlencoded": {"schema": LoginIn.model_json_schema()},
            },
            "required": True,
        }
    },
)
async def login(
    request: Request, response: Response, db: SessionDep, policy: PeopleSettingsDep, settings: SettingsDep
) -> MeOut:
    """Check username and password and start a fresh session (any session the client had is ended)."""
    credentials = await _read_credentials(request)
    client = request.client.host if request.client else "unknown"
    lockout = check_lockout(db, username=credentials.username, client=client, policy=policy)
    if lockout is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail=f"{lockout.reason}; try again in {lockout.retry_after_s} s",
            headers={"Retry-After": str(lockout.retry_after_s)},
        )
    user = db.scalar(select(User).where(User.username == credentials.username))
    password_ok = verify_password(credentials.password, user.password_hash if user else None)
    if user is None or not user.active or not password_ok:
        record_failure(db, username=credentials.username, client=client)
        db.commit()
        # One message for unknown user, wrong password and deactivated account: no username probing.
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="wrong username or password")
    clear_failures(db, username=user.username)
    issued = create_session(
        db,
        user_id=user.id,
        lifetime=timedelta(hours=policy.session_hours),
        replaces=request.cookies.get(SESSION_COOKIE),
    )
    record(
        db,
        actor=user.username,
        action="auth.login",
        target_type="user",
        target_id=user.username,
        detail={"client": client},
    )
    db.commit()
    secure = policy.cookie_secure
    if secure is None:
        # Outside development cookies are always Secure; in development only when the request came over HTTPS.
        secure = settings.environment != "development" or request.url.scheme == "https"
    response.set_cookie(
        SESSION_COOKIE,
        issued.raw_id,
        max_age=issued.max_age_s,
        httponly=True,
        secure=secure,
        samesite="strict",
        path="/",
    )
    response.set_cookie(
        CSRF_COOKIE,
        issued.csrf_token,
        max_age=issued.max_age_s,
        httponly=False,
        secure=secure,
        samesite="strict",
        path="/",
    )
    principal = AuthUser(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        roles=frozenset(Role(grant.role) for grant in user.grants),
        team_ids=frozenset(membership.team_id for membership in user.memberships),
        via="session",
    )
    return _me(db, principal, issued.csrf_token)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(request: Request, response: Response, user: CurrentUser, db: SessionDep) -> Response:
    """End the current session and clear the cookies."""
    raw_id = request.cookies.get(SESSION_COOKIE)
    if user.via == "session" and raw_id:
        end_session(db, raw_id=raw_id)
        record(db, actor=user.username, action="auth.logout", target_type="user", target_id=user.username)
        db.commit()
    response.status_code = status.HTTP_204_NO_CONTENT
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.get("/me", response_model=MeOut)
def me(user: CurrentUser, db: SessionDep) -> MeOut:
    """The signed-in user, their roles and teams, and the CSRF token of a cookie session."""
    return _me(db, user, user.session_csrf)
