"""Push subscriptions must not make the platform call hosts of an officer's choosing.

Before: any https URL was stored as a push endpoint and later POSTed to (an officer registered
``https://127.0.0.1:19999/…`` and the platform connected to it); redirects were followed; and reposting an
endpoint moved another user's subscription to the caller. Now only configured push services on public addresses
are accepted and called, no redirect is followed, and an endpoint never changes hands.
"""

from __future__ import annotations

import base64
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from nitroplatform.api.schemas import IncidentOut
from nitroplatform.auth.deps import Role
from nitroplatform.auth.tokens import issue_token
from nitroplatform.db.models import Camera, Incident
from nitroplatform.incidents.service import IncidentChange
from nitroplatform.people.config import PeopleSettings
from nitroplatform.people.dispatch_models import PushSubscription
from nitroplatform.people.service import add_area, add_member, create_team, create_user
from nitroplatform.push.endpoints import DEFAULT_PUSH_HOSTS, PushEndpointError, check_endpoint
from nitroplatform.routing.notifier import Notifier


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def subscription(endpoint: str) -> dict[str, Any]:
    """A browser-made subscription body (real P-256 key and auth secret) for ``endpoint``."""
    public = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return {"endpoint": endpoint, "keys": {"p256dh": _b64url(public), "auth": _b64url(os.urandom(16))}}


# -- the endpoint rule, with a stand-in resolver so that public names can be judged offline ------------------

PUBLIC = ["142.250.179.170"]


def _resolver(addresses: Sequence[str]) -> Callable[[str, int], Sequence[str]]:
    return lambda host, port: addresses


ENDPOINT_TABLE: list[tuple[str, Sequence[str], AbstractContextManager[object]]] = [
    ("https://fcm.googleapis.com/fcm/send/abc", PUBLIC, nullcontext()),
    ("https://updates.push.services.mozilla.com/wpush/v2/abc", PUBLIC, nullcontext()),
    ("https://web.push.apple.com/QGhi", PUBLIC, nullcontext()),
    ("https://wns2-par02p.notify.windows.com/w/?token=abc", PUBLIC, nullcontext()),
    ("https://fcm.googleapis.com/x", ["10.1.2.3"], pytest.raises(PushEndpointError, match="not public")),
    ("https://fcm.googleapis.com/x", ["2001:db8::1"], pytest.raises(PushEndpointError, match="not public")),
    ("https://fcm.googleapis.com/x", [*PUBLIC, "127.0.0.1"], pytest.raises(PushEndpointError, match="not public")),
    ("https://fcm.googleapis.com/x", ["::ffff:127.0.0.1"], pytest.raises(PushEndpointError, match="not public")),
    ("https://fcm.googleapis.com/x", [], pytest.raises(PushEndpointError, match="no address")),
    ("https://evil.example/fcm", PUBLIC, pytest.raises(PushEndpointError, match="not a configured push service")),
    ("https://fcm.googleapis.com.evil.example/x", PUBLIC, pytest.raises(PushEndpointError, match="not a configured")),
    ("https://push.apple.com/x", PUBLIC, pytest.raises(PushEndpointError, match="not a configured push service")),
    ("https://evilpush.apple.com/x", PUBLIC, pytest.raises(PushEndpointError, match="not a configured push service")),
    ("http://fcm.googleapis.com/x", PUBLIC, pytest.raises(PushEndpointError, match="https")),
    ("https://user:pw@fcm.googleapis.com/x", PUBLIC, pytest.raises(PushEndpointError, match="user name")),
    ("https://fcm.googleapis.com:99999/x", PUBLIC, pytest.raises(PushEndpointError, match="not a URL")),
    ("not a url", PUBLIC, pytest.raises(PushEndpointError, match="https")),
]


@pytest.mark.parametrize(("endpoint", "addresses", "expectation"), ENDPOINT_TABLE)
def test_endpoint_rule(endpoint: str, addresses: Sequence[str], expectation: AbstractContextManager[object]) -> None:
    with expectation:
        check_endpoint(endpoint, allowed_hosts=DEFAULT_PUSH_HOSTS, resolve=_resolver(addresses))


