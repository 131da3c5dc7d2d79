"""Helpers shared by the people-side tests (a uniquely named module, so it never clashes with conftest)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from nitroplatform.db.models import Camera, Incident

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


def add_camera(session: Session, camera_id: str, *, zones: tuple[str, ...] = ()) -> None:
    """A camera row with a made-up (but well-formed) public key; enough for the people side."""
    key = (camera_id.encode().hex() * 40)[:40]
    session.add(Camera(id=camera_id, public_key=key, name=camera_id, site="", zones=list(zones)))
    session.flush()


def add_incident(
    session: Session,
    camera_id: str,
    *,
    zone: str | None = None,
    state: str = "open",
    opened_at: datetime | None = None,
    model_version: str = "1.0",
) -> uuid.UUID:
    """An incident row as the ingest would have written it."""
    now = opened_at or datetime.now(UTC)
    incident = Incident(
        id=uuid.uuid4(),
        camera_id=camera_id,
        device_incident_id=uuid.uuid4(),
        zone=zone,
        state=state,
        last_phase="new",
        opened_at=now,
        updated_at=now,
        expires_at=now + timedelta(minutes=5),
        confidence=0.9,
        confidence_max=0.9,
        people_involved="2-4",
        model_id="balloon-net",
        model_version=model_version,
        model_sha256="0" * 64,
        alert_count=1,
    )
    session.add(incident)
    session.flush()
    return incident.id
