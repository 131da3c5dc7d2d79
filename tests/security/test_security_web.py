"""Abuse of the web side: security headers, password spraying across usernames from one client, path traversal
in static routes and in IAMA exports, and SQL metacharacters in search and filter parameters (on SQLite and on
PostgreSQL).

What exists elsewhere and is not repeated: the permission matrix of every route (test_security_permissions.py),
CSRF and session fixation (tests/platform/people/test_people_auth.py), login delays and login CSRF
(test_security_auth.py, test_security_proxy.py), the audit filter injection (test_people_audit.py), and the
officer app's own traversal check (tests/browser).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from nitroplatform.api.security_headers import SecurityHeaderPolicy, SecurityHeadersMiddleware
from nitroplatform.auth.deps import Role
from nitroplatform.auth.tokens import issue_token
from nitroplatform.db.models import Alert, Camera, Incident
from nitroplatform.people.config import PeopleSettings
from nitroplatform.people.service import create_user

PASSWORD = "correct horse battery staple"
OF, C, P, M, A, U = Role.officer, Role.coordinator, Role.privacy_officer, Role.ml_engineer, Role.admin, Role.auditor
EVERYONE = frozenset(Role)
PUBLIC = "public"


@pytest.fixture
def web_app(app_factory: Callable[..., FastAPI]) -> FastAPI:
    """The platform app (no ingest) with the security headers middleware added, as create_app will."""
    app = app_factory(with_ingest=False)
    app.state.people_settings = PeopleSettings(login_free_failures=3, login_free_failures_client=6)
    app.add_middleware(SecurityHeadersMiddleware)
    return app


@pytest.fixture
def client_for(web_app: FastAPI) -> Iterator[Callable[[str], TestClient]]:
    """``client_for("https://testserver")``: a started TestClient on that base URL, closed after."""
    clients: list[TestClient] = []

    def build(base_url: str = "https://testserver") -> TestClient:
        client = TestClient(web_app, base_url=base_url)
        client.__enter__()
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def headers_for(session_factory: sessionmaker[Session]) -> Callable[..., dict[str, str]]:
    """``headers_for("name", Role.admin, with_password=False)``: a user with a Bearer token; auth headers."""

    def build(username: str, *roles: Role, with_password: bool = False) -> dict[str, str]:
        with session_factory() as session:
            user = create_user(
                session, username=username, password=PASSWORD if with_password else None, roles=roles, actor="test"
            )
            token = issue_token(session, user_id=user.id, name="test")
            session.commit()
        return {"Authorization": f"Bearer {token.raw}"}

    return build


# -- security headers ------------------------------------------------------------------------------------

# (path, base URL, request headers, trust X-Forwarded-Proto, HSTS expected)
HEADER_TABLE = [
    pytest.param("/healthz", "http://testserver", {}, False, False, id="plain-http-no-hsts"),
    pytest.param("/healthz", "https://testserver", {}, False, True, id="https-hsts"),
    pytest.param("/api/v1/incidents", "https://testserver", {}, False, True, id="401-error-gets-headers-too"),
    pytest.param("/app/", "https://testserver", {}, False, True, id="app-shell-own-csp-kept"),
    pytest.param("/live", "https://testserver", {}, False, True, id="redirect"),
    pytest.param("/transparency", "http://testserver", {}, False, False, id="public-page"),
    pytest.param("/docs", "http://testserver", {}, False, False, id="api-reference-default-policy"),
    pytest.param(
        "/healthz", "http://testserver", {"X-Forwarded-Proto": "https"}, False, False, id="spoofed-proto-untrusted"
    ),
    pytest.param(
        "/healthz", "http://testserver", {"X-Forwarded-Proto": "https"}, True, True, id="trusted-tls-proxy-says-https"
    ),
    pytest.param(
        "/healthz", "http://testserver", {"X-Forwarded-Proto": "http"}, True, False, id="trusted-proxy-says-http"
    ),
]


@pytest.mark.parametrize(("path", "base_url", "request_headers", "trust", "hsts"), HEADER_TABLE)
def test_security_headers(
    path: str,
    base_url: str,
    request_headers: dict[str, str],
    trust: bool,
    hsts: bool,
    app_factory: Callable[..., FastAPI],
) -> None:
    app = app_factory(with_ingest=False)
    app.add_middleware(SecurityHeadersMiddleware, policy=SecurityHeaderPolicy(trust_forwarded_proto=trust))
    with TestClient(app, base_url=base_url, follow_redirects=False) as client:
        response = client.get(path, headers=request_headers)
    assert response.status_code < 500
    csp = response.headers["content-security-policy"]
    assert csp.count("frame-ancestors") == 1 and "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "camera=()" in response.headers["permissions-policy"]
    assert ("strict-transport-security" in response.headers) is hsts
    if path == "/app/":
        assert "default-src 'self'" in csp and "img-src 'self' data:" in csp  # the route's own policy survives
    elif path in ("/docs", "/healthz"):
        assert "object-src 'none'" in csp


# -- password spraying: many usernames, one client ---------------------------------------------------------


def test_password_spraying_across_usernames_delays_the_client(
    client_for: Callable[[str], TestClient], headers_for: Callable[..., dict[str, str]]
) -> None:
    """Six wrong passwords for six different usernames (each below the per-pair limit of 3) delay the client,
    so even the right password of a real user from that client is refused until the delay has passed."""
    headers_for("real-officer", OF, with_password=True)
    client = client_for("https://testserver")
    statuses = [
        client.post("/api/v1/auth/login", json={"username": f"user-{index}", "password": "wrong-guess-123"}).status_code
        for index in range(6)
    ]
    assert statuses == [401] * 6
    locked = client.post("/api/v1/auth/login", json={"username": "real-officer", "password": PASSWORD})
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    assert "real-officer" not in locked.text and PASSWORD not in locked.text


# -- path traversal ---------------------------------------------------------------------------------------

TRAVERSAL_PATHS = [
    "/static/../../api/routes/webapp.py",
    "/static/..%2f..%2fapi%2froutes%2fwebapp.py",
    "/static/%2e%2e/%2e%2e/settings.py",
    "/static/....//....//settings.py",
    "/static//etc/passwd",
    "/static/%2fetc%2fpasswd",
    "/static/app.css%00.py",
    "/i18n/..%2fnl.json",
    "/i18n/../../settings.json",
    "/iama/static/..%2f..%2f..%2fpyproject.toml",
    "/iama/static/%2e%2e%2fservice.py",
    "/iama/static/../records.py",
    "/app/..%2f..%2f..%2fetc%2fpasswd",
]


@pytest.mark.parametrize("path", TRAVERSAL_PATHS)
def test_static_routes_never_serve_outside_their_folder(path: str, client_for: Callable[[str], TestClient]) -> None:
    response = client_for("https://testserver").get(path, follow_redirects=False)
    assert response.status_code < 500
    body = response.text
    for secret_marker in ("root:x:0:0", "[project]", "def ", "import ", "SecretStr"):
        assert secret_marker not in body, f"{path} served {secret_marker!r}"


EXPORT_FORMATS = ["../../../etc/passwd", "..%2f..%2fsettings", "md%00", "html%2f..%2fjson", "MD", "exe", "%2e%2e"]


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
def test_iama_export_format_parameter_is_an_allow_list(
    fmt: str, client_for: Callable[[str], TestClient], headers_for: Callable[..., dict[str, str]]
) -> None:
    privacy = headers_for("priya", P)
    client = client_for("https://testserver")
    record = client.post("/api/v1/iama/example", headers=privacy)
    assert record.status_code == 201, record.text
    record_id = record.json()["id"]
    response = client.get(f"/api/v1/iama/records/{record_id}/export/{fmt}", headers=privacy)
    assert response.status_code in (404, 422), (fmt, response.status_code)
    good = client.get(f"/api/v1/iama/records/{record_id}/export/md", headers=privacy)
    assert good.status_code == 200
    disposition = good.headers["content-disposition"]
    filename = disposition.split("filename=", 1)[1].strip('"')
    assert "/" not in filename and "\\" not in filename and ".." not in filename and "\n" not in disposition


# -- injection in search and filter parameters -------------------------------------------------------------

INJECTIONS = [
    "' OR '1'='1",
    "cam-1' --",
    "'; DROP TABLE alerts; --",
    '" OR ""="',
    "%",
    "_",
    "cam-%",
    "\\",
    "cam-1\x00",
    "1 UNION SELECT password_hash FROM users",
    "ä' /*",
]


@pytest.mark.parametrize("payload", INJECTIONS)
def test_sql_metacharacters_in_filters_are_literal(
    payload: str,
    client_for: Callable[[str], TestClient],
    headers_for: Callable[..., dict[str, str]],
    session_factory: sessionmaker[Session],
) -> None:
    """Filters are bound parameters on both backends: a metacharacter is a value nobody has, never a 5xx,
    never more rows, and the tables are still there afterwards."""
    import uuid
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    with session_factory() as session:
        session.add(Camera(id="cam-1", public_key="k" * 40, name="cam-1", site="", zones=["plein"]))
        session.flush()
        session.add(
            Incident(
                id=uuid.uuid4(),
                camera_id="cam-1",
                device_incident_id=uuid.uuid4(),
                zone="plein",
                state="open",
                last_phase="new",
                opened_at=now,
                updated_at=now,
                expires_at=now + timedelta(minutes=5),
                confidence=0.9,
                confidence_max=0.9,
                people_involved="1",
                model_id="balloon-net",
                model_version="1.0",
                model_sha256="0" * 64,
                alert_count=1,
            )
        )
        session.commit()
    admin = headers_for("admin-x", A, U)  # the auditor role reads the audit log
    client = client_for("https://testserver")
    assert len(client.get("/api/v1/incidents", headers=admin).json()["items"]) == 1
    requests = [
        ("/api/v1/incidents", {"camera_id": payload}),
        ("/api/v1/incidents", {"zone": payload}),
        ("/api/v1/incidents", {"before": payload}),
        ("/api/v1/incidents", {"state": payload}),
        ("/api/v1/audit", {"actor": payload}),
        (f"/api/v1/cameras/{quote(payload, safe='')}", {}),
        (f"/api/v1/users/{quote(payload, safe='')}", {}),
    ]
    for path, params in requests:
        response = client.get(path, params=params, headers=admin)
        assert response.status_code in (200, 400, 404, 422), (path, params, response.status_code, response.text[:200])
        if response.status_code == 200 and path == "/api/v1/incidents":
            assert response.json()["items"] == [], (params, "a metacharacter matched rows")
        assert "Traceback" not in response.text and "sqlalchemy" not in response.text.lower()
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Incident)) == 1
        assert session.scalar(select(func.count()).select_from(Alert)) == 0


def test_create_app_itself_sends_the_security_headers(app_factory: Callable[..., FastAPI]) -> None:
    """The wiring in create_app, not only the middleware in isolation."""
    with TestClient(app_factory(with_ingest=False), base_url="https://testserver") as client:
        response = client.get("/api/v1/incidents")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "strict-transport-security" in response.headers
