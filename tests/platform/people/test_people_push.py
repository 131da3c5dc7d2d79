"""Web Push round trip against a local receiver that decrypts with the subscription's own keys.

The receiver plays the browser vendor's push service: it records the encrypted POST, and the test decrypts
it with http_ece (aes128gcm) using the P-256 key pair and auth secret it generated as "the browser".
"""

from __future__ import annotations

import base64
import json
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import http_ece
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from people_helpers import PeopleUser, add_camera, add_incident  # type: ignore[import-not-found, unused-ignore]
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from nitroplatform.api.schemas import IncidentOut, IncidentState
from nitroplatform.auth.deps import Role
from nitroplatform.db.models import Incident
from nitroplatform.incidents.service import IncidentChange
from nitroplatform.people.config import PeopleSettings
from nitroplatform.people.dispatch_models import Page, PushSubscription
from nitroplatform.people.service import add_area, add_member, create_team
from nitroplatform.push.vapid import vapid_path
from nitroplatform.routing.notifier import Notifier


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class Receiver:
    """A local push service: answers every POST with ``status`` and keeps what it got."""

    url: str
    status: int = 201
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(state.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
            del format, args

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/push/{uuid.uuid4().hex}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@dataclass(frozen=True)
class Browser:
    """The browser's side of a subscription: its ECDH key pair and auth secret."""

    private_key: ec.EllipticCurvePrivateKey
    auth: bytes

    def subscription(self, endpoint: str) -> dict[str, Any]:
        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"endpoint": endpoint, "keys": {"p256dh": b64url(public), "auth": b64url(self.auth)}}

    def decrypt(self, body: bytes) -> dict[str, Any]:
        plain = http_ece.decrypt(body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm")
        decoded: dict[str, Any] = json.loads(plain)
        return decoded


@pytest.fixture
def browser() -> Browser:
    return Browser(private_key=ec.generate_private_key(ec.SECP256R1()), auth=os.urandom(16))


@pytest.fixture
def officer(session_factory: sessionmaker[Session], make_user: Callable[..., PeopleUser]) -> PeopleUser:
    """Officer olga in team north, which covers cam-1 (no shifts: always on duty)."""
    olga = make_user("olga", Role.officer)
    with session_factory() as db:
        add_camera(db, "cam-1")
        team = create_team(db, name="north", actor="test")
        add_member(db, team_id=team.id, username="olga", actor="test")
        add_area(db, team_id=team.id, name="centrum", camera_ids=["cam-1"], actor="test")
        db.commit()
    return olga


def _subscribe(client: TestClient, user: PeopleUser, browser: Browser, endpoint: str) -> None:
    response = client.post("/api/v1/push/subscriptions", json=browser.subscription(endpoint), headers=user.headers)
    assert response.status_code == 201, response.text


def _opened(factory: sessionmaker[Session]) -> IncidentChange:
    with factory() as db:
        incident_id = add_incident(db, "cam-1", zone="plein")
        db.commit()
        return IncidentChange(kind="opened", incident=IncidentOut.model_validate(db.get(Incident, incident_id)))


def _notifier(factory: sessionmaker[Session], tmp_path: Path, policy: PeopleSettings) -> Notifier:
    return Notifier(factory=factory, data_dir=tmp_path / "data", policy=policy)


def test_push_round_trip_decrypts_to_the_payload(
    https_client: Callable[[], TestClient],
    session_factory: sessionmaker[Session],
    officer: PeopleUser,
    receiver: Receiver,
    browser: Browser,
    tmp_path: Path,
    people_settings: PeopleSettings,
) -> None:
    client = https_client()
    _subscribe(client, officer, browser, receiver.url)
    notifier = _notifier(session_factory, tmp_path, people_settings)
    change = _opened(session_factory)
    result = notifier.handle(change)
    assert [delivery.status for delivery in result.deliveries] == ["sent"]
    assert len(receiver.received) == 1
    headers, body = receiver.received[0]
    assert headers["content-encoding"] == "aes128gcm"
    assert headers["urgency"] == "high"
    assert int(headers["ttl"]) == people_settings.push_ttl_live_s
    assert headers["topic"] == change.incident.id.hex
    assert headers["authorization"].startswith("vapid t=")
    payload = browser.decrypt(body)
    assert payload["incident_id"] == str(change.incident.id)
    assert payload["tag"] == str(change.incident.id)
    assert payload["camera_id"] == "cam-1" and payload["state"] == "open"
    assert not {"image", "thumbnail", "snapshot", "crop"} & set(payload)
    assert b"image" not in json.dumps(payload).encode()
    # The VAPID key the platform made on first use is private to it.
    assert vapid_path(tmp_path / "data").stat().st_mode & 0o777 == 0o600
    public = client.get("/api/v1/push/vapid-public-key", headers=officer.headers).json()["public_key"]
    assert len(base64.urlsafe_b64decode(public + "==")) == 65


def test_update_replaces_in_place_only_when_state_changes(
    https_client: Callable[[], TestClient],
    session_factory: sessionmaker[Session],
    officer: PeopleUser,
    receiver: Receiver,
    browser: Browser,
    tmp_path: Path,
    people_settings: PeopleSettings,
) -> None:
    _subscribe(https_client(), officer, browser, receiver.url)
    notifier = _notifier(session_factory, tmp_path, people_settings)
    opened = _opened(session_factory)
    notifier.handle(opened)
    same = IncidentChange(kind="updated", incident=opened.incident.model_copy(update={"confidence": 0.95}))
    claimed = IncidentChange(
        kind="updated", incident=opened.incident.model_copy(update={"state": IncidentState.CLAIMED})
    )
    assert notifier.handle(same).deliveries == []
    assert [d.status for d in notifier.handle(claimed).deliveries] == ["sent"]
    tags = [browser.decrypt(body)["tag"] for _, body in receiver.received]
    assert tags == [str(opened.incident.id)] * 2
    assert browser.decrypt(receiver.received[1][1])["state"] == "claimed"


def test_dead_subscriptions_are_pruned(
    https_client: Callable[[], TestClient],
    session_factory: sessionmaker[Session],
    officer: PeopleUser,
    receiver: Receiver,
    browser: Browser,
    tmp_path: Path,
    people_settings: PeopleSettings,
) -> None:
    client = https_client()
    notifier = _notifier(session_factory, tmp_path, people_settings)
    # push service answer → what happens to the subscription
    for status, expected in [(410, "pruned"), (404, "pruned"), (500, "failed")]:
        _subscribe(client, officer, browser, receiver.url)
        receiver.status = status
        result = notifier.handle(_opened(session_factory))
        assert [delivery.status for delivery in result.deliveries] == [expected], status
        with session_factory() as db:
            remaining = db.scalars(select(PushSubscription)).all()
            assert len(remaining) == (0 if expected == "pruned" else 1), status
            for row in remaining:
                db.delete(row)
            db.commit()


def test_camera_cooldown_holds_back_a_second_page(
    https_client: Callable[[], TestClient],
    session_factory: sessionmaker[Session],
    officer: PeopleUser,
    receiver: Receiver,
    browser: Browser,
    tmp_path: Path,
    people_settings: PeopleSettings,
) -> None:
    _subscribe(https_client(), officer, browser, receiver.url)
    policy = people_settings.model_copy(update={"push_cooldown_camera_s": 60})
    notifier = _notifier(session_factory, tmp_path, policy)
    now = datetime.now(UTC)
    first = notifier.handle(_opened(session_factory), now=now)
    second = notifier.handle(_opened(session_factory), now=now + timedelta(seconds=30))
    third = notifier.handle(_opened(session_factory), now=now + timedelta(seconds=61))
    assert first.decision is not None and first.decision.held_reason is None
    assert second.decision is not None and second.decision.held_reason == "cooldown_camera"
    assert third.decision is not None and third.decision.held_reason is None
    assert len(receiver.received) == 2
    with session_factory() as db:
        held = db.scalars(select(Page.held_reason).order_by(Page.id)).all()
    assert held == [None, "cooldown_camera", None]


def test_cooldowns_set_through_the_api(
    https_client: Callable[[], TestClient],
    session_factory: sessionmaker[Session],
    officer: PeopleUser,
    receiver: Receiver,
    browser: Browser,
    tmp_path: Path,
    people_settings: PeopleSettings,
    make_user: Callable[..., PeopleUser],
) -> None:
    client = https_client()
    _subscribe(client, officer, browser, receiver.url)
    coordinator = make_user("coco", Role.coordinator)
    policy = {"cooldown_global_s": 0, "cooldown_camera_s": 0, "camera_overrides": {"cam-1": 120}}
    stored = client.put("/api/v1/push/policy", json=policy, headers=coordinator.headers)
    assert stored.status_code == 200 and stored.json() == policy
    notifier = _notifier(session_factory, tmp_path, people_settings)
    now = datetime.now(UTC)
    first = notifier.handle(_opened(session_factory), now=now)
    second = notifier.handle(_opened(session_factory), now=now + timedelta(seconds=90))
    assert first.decision is not None and first.decision.held_reason is None
    assert second.decision is not None and second.decision.held_reason == "cooldown_camera"
    assert len(receiver.received) == 1


def test_timed_suspend_mutes_the_camera(
    https_client: Callable[[], TestClient],
    session_factory: sessionmaker[Session],
    officer: PeopleUser,
    receiver: Receiver,
    browser: Browser,
    tmp_path: Path,
    people_settings: PeopleSettings,
    make_user: Callable[..., PeopleUser],
) -> None:
    client = https_client()
    _subscribe(client, officer, browser, receiver.url)
    coordinator = make_user("coco", Role.coordinator)
    suspended = client.post(
        "/api/v1/silences/suspend",
        json={"camera_id": "cam-1", "minutes": 10, "comment": "festival"},
        headers=coordinator.headers,
    )
    assert suspended.status_code == 201
    result = _notifier(session_factory, tmp_path, people_settings).handle(_opened(session_factory))
    assert result.decision is not None and result.decision.held_reason == "silenced"
    assert receiver.received == []


def test_subscription_endpoint_must_be_web(
    https_client: Callable[[], TestClient], officer: PeopleUser, browser: Browser
) -> None:
    client = https_client()
    for endpoint, expected in [
        ("https://push.example.invalid/abc", 201),
        ("ftp://push.example.invalid/abc", 422),
        ("not a url", 422),
    ]:
        response = client.post(
            "/api/v1/push/subscriptions", json=browser.subscription(endpoint), headers=officer.headers
        )
        assert response.status_code == expected, endpoint