# (endpoint, allowed hosts) refused with the real resolver: loopback, private and link-local addresses
PRIVATE_TABLE = [
    ("https://127.0.0.1:19999/push", ["127.0.0.1"]),
    ("https://localhost:19999/push", ["localhost"]),
    ("https://[::1]:19999/push", ["::1"]),
    ("https://169.254.169.254/latest/meta-data", ["169.254.169.254"]),
    ("https://10.0.0.8/push", ["10.0.0.8"]),
    ("https://192.168.1.1/push", ["192.168.1.1"]),
    ("https://100.64.0.1/push", ["100.64.0.1"]),
    ("https://0.0.0.0/push", ["0.0.0.0"]),
]


@pytest.mark.parametrize(("endpoint", "allowed"), PRIVATE_TABLE)
def test_private_addresses_are_refused_even_for_a_configured_host(endpoint: str, allowed: list[str]) -> None:
    with pytest.raises(PushEndpointError, match="not public"):
        check_endpoint(endpoint, allowed_hosts=allowed)


# -- through the API and the real sender ---------------------------------------------------------------------


@dataclass
class Listener:
    """A loopback HTTP server that records every request it gets, and may answer with a redirect."""

    url: str = ""
    hits: list[str] = field(default_factory=list)
    redirect_to: str | None = None


@pytest.fixture
def listeners() -> Iterator[Callable[[], Listener]]:
    servers: list[ThreadingHTTPServer] = []

    def build() -> Listener:
        state = Listener()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                state.hits.append(self.path)
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self.send_response(307 if state.redirect_to else 201)
                if state.redirect_to:
                    self.send_header("Location", state.redirect_to)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST  # noqa: N815 - a redirect turned into GET counts as a call too

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
                del format, args

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        state.url = f"http://127.0.0.1:{server.server_address[1]}/push/{uuid.uuid4().hex}"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return state

    yield build
    for server in servers:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class Setup:
    app: FastAPI
    factory: sessionmaker[Session]
    headers: dict[str, dict[str, str]]


@pytest.fixture
def setup(app_factory: Callable[..., FastAPI], session_factory: sessionmaker[Session]) -> Setup:
    app = app_factory(with_ingest=False)
    headers = {}
    with session_factory() as db:
        db.add(Camera(id="cam-1", public_key="p" * 40, name="cam-1", zones=[]))
        team = create_team(db, name="north", actor="test")
        for name in ("olga", "omar"):
            user = create_user(db, username=name, password=None, roles=[Role.officer], actor="test")
            add_member(db, team_id=team.id, username=name, actor="test")
            headers[name] = {"Authorization": f"Bearer {issue_token(db, user_id=user.id, name='t').raw}"}
        add_area(db, team_id=team.id, name="centrum", camera_ids=["cam-1"], actor="test")
        db.commit()
    return Setup(app, session_factory, headers)


def _post(setup: Setup, policy: PeopleSettings, user: str, body: dict[str, Any]) -> Any:
    setup.app.state.people_settings = policy
    with TestClient(setup.app, base_url="https://testserver") as client:
        return client.post("/api/v1/push/subscriptions", json=body, headers=setup.headers[user])


