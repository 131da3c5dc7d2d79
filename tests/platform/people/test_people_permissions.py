"""The permission matrix: every people-side endpoint × every role (+ anonymous) → allowed or denied.

"Allowed" means the request got past authentication and authorisation (any status but 401/403; a 404 or
422 for a made-up id or body still proves the door was open). "Denied" means 401 for anonymous callers
and 403 for signed-in users without the role. Callers use Bearer tokens, so CSRF plays no part here;
CSRF has its own tests in test_people_auth.py.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from people_helpers import PeopleUser  # type: ignore[import-not-found, unused-ignore]

from nitroplatform.auth.deps import Role

OF, C, P, M, A, U = Role.officer, Role.coordinator, Role.privacy_officer, Role.ml_engineer, Role.admin, Role.auditor
EVERYONE = frozenset(Role)
PUBLIC = "public"
INCIDENT = uuid.uuid4()
FUTURE = "2999-01-01T00:00:00+00:00"
SUBSCRIPTION = {
    "endpoint": "https://push.example.invalid/x",
    "keys": {"p256dh": "B" + "A" * 86, "auth": "A" * 22},
}

# (method, path, json body or None, roles allowed (or PUBLIC))
MATRIX: list[tuple[str, str, dict[str, Any] | None, frozenset[Role] | str]] = [
    # An incomplete body (422) shows the door is open without counting as a failed login.
    ("POST", "/api/v1/auth/login", {"username": "nobody"}, PUBLIC),
    ("GET", "/api/v1/auth/me", None, EVERYONE),
    ("POST", "/api/v1/auth/logout", None, EVERYONE),
    ("GET", "/api/v1/users", None, frozenset({A, C})),
    ("POST", "/api/v1/users", {"username": "new-user", "roles": ["officer"]}, frozenset({A})),
    ("GET", "/api/v1/users/target", None, frozenset({A, C})),
    ("PATCH", "/api/v1/users/target", {"display_name": "T"}, frozenset({A})),
    ("GET", "/api/v1/users/target/tokens", None, frozenset({A})),
    ("POST", "/api/v1/users/target/tokens", {"name": "x"}, frozenset({A})),
    ("DELETE", "/api/v1/users/target/tokens/999", None, frozenset({A})),
    ("GET", "/api/v1/teams", None, frozenset({C, A, U})),
    ("POST", "/api/v1/teams", {"name": "matrix-team"}, frozenset({C, A})),
    ("GET", "/api/v1/teams/999", None, frozenset({C, A, U})),
    ("PATCH", "/api/v1/teams/999", {"escalate_after_s": 60}, frozenset({C, A})),
    ("DELETE", "/api/v1/teams/999", None, frozenset({C, A})),
    ("GET", "/api/v1/teams/999/members", None, frozenset({C, A, U})),
    ("POST", "/api/v1/teams/999/members", {"username": "target"}, frozenset({C, A})),
    ("DELETE", "/api/v1/teams/999/members/target", None, frozenset({C, A})),
    ("GET", "/api/v1/teams/999/areas", None, frozenset({C, A, U})),
    ("POST", "/api/v1/teams/999/areas", {"name": "a", "camera_ids": ["cam-1"]}, frozenset({C, A})),
    ("DELETE", "/api/v1/teams/999/areas/1", None, frozenset({C, A})),
    ("GET", "/api/v1/teams/999/shifts", None, frozenset({C, A, U})),
    ("POST", "/api/v1/teams/999/shifts", {"weekdays": [5], "start": "22:00", "end": "04:00"}, frozenset({C, A})),
    ("DELETE", "/api/v1/teams/999/shifts/1", None, frozenset({C, A})),
    ("GET", "/api/v1/routes", None, frozenset({C, A, U})),
    ("POST", "/api/v1/routes", {"name": "r", "team_id": 999}, frozenset({C, A})),
    ("PUT", "/api/v1/routes/999", {"name": "r", "team_id": 999}, frozenset({C, A})),
    ("DELETE", "/api/v1/routes/999", None, frozenset({C, A})),
    ("GET", "/api/v1/silences", None, frozenset({OF, C, A, U})),
    ("POST", "/api/v1/silences", {"camera_id": "cam-1", "ends_at": FUTURE, "comment": "roadworks"}, frozenset({C, A})),
    ("POST", "/api/v1/silences/suspend", {"camera_id": "cam-1", "minutes": 5, "comment": "test"}, frozenset({C, A})),
    ("DELETE", "/api/v1/silences/999", None, frozenset({C, A})),
    ("POST", f"/api/v1/incidents/{INCIDENT}/claim", None, frozenset({OF, C, A})),
    ("POST", f"/api/v1/incidents/{INCIDENT}/arrive", None, frozenset({OF, C, A})),
    ("POST", f"/api/v1/incidents/{INCIDENT}/outcome", {"outcome": "nobody_there"}, frozenset({OF, C, A})),
    ("GET", "/api/v1/outcome-categories", None, EVERYONE),
    ("GET", "/api/v1/push/vapid-public-key", None, EVERYONE),
    ("GET", "/api/v1/push/subscriptions", None, EVERYONE),
    ("GET", "/api/v1/push/policy", None, frozenset({C, A, U})),
    ("PUT", "/api/v1/push/policy", {"cooldown_global_s": 0, "cooldown_camera_s": 30}, frozenset({C, A})),
    ("POST", "/api/v1/push/subscriptions", SUBSCRIPTION, EVERYONE),
    ("DELETE", "/api/v1/push/subscriptions", {"endpoint": "https://push.example.invalid/none"}, EVERYONE),
    ("GET", "/api/v1/audit", None, frozenset({U, P})),
    ("GET", "/api/v1/audit/verify", None, frozenset({U, P, A})),
    ("GET", "/api/v1/models", None, frozenset({M, P, A, U})),
    ("POST", "/api/v1/models", None, frozenset({M})),
    ("GET", "/api/v1/models/assignments", None, frozenset({M, P, A, U})),
    ("GET", "/api/v1/models/assigned/cam-1", None, frozenset({M, P, A})),
    ("GET", "/api/v1/models/999", None, frozenset({M, P, A, U})),
    ("POST", "/api/v1/models/999/approve", None, frozenset({P, A})),
    ("POST", "/api/v1/models/999/reject", None, frozenset({P, A})),
    ("POST", "/api/v1/models/999/assign", {"camera_ids": ["cam-1"]}, frozenset({M, A})),
    ("GET", "/api/v1/models/999/file", None, frozenset({M, P, A})),
    ("GET", "/api/v1/models/999/card", None, frozenset({M, P, A})),
    ("GET", "/api/v1/models/999/signature", None, frozenset({M, P, A})),
    ("GET", "/api/v1/precision", None, frozenset({M, P, C, A})),
    ("GET", "/api/v1/public/cameras", None, PUBLIC),
    ("GET", "/transparency", None, PUBLIC),
    ("PUT", "/api/v1/transparency/cameras/cam-1", {"purpose": "x"}, frozenset({A, P})),
]


def _call(client: TestClient, method: str, path: str, body: dict[str, Any] | None, headers: dict[str, str]) -> int:
    if method == "POST" and path == "/api/v1/models":
        files = {"file": ("m.pt", b"x"), "card": ("m.card.json", b"{}"), "signature": ("m.sig", b"AA==")}
        return int(client.post(path, files=files, headers=headers).status_code)
    return int(client.request(method, path, json=body, headers=headers).status_code)


def test_permission_matrix(https_client: Callable[[], TestClient], make_user: Callable[..., PeopleUser]) -> None:
    make_user("target", Role.officer)
    callers: dict[str, dict[str, str]] = {"anonymous": {}}
    for role in Role:
        callers[role.value] = make_user(f"as-{role.value.replace('_', '-')}", role).headers
    client = https_client()
    mismatches = []
    for method, path, body, allowed in MATRIX:
        for caller, headers in callers.items():
            status = _call(client, method, path, body, headers)
            if allowed == PUBLIC:
                expected_allowed = True
            elif caller == "anonymous":
                expected_allowed = False
            else:
                expected_allowed = Role(caller) in allowed
            got_allowed = status not in (401, 403)
            if caller == "anonymous" and not expected_allowed and status != 401:
                mismatches.append(f"{method} {path} as anonymous: expected 401, got {status}")
            elif got_allowed != expected_allowed:
                mismatches.append(
                    f"{method} {path} as {caller}: expected {'allowed' if expected_allowed else 403}, got {status}"
                )
    assert not mismatches, "\n".join(mismatches)


def test_matrix_covers_every_people_route() -> None:
    """A new endpoint in one of our route modules must be added to the matrix."""
    ours = (
        "auth",
        "users",
        "teams",
        "routing",
        "silences",
        "workflow",
        "push",
        "audit",
        "models",
        "precision",
        "public",
    )
    listed = {(method, path) for method, path, _, _ in MATRIX}
    missing = []
    seen = 0
    for name in ours:
        router = importlib.import_module(f"nitroplatform.api.routes.{name}").router
        for route in router.routes:
            for method in sorted(getattr(route, "methods", set()) - {"HEAD", "OPTIONS"}):
                seen += 1
                if not any(m == method and _matches(route.path, p) for m, p in listed):
                    missing.append(f"{method} {route.path}")
    assert seen >= len(MATRIX), f"found only {seen} routes: the route listing is broken"
    assert not missing, f"endpoints missing from MATRIX: {missing}"


def _matches(pattern: str, path: str) -> bool:
    pattern_parts, path_parts = pattern.strip("/").split("/"), path.strip("/").split("/")
    return len(pattern_parts) == len(path_parts) and all(
        a == b or (a.startswith("{") and a.endswith("}")) for a, b in zip(pattern_parts, path_parts, strict=True)
    )
