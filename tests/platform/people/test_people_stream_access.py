"""The live stream follows its caller's access while it is open, on a real server with real alerts.

After logout, deactivation, a revoked token or a change of team, no new alert reaches the open stream and
the stream ends (``event: end``). A change made out of band (another worker without NOTIFY, the CLI, an
expired session) ends it at the next keepalive. On PostgreSQL, a logout in one worker ends a stream held
by another at once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from people_helpers import PASSWORD, PeopleUser  # type: ignore[import-not-found, unused-ignore]
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from nitroplatform.auth.deps import Role
from nitroplatform.launcher import PlatformThread
from nitroplatform.people.models import AuthSession, User
from nitroplatform.people.service import add_area, add_member, create_team
from nitroplatform.settings import Settings

READ_TIMEOUT_S = 8.0


@dataclass
class Scene:
    """A running platform, a camera olga's team covers, and the people who change her access."""

    platform: PlatformThread
    device: Any
    wire: Any
    olga: PeopleUser
    admin: PeopleUser
    coordinator: PeopleUser
    team_id: int
    seq: int = 0

    def alert(self) -> str:
        """Send a new incident from cam-1 over ZeroMQ; returns the device incident id."""
        self.seq += 1
        message = self.wire.alert("cam-1", self.seq)
        ack = self.wire.exchange(self.device, message)
        assert ack is not None and ack.result.value == "stored", ack
        return str(message.incident_id)


def _scene(
    platform: PlatformThread,
    factory: sessionmaker[Session],
    make_user: Callable[..., PeopleUser],
    camera_factory: Callable[..., Any],
    wire: Any,
    server_keys: Any,
) -> Scene:
    olga = make_user("olga", Role.officer, with_password=True)
    admin = make_user("ada", Role.admin)
    coordinator = make_user("cor", Role.coordinator)
    camera = camera_factory("cam-1")
    with factory() as db:
        team = create_team(db, name="north", actor="test")
        add_member(db, team_id=team.id, username="olga", actor="test")
        add_area(db, team_id=team.id, name="centrum", camera_ids=["cam-1"], actor="test")
        db.commit()
        team_id = team.id
    platform.app.state.runtime.ingest.refresh_registry()
    device = wire.connect(platform.ingest_endpoint, server_keys[1].public, camera.keypair)
    return Scene(platform, device, wire, olga, admin, coordinator, team_id)


