"""Shared fixtures for platform tests: databases (SQLite file or a throw-away PostgreSQL schema), settings in
tmp_path, app/TestClient factories, users with API tokens, and cameras with real CURVE keys.

Every database fixture cleans up after itself: a fresh SQLite file per test, or a fresh PostgreSQL schema
that is dropped afterwards. PostgreSQL variants run only when NITROSIGNAL_TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import zmq
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from nitroplatform.api.app import create_app
from nitroplatform.cameras import CameraProfile, register_camera
from nitroplatform.db.engine import make_engine
from nitroplatform.db.migrate import upgrade
from nitroplatform.db.models_registry import load_all_models
from nitroplatform.db.session import make_sessionmaker
from nitroplatform.settings import Settings
from nitrosignal.keys import KeyPair, generate_keypair, load_secret
from nitrosignal.wire import Ack, Alert, Heartbeat, decode_reply, encode

PG_ENV = "NITROSIGNAL_TEST_DATABASE_URL"
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgres",
        id="postgres",
        marks=[pytest.mark.postgres, pytest.mark.skipif(not os.environ.get(PG_ENV), reason=f"{PG_ENV} not set")],
    ),
]


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a fresh SQLite file, or a fresh PostgreSQL schema dropped after the test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'platform.sqlite3'}"
        return
    base = os.environ[PG_ENV]
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(_libpq(base), autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield (
            make_url(base)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with psycopg.connect(_libpq(base), autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def migrated_database_url(database_url: str) -> str:
    """``database_url`` upgraded to the newest migration.

    Tables whose component has models but no migration yet are created from the metadata, so other
    components' fixtures keep working; ``test_platform_migrations`` is what catches a missing migration.
    """
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        load_all_models().create_all(engine, checkfirst=True)
    finally:
        engine.dispose()
    return database_url


@pytest.fixture
def session_factory(migrated_database_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on the migrated test database."""
    engine = make_engine(migrated_database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def server_keys(tmp_path: Path) -> tuple[Path, KeyPair]:
    """The platform's CURVE keypair (secret file mode 0600) in tmp_path."""
    files = generate_keypair(tmp_path / "server-keys", "platform")
    return files.secret_path, load_secret(files.secret_path)


@pytest.fixture
def settings_factory(
    tmp_path: Path, migrated_database_url: str, server_keys: tuple[Path, KeyPair]
) -> Callable[..., Settings]:
    """Build Settings in tmp_path on the migrated database; keyword arguments override fields.

    Defaults suit tests: development, gating ``open``, ingest on an ephemeral localhost port, HTTP port 0.
    """

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "environment": "development",
            "data_dir": tmp_path / "data",
            "database_url": migrated_database_url,
            "ingest_bind": "tcp://127.0.0.1:0",
            "server_secret_key_file": server_keys[0],
            "http_host": "127.0.0.1",
            "http_port": 0,
            "gating_mode": "open",
            "registry_refresh_s": 0.5,
        }
        values.update(overrides)
        return Settings(**values)

    return build


@pytest.fixture
def platform_settings(settings_factory: Callable[..., Settings]) -> Settings:
    """Default test settings."""
    return settings_factory()


@pytest.fixture
def app_factory(settings_factory: Callable[..., Settings]) -> Callable[..., FastAPI]:
    """``app_factory(with_ingest=False, **setting_overrides)`` builds an app on the test database."""

    def build(with_ingest: bool = False, **overrides: Any) -> FastAPI:
        return create_app(settings_factory(**overrides), with_ingest=with_ingest)

    return build


@pytest.fixture
def client_factory(app_factory: Callable[..., FastAPI]) -> Iterator[Callable[..., TestClient]]:
    """``client_factory(with_ingest=False, **overrides)``: a started TestClient (lifespan run), closed after."""
    clients: list[TestClient] = []

    def build(with_ingest: bool = False, **overrides: Any) -> TestClient:
        client = TestClient(app_factory(with_ingest=with_ingest, **overrides))
        client.__enter__()
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


@dataclass(frozen=True)
class CameraIdentity:
    """A registered test camera and its keypair."""

    camera_id: str
    keypair: KeyPair


