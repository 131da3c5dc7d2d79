"""HTTP API of the core: health, metrics, cameras and incidents with their permission matrix, the error
schema, the live page, and settings validation."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from nitroplatform.auth.deps import Role
from nitroplatform.db.models import utcnow
from nitroplatform.incidents.service import apply_alerts
from nitroplatform.people.record_models import AuditEntry
from nitroplatform.settings import Settings

GOOD_KEY = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"


@pytest.fixture
def client(client_factory: Callable[..., TestClient]) -> TestClient:
    return client_factory()


def test_health_and_metrics(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ingest"] is None
    assert "nitrosignal_ingest_messages_total" in client.get("/metrics").text
    assert "/api/v1/incidents" in client.get("/openapi.json").json()["paths"]


# what the reference page must show → a fragment of its HTML
REFERENCE_TABLE = [
    ("an operation", '<span class="path">/api/v1/incidents/{incident_id}</span>'),
    ("a path parameter", "<td><code>incident_id</code></td><td>path</td>"),
    ("a response model", "<td>200</td><td>Successful Response</td><td><code>IncidentOut</code></td>"),
    ("a schema", '<section class="schema" id="schema-IncidentOut">'),
    ("a field with its description", "<td><code>claimed_by</code></td><td>string | null</td>"),
    ("a link to the document", '<a href="/openapi.json">'),
]


def test_api_reference_is_self_contained(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    html = response.text
    for what, fragment in REFERENCE_TABLE:
        assert fragment in html, what
    # Nothing is loaded from outside and nothing runs: no script, no remote source or style sheet.
    assert "<script" not in html and "http://" not in html and "https://" not in html
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert client.get("/redoc").status_code == 404


@pytest.mark.parametrize(
    ("roles", "expected_status"),
    [(None, 401), ([Role.officer], 403), ([Role.coordinator], 403), ([Role.admin], 201)],
)
def test_register_camera_permissions(
    roles: list[Role] | None, expected_status: int, client: TestClient, token_factory: Callable[..., dict[str, str]]
) -> None:
    headers = token_factory("caller", roles=roles) if roles else {}
    response = client.post(
        "/api/v1/cameras", json={"id": "cam-api", "public_key": GOOD_KEY, "zones": ["plein"]}, headers=headers
    )
    assert response.status_code == expected_status
    if expected_status == 201:
        assert response.json()["status"] == "offline"
    else:
        assert set(response.json()) == {"error"}


@pytest.mark.parametrize(
    ("body", "expected_status", "code"),
    [
        ({"id": "cam-x", "public_key": GOOD_KEY}, 201, None),
        ({"id": "cam-a", "public_key": GOOD_KEY}, 409, "conflict"),  # key already registered to cam-a's twin
        ({"id": "cam-y", "public_key": "," * 40}, 422, "invalid_public_key"),  # not Z85
        ({"id": "Bad Id", "public_key": GOOD_KEY}, 422, "validation_error"),
        ({"id": "cam-z", "public_key": GOOD_KEY, "colour": "red"}, 422, "validation_error"),
    ],
)
def test_register_camera_validation(
    body: dict[str, Any],
    expected_status: int,
    code: str | None,
    client: TestClient,
    token_factory: Callable[..., dict[str, str]],
) -> None:
    headers = token_factory("admin", roles=[Role.admin])
    if code == "conflict":
        assert (
            client.post("/api/v1/cameras", json={"id": "cam-twin", "public_key": GOOD_KEY}, headers=headers).status_code
            == 201
        )
    response = client.post("/api/v1/cameras", json=body, headers=headers)
    assert response.status_code == expected_status
    if code:
        assert response.json()["error"]["code"] == code


def test_incidents_are_scoped_and_listed(
    client: TestClient, token_factory: Callable[..., dict[str, str]], session_factory: sessionmaker[Session], wire: Any
) -> None:
    from nitroplatform.ingest.handler import _facts

    now = utcnow()
    with session_factory() as session:
        result = apply_alerts(session, alerts=[_facts(wire.alert("cam-1", 1)), _facts(wire.alert("cam-2", 1))], now=now)
        session.commit()
    coordinator = token_factory("coord", roles=[Role.coordinator])
    officer = token_factory("officer", roles=[Role.officer])  # in no team: sees nothing
    listed = client.get("/api/v1/incidents", headers=coordinator).json()
    assert {item["camera_id"] for item in listed["items"]} == {"cam-1", "cam-2"}
    assert (
        client.get("/api/v1/incidents?camera_id=cam-2", headers=coordinator).json()["items"][0]["camera_id"] == "cam-2"
    )
    assert client.get("/api/v1/incidents?state=closed", headers=coordinator).json()["items"] == []
    assert client.get("/api/v1/incidents", headers=officer).json()["items"] == []
    one = result.incident_ids[0]
    assert client.get(f"/api/v1/incidents/{one}", headers=coordinator).json()["id"] == str(one)
    with session_factory() as session:
        views = session.scalars(select(AuditEntry).where(AuditEntry.action == "incident.view")).all()
        assert [(entry.actor, entry.target_id) for entry in views] == [("coord", str(one))]
    hidden = client.get(f"/api/v1/incidents/{one}", headers=officer)
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/incidents", headers={}).status_code == 401


def test_live_page(client: TestClient, token_factory: Callable[..., dict[str, str]]) -> None:
    anonymous = client.get("/live", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/app/login")
    page = client.get("/live", headers=token_factory("viewer", roles=[Role.coordinator]))
    assert page.status_code == 200 and 'src="/live/live.js"' in page.text and "<img" not in page.text
    assert "EventSource" in client.get("/live/live.js").text


@pytest.mark.parametrize(
    ("values", "expectation"),
    [
        ({}, contextlib.nullcontext()),
        (
            {"environment": "production", "database_url": "sqlite:///x.db", "secret_key": "s" * 40},
            contextlib.nullcontext(),
        ),
        ({"environment": "production", "database_url": "sqlite:///x.db"}, pytest.raises(ValidationError)),
        (
            {"environment": "production", "database_url": "sqlite:///x.db", "secret_key": "short"},
            pytest.raises(ValidationError),
        ),
        (
            {
                "environment": "production",
                "database_url": "sqlite:///x.db",
                "secret_key": "s" * 40,
                "gating_mode": "open",
            },
            pytest.raises(ValidationError),
        ),
        ({"environment": "production", "secret_key": "s" * 40}, pytest.raises(ValidationError)),
        ({"retention_dayz": 3}, pytest.raises(ValidationError)),
    ],
)
def test_settings_refuse_unsafe_values(values: dict[str, Any], expectation: Any) -> None:
    with expectation:
        settings = Settings(**values)
        assert settings.retention_days == 28
