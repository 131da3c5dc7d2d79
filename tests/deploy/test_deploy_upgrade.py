"""Upgrade: a database at the previous schema version (the first revision, 0001_core) migrates to head
with its data intact, on SQLite and PostgreSQL (docs/UPGRADING.md)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import MetaData, Table, func, select

from nitroplatform.db.engine import make_engine
from nitroplatform.db.migrate import current_revision, head_revision, upgrade

DatabaseFactory = Callable[[], str]
BACKENDS = [pytest.param("sqlite", id="sqlite"), pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]
PREVIOUS = "0001_core"


def _insert_at_previous_revision(url: str) -> dict[str, object]:
    """Write rows with the table shapes of 0001_core (reflected, not the current models)."""
    now = datetime.now(UTC).replace(microsecond=0)
    camera = {
        "id": "cam-upgrade",
        "public_key": "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7",
        "name": "Pier",
        "site": "Boulevard",
        "zones": ["square"],
        "created_at": now,
        "last_alert_seq": 7,
        "last_heartbeat_seq": 9,
        "gated": True,
    }
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            metadata = MetaData()
            cameras = Table("cameras", metadata, autoload_with=connection)
            alerts = Table("alerts", metadata, autoload_with=connection)
            connection.execute(cameras.insert().values(**{k: v for k, v in camera.items() if k in cameras.c}))
            # Reflected tables have no Uuid type on SQLite: store it the way SQLAlchemy's Uuid does there.
            incident: object = uuid.uuid4()
            if connection.dialect.name == "sqlite":
                incident = uuid.UUID(str(incident)).hex
            connection.execute(
                alerts.insert(),
                [
                    {
                        "camera_id": "cam-upgrade",
                        "seq": seq,
                        "message_id": str(uuid.uuid4()),
                        "received_at": now,
                        "sent_at": now,
                        "incident_id": incident,
                        "device_incident_id": incident,
                        "phase": "new" if seq == 1 else "update",
                        "occurred_at": now,
                        "zone": "square",
                        "confidence": 0.75,
                        "people_involved": "1",
                        "model_id": "balloon-at-mouth",
                        "model_version": "1.0.0",
                        "model_sha256": "b" * 64,
                        "expires_at": now + timedelta(minutes=2),
                    }
                    for seq in range(1, 8)
                ],
            )
    finally:
        engine.dispose()
    return camera


@pytest.mark.parametrize("fresh_database", BACKENDS, indirect=True)
def test_upgrade_from_the_previous_schema_keeps_the_data(fresh_database: DatabaseFactory) -> None:
    url = fresh_database()
    upgrade(url, PREVIOUS)
    assert current_revision(url) == PREVIOUS
    camera = _insert_at_previous_revision(url)

    upgrade(url)

    assert current_revision(url) == head_revision()
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            metadata = MetaData()
            cameras = Table("cameras", metadata, autoload_with=connection)
            alerts = Table("alerts", metadata, autoload_with=connection)
            row = connection.execute(select(cameras).where(cameras.c.id == "cam-upgrade")).mappings().one()
            assert connection.execute(select(func.count()).select_from(alerts)).scalar_one() == 7
            assert connection.execute(select(func.max(alerts.c.seq))).scalar_one() == 7
    finally:
        engine.dispose()
    for key in ("public_key", "name", "site", "zones", "last_alert_seq", "last_heartbeat_seq", "gated"):
        assert row[key] == camera[key], key


@pytest.mark.parametrize("fresh_database", BACKENDS, indirect=True)
def test_upgrade_twice_is_a_no_op(fresh_database: DatabaseFactory) -> None:
    url = fresh_database()
    upgrade(url)
    upgrade(url)
    assert current_revision(url) == head_revision()


@pytest.mark.parametrize("fresh_database", BACKENDS, indirect=True)
def test_upgrade_to_0004_keeps_outcomes_and_drops_only_the_remark(fresh_database: DatabaseFactory) -> None:
    """0004_privacy rebuilds the outcome table without its free-text remark (personal data went into it):
    every outcome keeps its structured fields, and the remark is gone from the database, not just unused."""
    url = fresh_database()
    upgrade(url, "0003_iama")
    now = datetime.now(UTC).replace(microsecond=0)
    outcomes = [
        {"outcome": "confirmed_use", "category": None, "remark": "Jan Jansen, 06-12345678"},
        {"outcome": "false_alarm", "category": "drink", "remark": None},
    ]
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            table = Table("people_incident_outcomes", MetaData(), autoload_with=connection)
            for values in outcomes:
                incident: object = uuid.uuid4()
                if connection.dialect.name == "sqlite":
                    incident = uuid.UUID(str(incident)).hex
                connection.execute(
                    table.insert().values(
                        incident_id=incident,
                        camera_id="cam-upgrade",
                        model_id="balloon-at-mouth",
                        model_version="1.0.0",
                        recorded_at=now,
                        **values,
                    )
                )
        upgrade(url)
        with engine.connect() as connection:
            table = Table("people_incident_outcomes", MetaData(), autoload_with=connection)
            rows = connection.execute(select(table).order_by(table.c.outcome)).mappings().all()
    finally:
        engine.dispose()
    assert "remark" not in table.c
    assert [(row["outcome"], row["category"], row["model_version"]) for row in rows] == [
        ("confirmed_use", None, "1.0.0"),
        ("false_alarm", "drink", "1.0.0"),
    ]
