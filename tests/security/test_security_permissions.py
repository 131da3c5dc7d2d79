"""The permission matrix, generated from the app's own route table: every route × every caller (anonymous and
each role) × a resource of the caller's own team and one of another team, each cell with its exact status.

A route of the app with no row in ``EXPECTED`` fails the test, and so does a row for a route the app no longer has,
so a new endpoint cannot slip past. Callers use Bearer tokens (CSRF has its own tests).

Each caller gets a world of its own (two teams with an area, a camera, an incident, a shift and members), so a
cell that succeeds (a delete, a claim) changes nothing another caller's cells see. Within one caller the cells run
in route-table order, then the DELETE cells deepest path first, and the expectations follow from that order: a
claim comes before the arrival and the outcome, and a team is deleted after its members, areas and shifts.

``NITROSIGNAL_PERMISSIONS_DISCOVER=1`` prints every cell's status instead of asserting, to write a new row.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from nitroplatform.auth.deps import Role
from nitroplatform.auth.tokens import issue_token
from nitroplatform.db.models import Camera, Incident
from nitroplatform.people.config import PeopleSettings
from nitroplatform.people.service import add_area, add_member, add_shift, create_team, create_user

OF, C, P, M, A, U = Role.officer, Role.coordinator, Role.privacy_officer, Role.ml_engineer, Role.admin, Role.auditor
EVERYONE = frozenset(Role)
ANONYMOUS = "anonymous"
CALLERS: tuple[str, ...] = (ANONYMOUS, *(role.value for role in Role))
DISCOVER = os.environ.get("NITROSIGNAL_PERMISSIONS_DISCOVER") == "1"


@dataclass(frozen=True)
class Rule:
    """The expected status of every cell of one route.

    ``allowed`` is a set of roles, or ``"public"`` (anonymous callers too). Allowed callers get ``ok`` on their
    own team's resource and ``other.get(role, ok)`` on the other team's; other signed-in callers get 403 and
    anonymous callers 401 (``anonymous`` overrides that, e.g. a redirect to the login page).
    """

    allowed: frozenset[Role] | str
    ok: int
    other: dict[Role, int] = field(default_factory=dict)
    anonymous: int = 401
    body: Any = None


def _sub(caller: str, side: str) -> dict[str, Any]:
    return {
        "endpoint": f"https://push.example.invalid/{caller}-{side}",
        "keys": {"p256dh": "B" + "A" * 86, "auth": "A" * 22},
    }


FUTURE = (datetime.now(UTC) + timedelta(days=1)).isoformat()
MULTIPART = "multipart"

# (method, path template) -> Rule. Bodies are JSON, or a function of (caller, side, world) for bodies that name
# a team's resource.
EXPECTED: dict[tuple[str, str], Rule] = {
    ("GET", "/openapi.json"): Rule("public", 200, anonymous=200),
    ("HEAD", "/openapi.json"): Rule("public", 200, anonymous=200),
    # -- auth, users, tokens
    ("GET", "/api/v1/auth/login-form-token"): Rule("public", 200, anonymous=200),
    ("POST", "/api/v1/auth/login"): Rule("public", 422, anonymous=422, body={"username": "nobody"}),
    ("POST", "/api/v1/auth/logout"): Rule(EVERYONE, 204),
    ("GET", "/api/v1/auth/me"): Rule(EVERYONE, 200),
    ("GET", "/api/v1/users"): Rule(frozenset({A, C}), 200),
    ("POST", "/api/v1/users"): Rule(
        frozenset({A}), 201, body=lambda caller, side, world: {"username": f"new-{caller}", "roles": ["officer"]}
    ),
    ("GET", "/api/v1/users/{username}"): Rule(frozenset({A, C}), 200),
    ("PATCH", "/api/v1/users/{username}"): Rule(frozenset({A}), 200, body={"display_name": "T"}),
    ("GET", "/api/v1/users/{username}/tokens"): Rule(frozenset({A}), 200),
    ("POST", "/api/v1/users/{username}/tokens"): Rule(frozenset({A}), 201, body={"name": "x"}),
    ("DELETE", "/api/v1/users/{username}/tokens/{token_id}"): Rule(frozenset({A}), 404),
    # -- teams, areas, shifts, routes, silences
    ("GET", "/api/v1/teams"): Rule(frozenset({C, A, U}), 200),
    ("POST", "/api/v1/teams"): Rule(frozenset({C, A}), 201, body=lambda caller, side, world: {"name": f"new-{caller}"}),
    ("GET", "/api/v1/teams/{team_id}"): Rule(frozenset({C, A, U}), 200),
    ("PATCH", "/api/v1/teams/{team_id}"): Rule(frozenset({C, A}), 200, body={"escalate_after_s": 60}),
    ("DELETE", "/api/v1/teams/{team_id}"): Rule(frozenset({C, A}), 204),
    ("GET", "/api/v1/teams/{team_id}/members"): Rule(frozenset({C, A, U}), 200),
    ("POST", "/api/v1/teams/{team_id}/members"): Rule(
        frozenset({C, A}), 204, body=lambda caller, side, world: {"username": world.spare[side]}
    ),
    ("DELETE", "/api/v1/teams/{team_id}/members/{username}"): Rule(frozenset({C, A}), 204),
    ("GET", "/api/v1/teams/{team_id}/areas"): Rule(frozenset({C, A, U}), 200),
    ("POST", "/api/v1/teams/{team_id}/areas"): Rule(
        frozenset({C, A}), 201, body=lambda caller, side, world: {"name": "more", "camera_ids": [world.camera[side]]}
    ),
    ("DELETE", "/api/v1/teams/{team_id}/areas/{area_id}"): Rule(frozenset({C, A}), 204),
    ("GET", "/api/v1/teams/{team_id}/shifts"): Rule(frozenset({C, A, U}), 200),
    ("POST", "/api/v1/teams/{team_id}/shifts"): Rule(
        frozenset({C, A}), 201, body={"weekdays": [5], "start": "22:00", "end": "04:00"}
    ),
    ("DELETE", "/api/v1/teams/{team_id}/shifts/{shift_id}"): Rule(frozenset({C, A}), 204),
    ("GET", "/api/v1/routes"): Rule(frozenset({C, A, U}), 200),
    ("POST", "/api/v1/routes"): Rule(frozenset({C, A}), 422, body={}),
    ("PUT", "/api/v1/routes/{route_id}"): Rule(frozenset({C, A}), 422, body={}),
    ("DELETE", "/api/v1/routes/{route_id}"): Rule(frozenset({C, A}), 404),
    ("GET", "/api/v1/silences"): Rule(frozenset({OF, C, A, U}), 200),
    ("POST", "/api/v1/silences"): Rule(
        frozenset({C, A}),
        201,
        body=lambda caller, side, world: {"camera_id": world.camera[side], "ends_at": FUTURE, "comment": "roadworks"},
    ),
    ("POST", "/api/v1/silences/suspend"): Rule(
        frozenset({C, A}),
        201,
        body=lambda caller, side, world: {"camera_id": world.camera[side], "minutes": 5, "comment": "test"},
    ),
    ("DELETE", "/api/v1/silences/{silence_id}"): Rule(frozenset({C, A}), 404),
    # -- cameras, incidents, the officer's workflow, the live stream
    ("GET", "/api/v1/cameras"): Rule(EVERYONE, 200),
    ("GET", "/api/v1/cameras/{camera_id}"): Rule(EVERYONE, 200, other={OF: 404}),
    ("POST", "/api/v1/cameras"): Rule(frozenset({A}), 422, body={"camera_id": "x"}),
    ("GET", "/api/v1/incidents"): Rule(EVERYONE, 200),
    ("GET", "/api/v1/incidents/{incident_id}"): Rule(EVERYONE, 200, other={OF: 404}),
    ("POST", "/api/v1/incidents/{incident_id}/claim"): Rule(frozenset({OF, C, A}), 200, other={OF: 404}),
    ("POST", "/api/v1/incidents/{incident_id}/arrive"): Rule(frozenset({OF, C, A}), 200, other={OF: 404}),
    ("POST", "/api/v1/incidents/{incident_id}/outcome"): Rule(
        frozenset({OF, C, A}), 200, other={OF: 404}, body={"outcome": "nobody_there"}
    ),
    ("GET", "/api/v1/outcome-categories"): Rule(EVERYONE, 200),
    ("GET", "/api/v1/stream"): Rule(EVERYONE, 200),
    ("GET", "/live"): Rule(EVERYONE, 200, anonymous=303),
    ("GET", "/live/live.js"): Rule("public", 200, anonymous=200),
    # -- push
    ("GET", "/api/v1/push/vapid-public-key"): Rule(EVERYONE, 200),
    ("GET", "/api/v1/push/policy"): Rule(frozenset({C, A, U}), 200),
    ("PUT", "/api/v1/push/policy"): Rule(
        frozenset({C, A}), 200, body={"cooldown_global_s": 0, "cooldown_camera_s": 30}
    ),
    ("GET", "/api/v1/push/subscriptions"): Rule(EVERYONE, 200),
    ("POST", "/api/v1/push/subscriptions"): Rule(EVERYONE, 201, body=lambda caller, side, world: _sub(caller, side)),
    ("DELETE", "/api/v1/push/subscriptions"): Rule(EVERYONE, 404, body={"endpoint": "https://push.example.invalid/0"}),
    # -- audit, models, precision, transparency
    ("GET", "/api/v1/audit"): Rule(frozenset({U, P}), 200),
    ("GET", "/api/v1/audit/verify"): Rule(frozenset({U, P, A}), 200),
    ("GET", "/api/v1/models"): Rule(frozenset({M, P, A, U}), 200),
    ("POST", "/api/v1/models"): Rule(frozenset({M}), 422, body=MULTIPART),
    ("GET", "/api/v1/models/assignments"): Rule(frozenset({M, P, A, U}), 200),
    ("GET", "/api/v1/models/assigned/{camera_id}"): Rule(frozenset({M, P, A}), 404),
    ("GET", "/api/v1/models/{model_pk}"): Rule(frozenset({M, P, A, U}), 404),
    ("POST", "/api/v1/models/{model_pk}/approve"): Rule(frozenset({P, A}), 404),
    ("POST", "/api/v1/models/{model_pk}/reject"): Rule(frozenset({P, A}), 404),
    ("POST", "/api/v1/models/{model_pk}/assign"): Rule(
        frozenset({M, A}), 404, body=lambda caller, side, world: {"camera_ids": [world.camera[side]]}
    ),
    ("GET", "/api/v1/models/{model_pk}/file"): Rule(frozenset({M, P, A}), 404),
    ("GET", "/api/v1/models/{model_pk}/card"): Rule(frozenset({M, P, A}), 404),
    ("GET", "/api/v1/models/{model_pk}/signature"): Rule(frozenset({M, P, A}), 404),
    ("GET", "/api/v1/precision"): Rule(frozenset({M, P, C, A}), 200),
    ("GET", "/api/v1/public/cameras"): Rule("public", 200, anonymous=200),
    ("GET", "/transparency"): Rule("public", 200, anonymous=200),
    ("PUT", "/api/v1/transparency/cameras/{camera_id}"): Rule(frozenset({A, P}), 200, body={"purpose": "x"}),
    # -- IAMA
    ("GET", "/api/v1/iama/questionnaires/{questionnaire_id}"): Rule(frozenset({P, A, U, C}), 200),
    ("GET", "/api/v1/iama/deployments"): Rule(frozenset({P, A, U, C}), 200),
    ("POST", "/api/v1/iama/deployments"): Rule(frozenset({P, A}), 422, body={}),
    ("POST", "/api/v1/iama/records"): Rule(frozenset({P, A}), 422, body={}),
    ("POST", "/api/v1/iama/example"): Rule(frozenset({P, A}), 201),
    ("GET", "/api/v1/iama/records/{record_id}"): Rule(frozenset({P, A, U, C}), 404),
    ("PUT", "/api/v1/iama/records/{record_id}/answers"): Rule(frozenset({P, A}), 422, body={}),
    ("POST", "/api/v1/iama/records/{record_id}/comments"): Rule(frozenset({P, A, U, C}), 422, body={}),
    ("POST", "/api/v1/iama/comments/{comment_id}/resolve"): Rule(frozenset({P, A, U, C}), 404),
    ("POST", "/api/v1/iama/records/{record_id}/actions/{action}"): Rule(frozenset({P, A}), 404, body={}),
    ("POST", "/api/v1/iama/records/{record_id}/review"): Rule(frozenset({P, A}), 404, body={}),
    ("POST", "/api/v1/iama/records/{record_id}/advice"): Rule(frozenset({P, A}), 422, body={}),
    ("POST", "/api/v1/iama/records/{record_id}/risks/{position}"): Rule(frozenset({P, A}), 422, body={}),
    ("GET", "/api/v1/iama/records/{record_id}/export/{fmt}"): Rule(frozenset({P, A, U, C}), 404),
    ("POST", "/api/v1/iama/records/import"): Rule(frozenset({P, A}), 422, body={}),
    ("POST", "/api/v1/iama/sweep"): Rule(frozenset({P, A}), 200),
    ("GET", "/iama"): Rule("public", 200, anonymous=200),
    ("GET", "/iama/"): Rule("public", 200, anonymous=200),
    ("GET", "/iama/public/{deployment_id}"): Rule("public", 404, anonymous=404),
    ("GET", "/iama/static/{name}"): Rule("public", 200, anonymous=200),
    # -- the officer app's shell and files, operations
    ("GET", "/"): Rule("public", 307, anonymous=307),
    ("GET", "/app"): Rule("public", 307, anonymous=307),
    ("GET", "/app/"): Rule("public", 200, anonymous=200),
    ("GET", "/app/config.json"): Rule("public", 200, anonymous=200),
    ("GET", "/app/{deep_link:path}"): Rule("public", 200, anonymous=200),
    ("GET", "/static/{relative:path}"): Rule("public", 200, anonymous=200),
    ("GET", "/i18n/{language}.json"): Rule("public", 200, anonymous=200),
    ("GET", "/sw.js"): Rule("public", 200, anonymous=200),
    ("GET", "/manifest.webmanifest"): Rule("public", 200, anonymous=200),
    ("GET", "/docs"): Rule("public", 200, anonymous=200),
    ("GET", "/healthz"): Rule("public", 200, anonymous=200),
    ("HEAD", "/healthz"): Rule("public", 200, anonymous=200),
    ("GET", "/readyz"): Rule("public", 200, anonymous=200),
    ("HEAD", "/readyz"): Rule("public", 200, anonymous=200),
    # /metrics is unauthenticated by design; deploy/platform/Caddyfile answers it with 404 from outside.
    ("GET", "/metrics"): Rule("public", 200, anonymous=200),
}

# Path parameters that name no team's resource, and what the cells fill in for them.
FIXED_PARAMS = {
    "token_id": "999999",
    "route_id": "999999",
    "silence_id": "999999",
    "model_pk": "999999",
    "record_id": "999999",
    "comment_id": "999999",
    "position": "1",
    "action": "submit",
    "fmt": "md",
    "questionnaire_id": "iama-v2-2026",
    "deployment_id": "none",
    "name": "iama.js",
    "deep_link:path": "incidents",
    "relative:path": "app.css",
    "language": "nl",
}


def route_table(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) the app serves, from its route table (OPTIONS aside)."""
    found: list[tuple[str, str]] = []
    for route in app.routes:
        # FastAPI >= 0.120 keeps included routers as such; older versions list their routes directly.
        contexts: list[Any] = (
            route.effective_route_contexts() if hasattr(route, "effective_route_contexts") else [route]
        )
        for context in contexts:
            for method in sorted(set(getattr(context, "methods", None) or ()) - {"OPTIONS"}):
                found.append((method, str(context.path)))
    return found


