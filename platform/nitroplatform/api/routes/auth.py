"""Sign in and out: POST /api/v1/auth/login, POST /api/v1/auth/logout, GET /api/v1/auth/me.

Login sets two cookies: ``nitrosignal_session`` (HttpOnly, Secure, SameSite=Strict: the session id)
and ``nitrosignal_csrf`` (readable by the page, which echoes it in ``X-CSRF-Token``).

Login CSRF (another site logging the victim's browser into the attacker's account) is refused three ways: a
login whose ``Origin`` is another site, or whose ``Sec-Fetch-Site`` says ``cross-site``, is 403; a JSON login
needs ``Content-Type: application/json``, which another site's page cannot send without a CORS preflight the
platform never grants; and a form login needs the ``csrf_token`` field from ``GET /api/v1/auth/login-form-token``,
signed with ``secret_key`` and bound to a SameSite=Strict cookie that a cross-site form post does not carry.

Failed logins slow down only the (client address, username) pair and the client address they come from
(``auth/throttle.py``); the client address is the proxy's ``X-Forwarded-For`` only for trusted proxies.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select

from nitroplatform.api.deps import SessionDep, SettingsDep
from nitroplatform.audit.chain import record
from nitroplatform.auth.deps import AuthUser, CurrentUser, Role
from nitroplatform.auth.login_csrf import (
    LOGIN_CSRF_COOKIE,
    LOGIN_CSRF_FIELD,
    LOGIN_CSRF_LIFETIME_S,
    check_login_origin,
    issue_login_token,
    login_token_matches,
)
from nitroplatform.auth.passwords import verify_password
from nitroplatform.auth.sessions import CSRF_COOKIE, SESSION_COOKIE, create_session, end_session
from nitroplatform.auth.throttle import check_delay, clear_failures, prune_attempts, record_failure
from nitroplatform.people.api_deps import PeopleSettingsDep
from nitroplatform.people.models import Team, User
from nitroplatform.people.schemas import LoginIn, MeOut, TeamRef

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

_FORM_SCHEMA = LoginIn.model_json_schema()
_FORM_SCHEMA["properties"][LOGIN_CSRF_FIELD] = {"type": "string", "maxLength": 256, "title": "Login CSRF token"}
_FORM_SCHEMA["required"] = [*_FORM_SCHEMA["required"], LOGIN_CSRF_FIELD]


async def _read_credentials(request: Request, secret: str) -> LoginIn:
    content_type = request.headers.get("content-type", "")
    try:
        if content_type.startswith("application/json"):
            return LoginIn.model_validate_json(await request.body())
        form = await request.form()
        token = form.get(LOGIN_CSRF_FIELD)
        if not login_token_matches(
            secret, token if isinstance(token, str) else None, request.cookies.get(LOGIN_CSRF_COOKIE)
        ):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"a form login needs the {LOGIN_CSRF_FIELD} field from GET /api/v1/auth/login-form-token",
            )
        return LoginIn.model_validate({key: form.get(key) for key in ("username", "password")})
    except ValidationError as error:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, detail=error.errors(include_url=False, include_input=False)
        ) from error


def _cookie_secure(request: Request, policy: PeopleSettingsDep, settings: SettingsDep) -> bool:
    if policy.cookie_secure is not None:
        return policy.cookie_secure
    # Outside development cookies are always Secure; in development only when the request came over HTTPS.
    return settings.environment != "development" or request.url.scheme == "https"


class LoginFormTokenOut(BaseModel):
    """The token a form login sends as its ``csrf_token`` field."""

    csrf_token: str = Field(description=f"Send as the form field {LOGIN_CSRF_FIELD!r} within the hour.")


@router.get("/login-form-token", response_model=LoginFormTokenOut)
def login_form_token(
    request: Request, response: Response, policy: PeopleSettingsDep, settings: SettingsDep
) -> LoginFormTokenOut:
    """A login CSRF token for a form login, bound to a SameSite=Strict cookie set with it."""
    issued = issue_login_token(settings.secret_key.get_secret_value())
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        issued.nonce,
        max_age=LOGIN_CSRF_LIFETIME_S,
        httponly=True,
        secure=_cookie_secure(request, policy, settings),
        samesite="strict",
        path="/api/v1/auth",
    )
    response.headers["Cache-Control"] = "no-store"
    return LoginFormTokenOut(csrf_token=issued.token)


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
                "application/x-www-form-urlencoded": {"schema": _FORM_SCHEMA},
            },
            "required": True,
        }
    },
)
async def login(
    request: Request, response: Response, db: SessionDep, policy: PeopleSettingsDep, settings: SettingsDep
) -> MeOut:
    """Check username and password and start a fresh session (any session the client had is ended)."""
    problem = check_login_origin(request.headers, request.url)
    if problem is not None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=problem)
    credentials = await _read_credentials(request, settings.secret_key.get_secret_value())
    # The real client behind a trusted proxy: uvicorn takes it from X-Forwarded-For for NITROSIGNAL_TRUSTED_PROXIES.
    client = request.client.host if request.client else "unknown"
    delay = check_delay(db, username=credentials.username, client=client, policy=policy)
    if delay is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail=f"{delay.reason}; try again in {delay.retry_after_s} s",
            headers={"Retry-After": str(delay.retry_after_s)},
        )
    user = db.scalar(select(User).where(User.username == credentials.username))
    password_ok = verify_password(credentials.password, user.password_hash if user else None)
    if user is None or not user.active or not password_ok:
        prune_attempts(db, policy=policy)
        record_failure(db, username=credentials.username, client=client)
        db.commit()
        # One message for unknown user, wrong password and deactivated account: no username probing.
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="wrong username or password")
    clear_failures(db, username=user.username, client=client)
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
    secure = _cookie_secure(request, policy, settings)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/api/v1/auth")
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
