"""Login, logout, session rotation against fixation, CSRF, API tokens and brute-force lockout."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from people_helpers import PASSWORD, PeopleUser, login  # type: ignore[import-not-found, unused-ignore]
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from nitroplatform.auth.deps import Role
from nitroplatform.auth.passwords import WeakPasswordError, hash_password, verify_password
from nitroplatform.auth.sessions import CSRF_COOKIE, SESSION_COOKIE, digest
from nitroplatform.people.config import PeopleSettings
from nitroplatform.people.models import AuthSession


@pytest.mark.parametrize(
    ("password", "expectation"),
    [
        ("short", pytest.raises(WeakPasswordError)),
        ("twelve chars", nullcontext()),
        ("a much longer passphrase for the night shift", nullcontext()),
    ],
)
def test_password_policy_and_argon2(password: str, expectation: AbstractContextManager[object]) -> None:
    with expectation:
        hashed = hash_password(password)
        assert hashed.startswith("$argon2id$")
        assert verify_password(password, hashed)
        assert not verify_password(password + "x", hashed)


def test_login_me_logout(https_client: Callable[[], TestClient], make_user: Callable[..., PeopleUser]) -> None:
    make_user("olga", Role.officer, with_password=True)
    client = https_client()
    response = client.post("/api/v1/auth/login", json={"username": "olga", "password": PASSWORD})
    assert response.status_code == 200
    cookies = response.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookies if c.startswith(SESSION_COOKIE + "="))
    csrf_cookie = next(c for c in cookies if c.startswith(CSRF_COOKIE + "="))
    assert "HttpOnly" in session_cookie and "Secure" in session_cookie and "samesite=strict" in session_cookie.lower()
    assert "HttpOnly" not in csrf_cookie
    me = client.get("/api/v1/auth/me")
    assert me.status_code == 200
    assert me.json()["username"] == "olga" and me.json()["roles"] == ["officer"]
    csrf = {"X-CSRF-Token": response.json()["csrf_token"]}
    assert client.post("/api/v1/auth/logout", headers=csrf).status_code == 204
    assert client.get("/api/v1/auth/me").status_code == 401


def test_form_login(https_client: Callable[[], TestClient], make_user: Callable[..., PeopleUser]) -> None:
    make_user("fenna", Role.coordinator, with_password=True)
    client = https_client()
    token = client.get("/api/v1/auth/login-form-token").json()["csrf_token"]
    response = client.post("/api/v1/auth/login", data={"username": "fenna", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 200
    assert response.json()["roles"] == ["coordinator"]


# (username, password) → status; two wrong tries stay under the lockout threshold of 3
LOGIN_TABLE: list[tuple[str, str, int]] = [
    ("olga", PASSWORD, 200),
    ("olga", "wrong password!", 401),
    ("nobody", PASSWORD, 401),
    ("olga", "", 422),
]


def test_login_matrix(https_client: Callable[[], TestClient], make_user: Callable[..., PeopleUser]) -> None:
    make_user("olga", Role.officer, with_password=True)
    client = https_client()
    for username, password, expected in LOGIN_TABLE:
        response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
        assert response.status_code == expected, (username, password)
        if expected == 401:
            # Unknown user and wrong password look the same.
            assert response.json()["error"]["message"] == "wrong username or password"


def test_session_is_rotated_at_login_against_fixation(
    https_client: Callable[[], TestClient], make_user: Callable[..., PeopleUser], session_factory: sessionmaker[Session]
) -> None:
    make_user("olga", Role.officer, with_password=True)
    client = https_client()
    planted = "attacker-chosen-session-id"
    client.cookies.set(SESSION_COOKIE, planted, domain="testserver.local")
    first = client.post("/api/v1/auth/login", json={"username": "olga", "password": PASSWORD})
    first_id = first.cookies[SESSION_COOKIE]
    assert first_id != planted
    # A second login from the same browser ends the first session instead of keeping it alive.
    second = client.post("/api/v1/auth/login", json={"username": "olga", "password": PASSWORD})
    second_id = second.cookies[SESSION_COOKIE]
    assert second_id != first_id
    with session_factory() as session:
        stored = set(session.scalars(select(AuthSession.id_hash)))
    assert digest(second_id) in stored
    assert digest(first_id) not in stored and digest(planted) not in stored
    stale = https_client()
    stale.cookies.set(SESSION_COOKIE, first_id)
    assert stale.get("/api/v1/auth/me").status_code == 401


def test_csrf_required_for_cookie_sessions(
    https_client: Callable[[], TestClient], make_user: Callable[..., PeopleUser]
) -> None:
    make_user("olga", Role.officer, with_password=True)
    client = https_client()
    csrf = login(client, "olga")
    # (X-CSRF-Token header) → status of an unsafe request made with the session cookie
    table: list[tuple[str | None, int]] = [(None, 403), ("wrong-token", 403), (csrf["X-CSRF-Token"], 204)]
    for header, expected in table:
        headers = {} if header is None else {"X-CSRF-Token": header}
        assert client.post("/api/v1/auth/logout", headers=headers).status_code == expected, header
    assert client.get("/api/v1/auth/me").status_code == 401  # the last request really logged out


def test_bearer_tokens_need_no_csrf_and_bad_tokens_fail(
    https_client: Callable[[], TestClient], make_user: Callable[..., PeopleUser]
) -> None:
    user = make_user("adam", Role.admin)
    client = https_client()
    assert client.get("/api/v1/users", headers=user.headers).status_code == 200
    assert client.get("/api/v1/users", headers={"Authorization": "Bearer nst_forged"}).status_code == 401
    assert client.get("/api/v1/users", headers={"Authorization": "Basic abc"}).status_code == 401
    created = client.post("/api/v1/users/adam/tokens", json={"name": "ci"}, headers=user.headers)
    assert created.status_code == 201
    raw = created.json()["token"]
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    revoke = client.delete(f"/api/v1/users/adam/tokens/{created.json()['id']}", headers=user.headers)
    assert revoke.status_code == 204
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 401


def test_device_token_only_fetches_models(
    https_client: Callable[[], TestClient], make_user: Callable[..., PeopleUser]
) -> None:
    admin = make_user("adam", Role.admin)
    make_user("cam-12-device", Role.ml_engineer)
    client = https_client()
    created = client.post(
        "/api/v1/users/cam-12-device/tokens", json={"name": "device", "scope": "models:fetch"}, headers=admin.headers
    )
    device = {"Authorization": f"Bearer {created.json()['token']}"}
    assert client.get("/api/v1/auth/me", headers=device).status_code == 403
    assert client.get("/api/v1/models/assigned/cam-12", headers=device).status_code == 404


def test_brute_force_is_delayed(https_client: Callable[[], TestClient], make_user: Callable[..., PeopleUser]) -> None:
    make_user("olga", Role.officer, with_password=True)
    client = https_client()
    for _ in range(3):
        assert (
            client.post("/api/v1/auth/login", json={"username": "olga", "password": "guess guess guess"}).status_code
            == 401
        )
    delayed = client.post("/api/v1/auth/login", json={"username": "olga", "password": PASSWORD})
    assert delayed.status_code == 429
    assert int(delayed.headers["Retry-After"]) > 0


def test_cookie_secure_flag_follows_scheme_and_environment(
    people_app: FastAPI, make_user: Callable[..., PeopleUser], people_settings: PeopleSettings
) -> None:
    make_user("olga", Role.officer, with_password=True)
    # (base URL, explicit cookie_secure setting) → Secure flag on the session cookie (the app is in development)
    table: list[tuple[str, bool | None, bool]] = [
        ("http://testserver", None, False),
        ("https://testserver", None, True),
        ("http://testserver", True, True),
    ]
    for base_url, configured, expected in table:
        people_app.state.people_settings = people_settings.model_copy(update={"cookie_secure": configured})
        with TestClient(people_app, base_url=base_url) as client:
            response = client.post("/api/v1/auth/login", json={"username": "olga", "password": PASSWORD})
        cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
        assert ("Secure" in cookie) is expected, (base_url, configured)