class Events:
    """SSE events of one open response, read line by line."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.iter_lines()
        self.closed = False

    def next(self, deadline: float | None = None) -> dict[str, Any] | None:
        """The next event, or None when the server closed the stream; fails after ``deadline`` (monotonic)."""
        current: dict[str, Any] = {}
        for line in self._lines:
            if deadline is not None and time.monotonic() > deadline:
                raise AssertionError("the stream is still open (keepalives keep coming)")
            if line.startswith("event: "):
                current["event"] = line[7:]
            elif line.startswith("data: "):
                current["data"] = json.loads(line[6:])
            elif line == "" and "event" in current:
                return current
        self.closed = True
        return None

    def rest(self) -> list[dict[str, Any]]:
        """Every event until the server closes the stream; fails when it is still open after READ_TIMEOUT_S."""
        events = []
        deadline = time.monotonic() + READ_TIMEOUT_S
        while (event := self.next(deadline)) is not None:
            events.append(event)
        return events


def _login(http: httpx.Client) -> dict[str, str]:
    response = http.post("/api/v1/auth/login", json={"username": "olga", "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"X-CSRF-Token": response.json()["csrf_token"]}


@pytest.fixture
def live(
    settings_factory: Callable[..., Settings],
    session_factory: sessionmaker[Session],
    make_user: Callable[..., PeopleUser],
    camera_factory: Callable[..., Any],
    wire: Any,
    server_keys: Any,
) -> Iterator[Callable[..., Scene]]:
    """``live(keepalive_s)``: a started platform with ingest and the scene around it."""
    platforms: list[PlatformThread] = []

    def build(keepalive_s: float = 60.0) -> Scene:
        platform = PlatformThread(settings_factory(live_keepalive_s=keepalive_s)).start()
        platforms.append(platform)
        return _scene(platform, session_factory, make_user, camera_factory, wire, server_keys)

    yield build
    for platform in platforms:
        platform.stop()


def _change_by_api(scene: Scene, change: str, http: httpx.Client, csrf: dict[str, str]) -> None:
    base = scene.platform.base_url
    if change == "logout":
        assert http.post("/api/v1/auth/logout", headers=csrf).status_code == 204
    elif change == "deactivate":
        response = httpx.patch(f"{base}/api/v1/users/olga", json={"active": False}, headers=scene.admin.headers)
        assert response.status_code == 200, response.text
    elif change == "password":
        body = {"password": "another long passphrase 42"}
        response = httpx.patch(f"{base}/api/v1/users/olga", json=body, headers=scene.admin.headers)
        assert response.status_code == 200, response.text
    elif change == "team":
        url = f"{base}/api/v1/teams/{scene.team_id}/members/olga"
        assert httpx.delete(url, headers=scene.coordinator.headers).status_code == 204
    elif change == "revoke":
        tokens = httpx.get(f"{base}/api/v1/users/olga/tokens", headers=scene.admin.headers).json()
        url = f"{base}/api/v1/users/olga/tokens/{tokens[0]['id']}"
        assert httpx.delete(url, headers=scene.admin.headers).status_code == 204
    else:
        raise AssertionError(change)


# change → how olga's stream authenticates, the reason it ends with
CHANGES: list[tuple[str, str, str]] = [
    ("logout", "session", "signed_out"),
    ("deactivate", "session", "signed_out"),
    ("password", "session", "signed_out"),
    ("deactivate", "token", "signed_out"),
    ("revoke", "token", "signed_out"),
    ("team", "session", "scope_changed"),
]


@pytest.mark.parametrize(("change", "credential", "reason"), CHANGES)
def test_no_alert_reaches_a_stream_after_its_access_ended(
    live: Callable[..., Scene], change: str, credential: str, reason: str
) -> None:
    scene = live(keepalive_s=60.0)  # far beyond the read timeout: only the access change can end the stream
    timeout = httpx.Timeout(10.0, read=READ_TIMEOUT_S)
    with httpx.Client(base_url=scene.platform.base_url, timeout=timeout) as http:
        csrf = _login(http)
        headers = scene.olga.headers if credential == "token" else {}
        with http.stream("GET", "/api/v1/stream", headers=headers) as response:
            assert response.status_code == 200
            events = Events(response)
            before = scene.alert()
            first = events.next()
            assert first is not None and first["event"] == "incident" and first["data"]["camera_id"] == "cam-1"
            started = time.monotonic()
            _change_by_api(scene, change, http, csrf)
            after = scene.alert()
            rest = events.rest()
            elapsed = time.monotonic() - started
    assert before != after
    assert [event["event"] for event in rest if event["event"] == "incident"] == [], "an alert after the change"
    assert rest[-1] == {"event": "end", "data": {"reason": reason}}
    if reason == "scope_changed":
        assert [event["event"] for event in rest] == ["resync", "end"], "the client reloads its lists first"
    assert elapsed < READ_TIMEOUT_S


# what changes in the database without the platform announcing it (another worker, the CLI, time)
OUT_OF_BAND: list[tuple[str, Any]] = [
    ("deactivated", update(User).where(User.username == "olga").values(active=False)),
    ("session expired", update(AuthSession).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))),
]


@pytest.mark.parametrize(("what", "statement"), OUT_OF_BAND, ids=[row[0] for row in OUT_OF_BAND])
def test_the_stream_rechecks_at_each_keepalive(
    live: Callable[..., Scene], session_factory: sessionmaker[Session], what: str, statement: Any
) -> None:
    scene = live(keepalive_s=1.0)
    with httpx.Client(base_url=scene.platform.base_url, timeout=httpx.Timeout(10.0, read=READ_TIMEOUT_S)) as http:
        _login(http)
        with http.stream("GET", "/api/v1/stream") as response:
            events = Events(response)
            with session_factory() as db:
                db.execute(statement)
                db.commit()
            started = time.monotonic()
            rest = events.rest()
            elapsed = time.monotonic() - started
    assert rest == [{"event": "end", "data": {"reason": "signed_out"}}], what
    assert elapsed < 3.0, f"ended {elapsed:.1f} s after the change, keepalive is 1 s"


@pytest.mark.postgres
def test_a_logout_in_one_worker_ends_a_stream_in_another(
    live: Callable[..., Scene], settings_factory: Callable[..., Settings], migrated_database_url: str
) -> None:
    if not migrated_database_url.startswith("postgresql"):
        pytest.skip("workers share live events over PostgreSQL NOTIFY")
    scene = live(keepalive_s=60.0)
    with PlatformThread(settings_factory(live_keepalive_s=60.0), with_ingest=False) as other:
        assert other.app.state.runtime.listener.listening.wait(5)
        assert scene.platform.app.state.runtime.listener.listening.wait(5)
        timeout = httpx.Timeout(10.0, read=READ_TIMEOUT_S)
        with (
            httpx.Client(base_url=scene.platform.base_url, timeout=timeout) as http,
            httpx.Client(base_url=other.base_url, timeout=timeout) as other_http,
        ):
            csrf = _login(http)
            other_http.cookies = http.cookies
            with http.stream("GET", "/api/v1/stream") as response:
                events = Events(response)
                assert other_http.post("/api/v1/auth/logout", headers=csrf).status_code == 204
                scene.alert()
                rest = events.rest()
    assert rest == [{"event": "end", "data": {"reason": "signed_out"}}]