@dataclass
class World:
    """One caller's own and other team, with what they hold."""

    headers: dict[str, str]
    team: dict[str, int]
    camera: dict[str, str]
    incident: dict[str, str]
    member: dict[str, str]
    spare: dict[str, str]
    area: dict[str, int]
    shift: dict[str, int]


def _incident(db: Session, camera_id: str) -> str:
    now = datetime.now(UTC)
    incident = Incident(
        id=uuid.uuid4(),
        camera_id=camera_id,
        device_incident_id=uuid.uuid4(),
        state="open",
        last_phase="new",
        opened_at=now,
        updated_at=now,
        expires_at=now + timedelta(minutes=30),
        confidence=0.9,
        confidence_max=0.9,
        people_involved="1",
        model_id="balloon-net",
        model_version="1.0",
        model_sha256="0" * 64,
        alert_count=1,
    )
    db.add(incident)
    db.flush()
    return str(incident.id)


def build_world(db: Session, caller: str) -> World:
    """Two teams for ``caller`` ('own', with the caller as a member, and 'other'), each fully furnished."""
    world = World({}, {}, {}, {}, {}, {}, {}, {})
    tag = caller.replace("_", "-")
    user_id = None
    if caller != ANONYMOUS:
        user = create_user(db, username=f"as-{tag}", password=None, roles=[Role(caller)], actor="test")
        user_id = user.id
    for side in ("own", "other"):
        camera_id = f"cam-{side}-{tag}"
        db.add(Camera(id=camera_id, public_key=uuid.uuid4().hex[:40].ljust(40, "k"), name=camera_id, zones=[]))
        team = create_team(db, name=f"{side}-{tag}", actor="test")
        for name in (f"mate-{side}-{tag}", f"spare-{side}-{tag}"):
            create_user(db, username=name, password=None, roles=[OF], actor="test")
        add_member(db, team_id=team.id, username=f"mate-{side}-{tag}", actor="test")
        if side == "own" and user_id is not None:
            add_member(db, team_id=team.id, username=f"as-{tag}", actor="test")
        area = add_area(db, team_id=team.id, name=f"area-{side}", camera_ids=[camera_id], actor="test")
        shift = add_shift(db, team_id=team.id, weekdays=[1], start_minute=0, end_minute=60, actor="test")
        world.team[side], world.camera[side] = team.id, camera_id
        world.area[side], world.shift[side] = area.id, shift.id
        world.incident[side] = _incident(db, camera_id)
        world.member[side], world.spare[side] = f"mate-{side}-{tag}", f"spare-{side}-{tag}"
    if user_id is not None:
        world.headers = {"Authorization": f"Bearer {issue_token(db, user_id=user_id, name='matrix').raw}"}
    return world


