"""The hot path's hand-made encodings equal what the models and SQLAlchemy types would produce."""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from nitroplatform.db.bulk import BulkWriter
from nitroplatform.db.models import Incident, incident_table
from nitroplatform.ingest.handler import ack_bytes
from nitrosignal.wire import Ack, AckResult, encode


@pytest.mark.parametrize(
    ("camera_id", "seq", "result", "reason", "gated"),
    [
        ("cam-1", 7, AckResult.STORED, None, False),
        ("cam.2_x", 2**63 - 1, AckResult.DUPLICATE, None, True),
        ("unknown", 0, AckResult.REFUSED, "unknown_camera", False),
        ("cam-1", 3, AckResult.REFUSED, "gated", True),
    ],
)
def test_ack_bytes_equal_the_model(
    camera_id: str, seq: int, result: AckResult, reason: str | None, gated: bool
) -> None:
    expected = encode(Ack(camera_id=camera_id, seq=seq, result=result, reason=reason, gated=gated))
    assert ack_bytes(camera_id, seq, result, reason=reason, gated=gated) == expected


AMSTERDAM = timezone(timedelta(hours=2))


@pytest.mark.parametrize(
    ("value", "expected", "expectation"),
    [
        (datetime(2026, 6, 1, 22, 0, 5, 123456, tzinfo=UTC), "2026-06-01 22:00:05.123456", contextlib.nullcontext()),
        (datetime(2026, 6, 1, 22, 0, 5, tzinfo=UTC), "2026-06-01 22:00:05.000000", contextlib.nullcontext()),
        (datetime(2026, 6, 2, 0, 0, 5, tzinfo=AMSTERDAM), "2026-06-01 22:00:05.000000", contextlib.nullcontext()),
        (datetime(2026, 6, 1, 22, 0, 5), None, pytest.raises(ValueError, match="naive")),
    ],
)
def test_sqlite_time_format(value: datetime, expected: str | None, expectation: Any) -> None:
    with expectation:
        assert BulkWriter("sqlite").time(value) == expected


def test_bulk_rows_read_back_through_the_orm(session_factory: sessionmaker[Session]) -> None:
    moment = datetime(2026, 6, 1, 22, 0, 5, 250000, tzinfo=UTC)
    incident_id, device_id = uuid.uuid4(), uuid.uuid4()
    with session_factory() as session:
        writer = BulkWriter(session.get_bind().dialect.name)
        columns = (
            "id",
            "camera_id",
            "device_incident_id",
            "state",
            "last_phase",
            "opened_at",
            "updated_at",
            "expires_at",
            "confidence",
            "confidence_max",
            "people_involved",
            "model_id",
            "model_version",
            "model_sha256",
            "alert_count",
        )
        writer.insert(
            session.connection(),
            incident_table,
            columns,
            [
                (
                    writer.uuid(incident_id),
                    "cam-1",
                    writer.uuid(device_id),
                    "open",
                    "new",
                    writer.time(moment),
                    writer.time(moment),
                    writer.time(moment + timedelta(minutes=5)),
                    0.5,
                    0.5,
                    "1",
                    "m",
                    "1",
                    "a" * 64,
                    1,
                )
            ],
        )
        session.commit()
    with session_factory() as session:
        row = session.scalars(select(Incident).where(Incident.opened_at == moment)).one()
        assert (row.id, row.device_incident_id, row.opened_at) == (incident_id, device_id, moment)
        assert session.scalars(select(Incident).where(Incident.expires_at > moment + timedelta(minutes=4))).one()
