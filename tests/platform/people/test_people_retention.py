"""Retention deletes old alerts and incidents, keeps weekly counts, logs every run; precision from outcomes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from people_helpers import PeopleUser, add_camera, add_incident  # type: ignore[import-not-found, unused-ignore]
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from nitroplatform.audit.chain import verify_chain
from nitroplatform.auth.deps import Role
from nitroplatform.db.models import Alert, Incident
from nitroplatform.people.dispatch_models import IncidentOutcome
from nitroplatform.people.record_models import AuditEntry, RetentionRun, WeeklyAggregate
from nitroplatform.precision import field_precision
from nitroplatform.retention import run_retention

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def _alert(db: Session, incident_id: uuid.UUID, seq: int, received_at: datetime) -> None:
    db.add(
        Alert(
            camera_id="cam-1",
            seq=seq,
            message_id=str(uuid.uuid4()),
            received_at=received_at,
            sent_at=received_at,
            incident_id=incident_id,
            device_incident_id=uuid.uuid4(),
            phase="new",
            occurred_at=received_at,
            zone=None,
            confidence=0.9,
            people_involved="1",
            model_id="balloon-net",
            model_version="1.0",
            model_sha256="0" * 64,
            expires_at=received_at + timedelta(minutes=5),
        )
    )


def _outcome(
    db: Session,
    incident_id: uuid.UUID,
    outcome: str,
    category: str | None = None,
    version: str = "1.0",
    camera: str = "cam-1",
) -> None:
    db.add(
        IncidentOutcome(
            incident_id=incident_id,
            camera_id=camera,
            model_id="balloon-net",
            model_version=version,
            outcome=outcome,
            category=category,
            recorded_at=NOW,
        )
    )


@pytest.fixture
def history(session_factory: sessionmaker[Session]) -> dict[str, Any]:
    """Two incidents 40 days old (one confirmed, one without outcome) and one 3 days old."""
    with session_factory() as db:
        add_camera(db, "cam-1")
        old_a = add_incident(db, "cam-1", opened_at=NOW - timedelta(days=40))
        old_b = add_incident(db, "cam-1", opened_at=NOW - timedelta(days=40, hours=1))
        young = add_incident(db, "cam-1", opened_at=NOW - timedelta(days=3))
        for seq, (incident, age) in enumerate([(old_a, 40), (old_b, 40), (young, 3)], start=1):
            _alert(db, incident, seq, NOW - timedelta(days=age))
        _outcome(db, old_a, "confirmed_use")
        _outcome(db, young, "false_alarm", "drink")
        db.commit()
    return {"old": [old_a, old_b], "young": young}


def test_retention_deletes_old_rows_and_keeps_counts(
    session_factory: sessionmaker[Session], history: dict[str, Any]
) -> None:
    with session_factory() as db:
        run = run_retention(db, retention_days=28, now=NOW)
        assert (run.status, run.incidents_deleted, run.alerts_deleted) == ("ok", 2, 2)
        remaining = set(db.scalars(select(Incident.id)))
        assert remaining == {history["young"]}
        assert db.scalar(select(func.count()).select_from(Alert)) == 1
        assert db.scalar(select(func.count()).select_from(IncidentOutcome)) == 1  # the outcome went with its incident
        week = (NOW - timedelta(days=40)).isocalendar()
        counts = {(row.iso_year, row.iso_week, row.outcome): row.count for row in db.scalars(select(WeeklyAggregate))}
        assert counts == {(week.year, week.week, "confirmed_use"): 1, (week.year, week.week, "none"): 1}
        runs = db.scalars(select(RetentionRun)).all()
        assert len(runs) == 1 and runs[0].cutoff == NOW - timedelta(days=28)
        assert db.scalar(select(AuditEntry.action).where(AuditEntry.action == "retention.run")) == "retention.run"
        assert verify_chain(db).ok
        # A second run finds nothing more, and is logged too.
        again = run_retention(db, retention_days=28, now=NOW)
        assert again.incidents_deleted == 0
        assert db.scalar(select(func.count()).select_from(RetentionRun)) == 2


@pytest.mark.parametrize(
    ("days", "expectation"),
    [(0, pytest.raises(ValueError)), (28, None)],
)
def test_retention_days_must_be_positive(session_factory: sessionmaker[Session], days: int, expectation: Any) -> None:
    with session_factory() as db:
        if expectation is None:
            assert run_retention(db, retention_days=days, now=NOW).status == "ok"
        else:
            with expectation:
                run_retention(db, retention_days=days, now=NOW)


# outcomes on one camera → precision, false alarms by look-alike
PRECISION_TABLE: list[tuple[list[tuple[str, str | None]], float | None, dict[str, int]]] = [
    ([("confirmed_use", None)] * 3 + [("false_alarm", "phone")], 0.75, {"phone": 1}),
    ([("nobody_there", None), ("not_handled", None)], None, {}),
    ([("false_alarm", "drink"), ("false_alarm", "ball")], 0.0, {"ball": 1, "drink": 1}),
]


def test_precision_from_outcomes(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as db:
        for number, (outcomes, _, _) in enumerate(PRECISION_TABLE):
            for outcome, category in outcomes:
                _outcome(db, uuid.uuid4(), outcome, category, camera=f"cam-{number}")
        _outcome(db, uuid.uuid4(), "false_alarm", "drink", version="2.0", camera="cam-0")  # other version apart
        db.commit()
        rows = {(row.model_version, row.camera_id): row for row in field_precision(db)}
    for number, (_, expected_precision, expected_categories) in enumerate(PRECISION_TABLE):
        row = rows[("1.0", f"cam-{number}")]
        assert row.precision == expected_precision, number
        assert row.false_alarm_by_category == expected_categories, number
    assert rows[("2.0", "cam-0")].precision == 0.0


def test_precision_survives_retention(
    session_factory: sessionmaker[Session],
    history: dict[str, Any],
    https_client: Callable[[], TestClient],
    make_user: Callable[..., PeopleUser],
) -> None:
    with session_factory() as db:
        before = field_precision(db)
        run_retention(db, retention_days=28, now=NOW)
        after = field_precision(db)
    assert [(r.confirmed_use, r.false_alarm) for r in before] == [(r.confirmed_use, r.false_alarm) for r in after]
    assert after[0].precision == 0.5
    engineer = make_user("mila", Role.ml_engineer)
    api = https_client().get("/api/v1/precision", headers=engineer.headers).json()
    assert api[0]["model_version"] == "1.0" and api[0]["confirmed_use"] == 1 and api[0]["false_alarm"] == 1
