"""Fixtures for the deployment tests: fresh SQLite and PostgreSQL databases, and sample platform data.

Every PostgreSQL test gets its own database, created from NITROSIGNAL_TEST_DATABASE_URL and dropped
afterwards, so tests never share committed state.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from nitroplatform.cameras import CameraProfile, register_camera
from nitroplatform.db.engine import make_engine
from nitroplatform.db.models import Alert, Incident
from nitroplatform.db.session import make_sessionmaker, session_scope
from nitrosignal.keys import generate_keypair, load_public

PG_ENV = "NITROSIGNAL_TEST_DATABASE_URL"

DatabaseFactory = Callable[[], str]


def _postgres_admin_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set: no PostgreSQL server for this test")
    return url


@pytest.fixture(scope="session")
def postgres_databases_to_drop() -> Iterator[list[tuple[str, str]]]:
    """(admin URL, database) pairs created by tests, dropped together when the session ends.

    DROP DATABASE forces a checkpoint; dropping them concurrently lets one checkpoint serve many drops,
    which keeps the suite fast on a busy server. Every test still gets a database of its own.
    """
    created: list[tuple[str, str]] = []
    yield created

    def drop(item: tuple[str, str]) -> None:
        engine = create_engine(item[0], isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{item[1]}" WITH (FORCE)'))
        finally:
            engine.dispose()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(drop, created))


@pytest.fixture
def fresh_database(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_databases_to_drop: list[tuple[str, str]]
) -> Iterator[DatabaseFactory]:
    """A factory of fresh, empty databases of the backend in ``request.param`` ('sqlite' or 'postgres')."""
    backend = getattr(request, "param", "sqlite")
    admin_url = _postgres_admin_url() if backend == "postgres" else ""

    def make() -> str:
        if backend == "sqlite":
            path = tmp_path / f"db-{uuid.uuid4().hex[:8]}" / "platform.sqlite3"
            return f"sqlite:///{path}"
        name = f"nitrosignal_deploy_{uuid.uuid4().hex[:12]}"
        engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        postgres_databases_to_drop.append((admin_url, name))
        return make_url(admin_url).set(database=name).render_as_string(hide_password=False)

    yield make


@pytest.fixture
def populate(tmp_path: Path) -> Callable[[str, int], None]:
    """Fill a migrated database with ``cameras`` cameras, each with one incident of three alerts."""

    def fill(url: str, cameras: int) -> None:
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        now = datetime.now(UTC).replace(microsecond=0)
        try:
            with session_scope(sessions) as session:
                for index in range(cameras):
                    camera_id = f"cam-{index:03d}"
                    keys = generate_keypair(tmp_path / "populate-keys", camera_id, overwrite=True)
                    public = load_public(keys.public_path).decode()
                    profile = CameraProfile(name=f"Camera {index}", site="Boulevard", zones=("square",))
                    register_camera(session, camera_id=camera_id, public_key=public, profile=profile)
                    device_incident = uuid.uuid4()
                    incident = Incident(
                        camera_id=camera_id,
                        device_incident_id=device_incident,
                        zone="square",
                        state="open",
                        last_phase="update",
                        opened_at=now,
                        updated_at=now,
                        expires_at=now + timedelta(minutes=2),
                        confidence=0.81,
                        confidence_max=0.9,
                        people_involved="2-4",
                        model_id="balloon-at-mouth",
                        model_version="1.0.0",
                        model_sha256="a" * 64,
                        alert_count=3,
                    )
                    session.add(incident)
                    session.flush()
                    for seq, phase in enumerate(("new", "update", "update"), start=1):
                        session.add(
                            Alert(
                                camera_id=camera_id,
                                seq=seq,
                                message_id=str(uuid.uuid4()),
                                received_at=now,
                                sent_at=now,
                                incident_id=incident.id,
                                device_incident_id=device_incident,
                                phase=phase,
                                occurred_at=now,
                                zone="square",
                                confidence=0.8,
                                people_involved="2-4",
                                model_id="balloon-at-mouth",
                                model_version="1.0.0",
                                model_sha256="a" * 64,
                                expires_at=now + timedelta(minutes=2),
                            )
                        )
        finally:
            engine.dispose()

    return fill
