"""Fixtures for the people-side tests: an app with people settings, HTTPS test clients, users per role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from people_helpers import PASSWORD, PeopleUser  # type: ignore[import-not-found, unused-ignore]
from sqlalchemy.orm import Session, sessionmaker

from nitroplatform.auth.deps import Role
from nitroplatform.auth.tokens import issue_token
from nitroplatform.people.config import PeopleSettings
from nitroplatform.people.service import create_user


@pytest.fixture
def people_settings() -> PeopleSettings:
    """Test tunables: local http push receivers allowed, no cooldowns unless a test sets them."""
    return PeopleSettings(
        push_allow_insecure_endpoints=True,
        push_allowed_hosts=["127.0.0.1", "push.example.invalid"],
        push_allow_private_addresses=True,
        push_cooldown_camera_s=0,
        push_cooldown_global_s=0,
        login_free_failures=3,
        login_free_failures_client=10,
    )


@pytest.fixture
def people_app(app_factory: Callable[..., FastAPI], people_settings: PeopleSettings) -> FastAPI:
    """The platform app without ingest, with the test people settings."""
    app = app_factory(with_ingest=False)
    app.state.people_settings = people_settings
    return app


@pytest.fixture
def https_client(people_app: FastAPI) -> Iterator[Callable[[], TestClient]]:
    """``https_client()`` gives a fresh started client on https://testserver (Secure cookies travel)."""
    clients: list[TestClient] = []

    def build() -> TestClient:
        client = TestClient(people_app, base_url="https://testserver")
        client.__enter__()
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def make_user(session_factory: sessionmaker[Session]) -> Callable[..., PeopleUser]:
    """``make_user("olga", Role.officer)`` creates a user with a Bearer token.

    ``with_password=True`` also sets PASSWORD (argon2 costs ~0.5 s here, so only tests that log in ask).
    """

    def build(username: str, *roles: Role, with_password: bool = False, **extra: Any) -> PeopleUser:
        with session_factory() as session:
            password = PASSWORD if with_password else None
            user = create_user(session, username=username, password=password, roles=roles, actor="test", **extra)
            token = issue_token(session, user_id=user.id, name="test")
            session.commit()
            return PeopleUser(username=username, user_id=user.id, headers={"Authorization": f"Bearer {token.raw}"})

    return build