@pytest.fixture
def camera_factory(tmp_path: Path, session_factory: sessionmaker[Session]) -> Callable[..., CameraIdentity]:
    """``camera_factory("cam-1", zones=("plein",), deployment_id=None)`` registers a camera with fresh keys."""

    def build(camera_id: str, *, register: bool = True, **profile: Any) -> CameraIdentity:
        files = generate_keypair(tmp_path / "camera-keys" / uuid.uuid4().hex[:8], camera_id)
        keypair = load_secret(files.secret_path)
        if register:
            with session_factory() as session:
                register_camera(
                    session, camera_id=camera_id, public_key=keypair.public.decode(), profile=CameraProfile(**profile)
                )
                session.commit()
        return CameraIdentity(camera_id=camera_id, keypair=keypair)

    return build


@pytest.fixture
def token_factory(session_factory: sessionmaker[Session]) -> Callable[..., dict[str, str]]:
    """``token_factory("admin", roles=[Role.admin])`` creates a user with an API token; returns auth headers."""
    from nitroplatform.auth.tokens import issue_token
    from nitroplatform.people.service import create_user

    def build(username: str, *, roles: list[Any]) -> dict[str, str]:
        with session_factory() as session:
            user = create_user(session, username=username, password=None, roles=roles, actor="test")
            token = issue_token(session, user_id=user.id, name="test")
            session.commit()
        return {"Authorization": f"Bearer {token.raw}"}

    return build


class WireKit:
    """Builds contract messages and talks to the ingest like a device (DEALER, CURVE client)."""

    def __init__(self, context: zmq.Context[zmq.Socket[bytes]]) -> None:
        self.context = context

    @staticmethod
    def alert(camera_id: str, seq: int, **fields: Any) -> Alert:
        """A valid alert; ``fields`` override (incident_id, phase, confidence, zone, sent_at, ...)."""
        now = datetime.now(UTC)
        values: dict[str, Any] = {
            "message_id": uuid.uuid4(),
            "camera_id": camera_id,
            "seq": seq,
            "sent_at": now,
            "incident_id": uuid.uuid4(),
            "phase": "new",
            "occurred_at": now.replace(microsecond=0),
            "zone": None,
            "confidence": 0.91,
            "people_involved": "1",
            "model": {"id": "balloon-at-mouth", "version": "0.1.0", "sha256": "a" * 64},
            "expires_at": now + timedelta(minutes=5),
        }
        values.update(fields)
        return Alert.model_validate(values)

    @staticmethod
    def heartbeat(camera_id: str, seq: int, **fields: Any) -> Heartbeat:
        """A valid heartbeat; ``fields`` override."""
        values: dict[str, Any] = {
            "message_id": uuid.uuid4(),
            "camera_id": camera_id,
            "seq": seq,
            "sent_at": datetime.now(UTC),
            "state": "active",
            "fps_in": 10.0,
            "fps_processed": 9.5,
            "dropped_frames": 0,
            "outbox_depth": 0,
            "model_version": "0.1.0",
            "uptime_s": 12,
            "config_hash": "b" * 64,
        }
        values.update(fields)
        return Heartbeat.model_validate(values)

    def connect(self, endpoint: str, server_public: bytes, keypair: KeyPair | None) -> zmq.Socket[bytes]:
        """A DEALER connected to ``endpoint``; CURVE client with ``keypair``, or NULL mechanism when None."""
        socket = self.context.socket(zmq.DEALER)
        socket.linger = 0
        if keypair is not None:
            socket.curve_secretkey = keypair.secret
            socket.curve_publickey = keypair.public
            socket.curve_serverkey = server_public
        socket.connect(endpoint)
        return socket

    @staticmethod
    def exchange(socket: zmq.Socket[bytes], payload: bytes | Alert | Heartbeat, timeout_ms: int = 5000) -> Ack | None:
        """Send one message and wait for its reply; None when no reply came in time."""
        raw = payload if isinstance(payload, bytes) else encode(payload)
        socket.send(raw)
        if not socket.poll(timeout_ms, zmq.POLLIN):
            return None
        return decode_reply(socket.recv())


@pytest.fixture
def wire() -> Iterator[WireKit]:
    """A WireKit on its own ZeroMQ context, destroyed after the test."""
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    yield WireKit(context)
    context.destroy(linger=0)


@pytest.fixture
def running_platform(client_factory: Callable[..., TestClient]) -> TestClient:
    """A started app with ingest and sweeper (gating open); ``client.app.state.runtime.ingest.endpoint``."""
    return client_factory(with_ingest=True, sweeper_interval_s=0.2)