def _path(template: str, world: World, side: str) -> str:
    values = {
        "team_id": str(world.team[side]),
        "camera_id": world.camera[side],
        "incident_id": world.incident[side],
        "username": world.member[side],
        "area_id": str(world.area[side]),
        "shift_id": str(world.shift[side]),
        **FIXED_PARAMS,
    }
    return re.sub(r"\{([^}]+)\}", lambda match: values[match.group(1)], template)


def _expected(rule: Rule, caller: str, side: str) -> int:
    if caller == ANONYMOUS:
        return rule.anonymous
    role = Role(caller)
    if rule.allowed == "public" or (isinstance(rule.allowed, frozenset) and role in rule.allowed):
        return rule.other.get(role, rule.ok) if side == "other" else rule.ok
    return 403


def _call(client: TestClient, method: str, path: str, body: Any, headers: dict[str, str]) -> int:
    if body == MULTIPART:
        files = {"file": ("m.pt", b"x"), "card": ("m.card.json", b"{}"), "signature": ("m.sig", b"AA==")}
        return int(client.post(path, files=files, headers=headers).status_code)
    if path == "/api/v1/stream":
        # An allowed caller's stream never ends: the status line is all this cell needs.
        with client.stream(method, path, headers=headers) as response:
            return int(response.status_code)
    return int(client.request(method, path, json=body, headers=headers, follow_redirects=False).status_code)


