"""Helpers shared by the people-side tests (a uniquely named module, so it never clashes with conftest)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.testclient import TestClient

PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class PeopleUser:
    """A user with a password and a full-scope token."""

    username: str
    user_id: int
    headers: dict[str, str]


def login(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    """Log in with JSON; returns the CSRF header for later unsafe requests."""
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"X-CSRF-Token": response.json()["csrf_token"]}
