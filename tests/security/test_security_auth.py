"""Loose ends of authentication: login CSRF, growing login delays per (client, username), token expiry, HEAD probes.

The proxy-level behaviour of the login delays (real Caddy, real client addresses) is in test_security_proxy.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from nitroplatform.auth.deps import Role
from nitroplatform.auth.login_csrf import LOGIN_CSRF_COOKIE, issue_login_token
from nitroplatform.auth.tokens import issue_token
from nitroplatform.people.config import PeopleSettings
from nitroplatform.people.models import ApiToken
from nitroplatform.people.service import create_user
from nitroplatform.people.timeutil import as_utc, utcnow

PASSWORD = "correct horse battery staple"
SECRET = "s" * 40


@pytest.fixture
def app(app_factory: Callable[..., FastAPI], session_factory: sessionmaker[Session]) -> FastAPI:
    built = app_factory(with_ingest=False, secret_key=SECRET)
    # A first delay of a minute: no delay runs out while the test looks at it, however slow the machine.
    built.state.people_settings = PeopleSettings(
        login_free_failures=3, login_free_failures_client=10, login_delay_base_s=60.0
    )
    with session_factory() as db:
        create_user(db, username="fenna", password=PASSWORD, roles=[Role.coordinator], actor="test")
        db.commit()
    return built


@pytest.fixture
def client_from(app: FastAPI) -> Iterator[Callable[[str], TestClient]]:
    """``client_from("10.0.0.2")``: a started HTTPS test client whose requests come from that address."""
    clients: list[TestClient] = []

    def build(address: str = "10.0.0.2") -> TestClient:
        client = TestClient(app, base_url="https://testserver", client=(address, 50000))
        client.__enter__()
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


def _form(client: TestClient, token: str | None, **headers: str) -> int:
    data = {"username": "fenna", "password": PASSWORD} | ({"csrf_token": token} if token is not None else {})
    status: int = client.post("/api/v1/auth/login", data=data, headers=headers).status_code
    return status


def _fresh_token(client: TestClient) -> str:
    token: str = client.get("/api/v1/auth/login-form-token").json()["csrf_token"]
    return token


# (what the login request looks like, expected status). Each row starts with a client holding a fresh token+cookie.
LOGIN_CSRF_TABLE: list[tuple[str, Callable[[TestClient, str], int], int]] = [
    ("form-with-token-and-cookie", lambda c, t: _form(c, t), 200),
    ("form-without-token", lambda c, t: _form(c, None), 403),
    ("form-token-without-cookie", lambda c, t: (c.cookies.clear(), _form(c, t))[1], 403),
    ("form-token-of-another-nonce", lambda c, t: _form(c, issue_login_token(SECRET).token), 403),
    ("form-token-signed-with-another-secret", lambda c, t: _form(c, t.rsplit(".", 1)[0] + "." + "0" * 64), 403),
    (
        "form-token-expired",
        lambda c, t: (
            c.cookies.set(LOGIN_CSRF_COOKIE, (old := issue_login_token(SECRET, now=time.time() - 7200)).nonce),
            _form(c, old.token),
        )[1],
        403,
    ),
    ("form-from-another-origin", lambda c, t: _form(c, t, Origin="https://evil.example"), 403),
    ("form-cross-site-fetch", lambda c, t: _form(c, t, **{"Sec-Fetch-Site": "cross-site"}), 403),
    (
        "json-same-origin",
        lambda c, t: (
            c.post(
                "/api/v1/auth/login",
                json={"username": "fenna", "password": PASSWORD},
                headers={"Origin": "https://testserver"},
            ).status_code
        ),
        200,
    ),
    (
        "json-from-another-origin",
        lambda c, t: (
            c.post(
                "/api/v1/auth/login", json={"username": "fenna", "password": PASSWORD}, headers={"Origin": "null"}
            ).status_code
        ),
        403,
    ),
    (
        "json-as-text-plain",  # what another site's page can send without a preflight: treated as a form
        lambda c, t: (
            c.post(
                "/api/v1/auth/login",
                content=b'{"username": "fenna", "password": "correct horse battery staple"}',
                headers={"Content-Type": "text/plain"},
            ).status_code
        ),
        403,
    ),
]


@pytest.mark.parametrize(("name", "attempt", "expected"), LOGIN_CSRF_TABLE, ids=[row[0] for row in LOGIN_CSRF_TABLE])
def test_login_csrf(
    client_from: Callable[[str], TestClient], name: str, attempt: Callable[[TestClient, str], int], expected: int
) -> None:
    client = client_from("10.0.0.2")
    token = _fresh_token(client)
    assert attempt(client, token) == expected


def test_login_csrf_token_is_signed_with_the_secret_key(
    app_factory: Callable[..., FastAPI], client_from: Callable[[str], TestClient]
) -> None:
    """A token issued by a platform with another secret_key does not pass here (the key is what signs it)."""
    other = TestClient(app_factory(with_ingest=False, secret_key="o" * 40), base_url="https://testserver")
    with other:
        foreign = other.get("/api/v1/auth/login-form-token")
    client = client_from("10.0.0.2")
    client.cookies.set(LOGIN_CSRF_COOKIE, foreign.cookies[LOGIN_CSRF_COOKIE])
    assert _form(client, foreign.json()["csrf_token"]) == 403


def test_failed_logins_delay_only_their_client_and_username(client_from: Callable[[str], TestClient]) -> None:
    attacker, officer = client_from("10.0.0.2"), client_from("10.0.0.3")
    wrong = {"username": "fenna", "password": "not the password"}
    assert [attacker.post("/api/v1/auth/login", json=wrong).status_code for _ in range(5)] == [401] * 3 + [429] * 2
    # The same user from another address is not delayed; the attacker's address is, even with the right password.
    assert officer.post("/api/v1/auth/login", json={"username": "fenna", "password": PASSWORD}).status_code == 200
    assert attacker.post("/api/v1/auth/login", json={"username": "fenna", "password": PASSWORD}).status_code == 429


# (lifetime asked for in the request body, status, expected life of the token or None)
TOKEN_TABLE: list[tuple[dict[str, Any], int, timedelta | None]] = [
    ({}, 201, timedelta(days=90)),
    ({"expires_in_days": 7}, 201, timedelta(days=7)),
    ({"expires_in_s": 600}, 201, timedelta(minutes=10)),
    ({"expires_in_days": 91}, 422, None),
    ({"expires_in_days": 3650}, 422, None),
    ({"expires_in_s": 10}, 422, None),
    ({"expires_in_days": 1, "expires_in_s": 600}, 422, None),
]


@pytest.mark.parametrize(("lifetime", "status", "life"), TOKEN_TABLE)
def test_api_tokens_expire_by_default_and_can_live_shorter(
    app: FastAPI,
    session_factory: sessionmaker[Session],
    lifetime: dict[str, Any],
    status: int,
    life: timedelta | None,
) -> None:
    with session_factory() as db:
        admin = create_user(db, username="root", password=None, roles=[Role.admin], actor="test")
        raw = issue_token(db, user_id=admin.id, name="admin").raw
        db.commit()
    with TestClient(app, base_url="https://testserver") as client:
        response = client.post(
            "/api/v1/users/fenna/tokens", json={"name": "t"} | lifetime, headers={"Authorization": f"Bearer {raw}"}
        )
    assert response.status_code == status, response.text
    if life is not None:
        with session_factory() as db:
            row = db.get(ApiToken, response.json()["id"])
            assert row is not None and row.expires_at is not None
            assert abs(as_utc(row.expires_at) - (utcnow() + life)) < timedelta(minutes=1)


def test_an_expired_token_is_refused(app: FastAPI, session_factory: sessionmaker[Session]) -> None:
    with session_factory() as db:
        admin = create_user(db, username="root", password=None, roles=[Role.admin], actor="test")
        issued = issue_token(db, user_id=admin.id, name="short", lifetime=timedelta(minutes=1))
        row = db.get(ApiToken, issued.id)
        assert row is not None
        row.expires_at = utcnow() - timedelta(seconds=1)  # as it will be a minute from now
        db.commit()
    with TestClient(app, base_url="https://testserver") as client:
        assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {issued.raw}"}).status_code == 401


def test_no_token_is_issued_without_an_expiry(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as db:
        user = create_user(db, username="bot", password=None, roles=[Role.ml_engineer], actor="test")
        with pytest.raises(ValueError, match="at most 90 days"):
            issue_token(db, user_id=user.id, name="forever", lifetime=timedelta(days=3650))
        row = db.get(ApiToken, issue_token(db, user_id=user.id, name="default").id)
        assert row is not None and row.expires_at is not None


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_head_probes_answer_like_get(client_from: Callable[[str], TestClient], path: str) -> None:
    client = client_from("10.0.0.2")
    get, head = client.get(path), client.head(path)
    assert get.status_code == head.status_code == 200
    assert head.content == b"" and head.headers["content-type"] == get.headers["content-type"]