def _order(cells: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Route-table order, then the deletes, deepest path first (a team goes after its members and areas)."""
    deletes = sorted((cell for cell in cells if cell[0] == "DELETE"), key=lambda cell: -cell[1].count("/"))
    return [cell for cell in cells if cell[0] != "DELETE"] + deletes


@pytest.fixture
def matrix_app(app_factory: Callable[..., FastAPI]) -> Iterator[TestClient]:
    app = app_factory(with_ingest=False)
    app.state.people_settings = PeopleSettings(
        push_allowed_hosts=["push.example.invalid"], push_allow_private_addresses=True
    )
    with TestClient(app, base_url="https://testserver") as client:
        yield client


def test_every_route_has_an_expectation(app_factory: Callable[..., FastAPI]) -> None:
    served = set(route_table(app_factory(with_ingest=False)))
    assert len(served) > 90, f"found only {len(served)} routes: the route listing is broken"
    missing = sorted(served - EXPECTED.keys())
    stale = sorted(EXPECTED.keys() - served)
    assert not missing, f"routes without an expected status per role: {missing}"
    assert not stale, f"expectations for routes the app does not serve: {stale}"


def test_permission_matrix(matrix_app: TestClient, session_factory: sessionmaker[Session]) -> None:
    with session_factory() as db:
        worlds = {caller: build_world(db, caller) for caller in CALLERS}
        db.commit()
    cells = _order([cell for cell in route_table(matrix_app.app) if cell in EXPECTED])  # type: ignore[arg-type]
    mismatches, seen = [], []
    for caller in CALLERS:
        world = worlds[caller]
        for method, template in cells:
            rule = EXPECTED[(method, template)]
            for side in ("own", "other"):
                path = _path(template, world, side)
                if side == "other" and path == _path(template, world, "own"):
                    continue  # no team's resource in this route: one cell serves both columns
                body = rule.body(caller, side, world) if callable(rule.body) else rule.body
                status = _call(matrix_app, method, path, body, world.headers)
                expected = _expected(rule, caller, side)
                seen.append(f"{method} {template} {caller} {side}: {status}")
                if status != expected:
                    mismatches.append(f"{method} {path} as {caller} ({side} team): expected {expected}, got {status}")
    if DISCOVER:
        print("\n".join(seen))
        return
    assert len(seen) > 600
    assert not mismatches, f"{len(mismatches)} cells differ:\n" + "\n".join(mismatches)