def _page_everyone(setup: Setup, tmp_path: Path, policy: PeopleSettings) -> list[Any]:
    """A new incident on cam-1, handed to the real notifier: it pages team north's subscriptions."""
    now = datetime.now(UTC)
    with setup.factory() as db:
        incident = Incident(
            id=uuid.uuid4(),
            camera_id="cam-1",
            device_incident_id=uuid.uuid4(),
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
        db.add(incident)
        db.commit()
        change = IncidentChange(kind="opened", incident=IncidentOut.model_validate(incident))
    result = Notifier(factory=setup.factory, data_dir=tmp_path / "data", policy=policy).handle(change)
    return list(result.deliveries)


def test_the_platform_never_calls_a_loopback_endpoint(
    setup: Setup, listeners: Callable[[], Listener], tmp_path: Path
) -> None:
    """An officer's loopback endpoint is refused at subscribe time, and a row that got in before the fix (written
    straight into the table here) is checked again at send time: the listener is never called."""
    target = listeners()
    endpoint = target.url.replace("http://", "https://")
    production = PeopleSettings(push_allowed_hosts=[*DEFAULT_PUSH_HOSTS, "127.0.0.1"], push_cooldown_camera_s=0)
    refused = _post(setup, production, "olga", subscription(endpoint))
    assert refused.status_code == 422 and "not public" in refused.text
    with setup.factory() as db:
        olga = db.scalar(select(PushSubscription.user_id).limit(1))
        assert olga is None
        body = subscription(target.url)
        user_id = _user_id(db, "olga")
        db.add(
            PushSubscription(
                user_id=user_id,
                endpoint=target.url,
                endpoint_hash=uuid.uuid4().hex,
                p256dh=body["keys"]["p256dh"],
                auth=body["keys"]["auth"],
            )
        )
        db.commit()
    insecure_but_public_only = production.model_copy(update={"push_allow_insecure_endpoints": True})
    deliveries = _page_everyone(setup, tmp_path, insecure_but_public_only)
    assert [delivery.status for delivery in deliveries] == ["failed"]
    assert target.hits == []


def test_a_redirect_from_the_push_service_is_not_followed(
    setup: Setup, listeners: Callable[[], Listener], tmp_path: Path
) -> None:
    inside, push_service = listeners(), listeners()
    push_service.redirect_to = inside.url
    local_test = PeopleSettings(
        push_allowed_hosts=["127.0.0.1"],
        push_allow_insecure_endpoints=True,
        push_allow_private_addresses=True,
        push_cooldown_camera_s=0,
    )
    assert _post(setup, local_test, "olga", subscription(push_service.url)).status_code == 201
    deliveries = _page_everyone(setup, tmp_path, local_test)
    assert [delivery.status for delivery in deliveries] == ["failed"]
    assert len(push_service.hits) == 1 and inside.hits == []


def test_reposting_an_endpoint_never_moves_another_users_subscription(setup: Setup) -> None:
    local_test = PeopleSettings(push_allowed_hosts=["push.example.invalid"], push_allow_private_addresses=True)
    endpoint = "https://push.example.invalid/olga-phone"
    olga_body, omar_body = subscription(endpoint), subscription(endpoint)
    assert _post(setup, local_test, "olga", olga_body).status_code == 201
    taken = _post(setup, local_test, "omar", omar_body)
    assert taken.status_code == 409
    with setup.factory() as db:
        row = db.scalars(select(PushSubscription)).one()
        assert row.user_id == _user_id(db, "olga") and row.p256dh == olga_body["keys"]["p256dh"]
    # Olga herself may renew her keys for the same endpoint.
    renewed = subscription(endpoint)
    assert _post(setup, local_test, "olga", renewed).status_code == 201
    with setup.factory() as db:
        assert db.scalars(select(PushSubscription.p256dh)).one() == renewed["keys"]["p256dh"]


def _user_id(db: Session, username: str) -> int:
    from nitroplatform.people.models import User

    user_id = db.scalar(select(User.id).where(User.username == username))
    assert user_id is not None
    return user_id


def test_the_default_hosts_resolve_only_through_the_real_resolver() -> None:
    """Offline, a real push service's name does not resolve, and the endpoint is refused rather than trusted."""
    try:
        socket.getaddrinfo("fcm.googleapis.com", 443)
    except OSError:
        with pytest.raises(PushEndpointError, match="cannot be resolved"):
            check_endpoint("https://fcm.googleapis.com/fcm/send/x", allowed_hosts=DEFAULT_PUSH_HOSTS)
    else:
        check_endpoint("https://fcm.googleapis.com/fcm/send/x", allowed_hosts=DEFAULT_PUSH_HOSTS)
