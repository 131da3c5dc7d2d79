"""Incident grouping, lifecycle, update suppression and auto-close, on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from nitroplatform.api.errors import NotFoundError
from nitroplatform.db.models import Incident
from nitroplatform.incidents.queries import get_incident
from nitroplatform.incidents.service import (
    AlertFacts,
    IncidentChange,
    apply_alerts,
    close_expired,
    register_change_listener,
    unregister_change_listener,
)

NOW = datetime(2026, 6, 1, 22, 0, tzinfo=UTC)
EVENT = uuid.UUID("7d1e4c2a-9b3f-4a5e-8c6d-2f1e0a9b8c7d")


def facts(
    phase: str,
    confidence: float = 0.8,
    people: str = "1",
    zone: str | None = "plein",
    camera_id: str = "cam-1",
    incident: uuid.UUID = EVENT,
    expires_in_s: int = 300,
) -> AlertFacts:
    return AlertFacts(
        camera_id=camera_id,
        device_incident_id=incident,
        phase=phase,
        zone=zone,
        confidence=confidence,
        people_involved=people,
        model_id="balloon",
        model_version="1.0",
        model_sha256="c" * 64,
        expires_at=NOW + timedelta(seconds=expires_in_s),
    )


# Each row: alerts applied one batch at a time; which batches announced a change; final state, reason, count.
LIFECYCLE = [
    pytest.param([facts("new")], [True], "open", None, 1, id="new-opens"),
    pytest.param([facts("new"), facts("update", 0.9)], [True, True], "open", None, 2, id="confidence-change"),
    pytest.param([facts("new"), facts("update")], [True, True], "open", None, 2, id="phase-change-counts"),
    pytest.param(
        [facts("new"), facts("update"), facts("update")],
        [True, True, False],
        "open",
        None,
        3,
        id="identical-update-suppressed",
    ),
    pytest.param(
        [facts("new"), facts("update"), facts("update", people="2-4")],
        [True, True, True],
        "open",
        None,
        3,
        id="people-bucket-change",
    ),
    pytest.param(
        [facts("new"), facts("update"), facts("update", zone="straat")],
        [True, True, True],
        "open",
        None,
        3,
        id="zone-change",
    ),
    pytest.param([facts("new"), facts("end")], [True, True], "closed", "ended", 2, id="end-closes"),
    pytest.param([facts("end")], [True], "closed", "ended", 1, id="lonely-end"),
]


@pytest.mark.parametrize(("alerts", "announced", "state", "reason", "count"), LIFECYCLE)
def test_lifecycle(
    alerts: list[AlertFacts],
    announced: list[bool],
    state: str,
    reason: str | None,
    count: int,
    session_factory: sessionmaker[Session],
) -> None:
    seen = []
    ids = set()
    for alert in alerts:
        with session_factory() as session:
            result = apply_alerts(session, alerts=[alert], now=NOW)
            session.commit()
        seen.append(bool(result.changed))
        ids.update(result.incident_ids)
    assert seen == announced
    assert len(ids) == 1, "all alerts of one device incident join one platform incident"
    with session_factory() as session:
        incident = get_incident(session, incident_id=ids.pop())
        assert (incident.state, incident.close_reason, incident.alert_count) == (state, reason, count)
        assert incident.confidence_max == max(alert.confidence for alert in alerts)


def test_one_batch_groups_by_camera_and_device_incident(session_factory: sessionmaker[Session]) -> None:
    other = uuid.uuid4()
    batch = [facts("new"), facts("new", incident=other), facts("new", camera_id="cam-2"), facts("update", 0.95)]
    with session_factory() as session:
        result = apply_alerts(session, alerts=batch, now=NOW)
        session.commit()
    assert result.incident_ids[0] == result.incident_ids[3]
    assert len(set(result.incident_ids)) == 3
    assert sorted(change.kind for change in result.changed) == ["opened"] * 3
    merged = next(c.incident for c in result.changed if c.incident.id == result.incident_ids[0])
    assert (merged.alert_count, merged.confidence, merged.confidence_max) == (2, 0.95, 0.95)


@pytest.mark.parametrize(
    ("state_before", "expected_state", "expected_reason"),
    [("open", "closed", "expired"), ("claimed", "claimed", None), ("arrived", "arrived", None)],
)
def test_auto_close_only_open_incidents(
    state_before: str, expected_state: str, expected_reason: str | None, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as session:
        incident_id = apply_alerts(session, alerts=[facts("new", expires_in_s=60)], now=NOW).incident_ids[0]
        session.execute(update(Incident).where(Incident.id == incident_id).values(state=state_before))
        session.commit()
    with session_factory() as session:
        assert close_expired(session, now=NOW + timedelta(seconds=30)) == []
        changes = close_expired(session, now=NOW + timedelta(seconds=61))
        session.commit()
    assert [c.incident.id for c in changes] == ([incident_id] if expected_reason else [])
    with session_factory() as session:
        incident = get_incident(session, incident_id=incident_id)
        assert (incident.state, incident.close_reason) == (expected_state, expected_reason)


def test_update_after_expiry_reopens(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        incident_id = apply_alerts(session, alerts=[facts("new", expires_in_s=60)], now=NOW).incident_ids[0]
        close_expired(session, now=NOW + timedelta(seconds=61))
        result = apply_alerts(session, alerts=[facts("update", 0.9, expires_in_s=600)], now=NOW + timedelta(seconds=90))
        session.commit()
    assert [(c.incident.id, c.incident.state) for c in result.changed] == [(incident_id, "open")]


def test_end_of_claimed_incident_keeps_it_with_the_officer(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        incident_id = apply_alerts(session, alerts=[facts("new")], now=NOW).incident_ids[0]
        session.execute(update(Incident).where(Incident.id == incident_id).values(state="claimed"))
        apply_alerts(session, alerts=[facts("end")], now=NOW + timedelta(seconds=5))
        session.commit()
        incident = get_incident(session, incident_id=incident_id)
        assert (incident.state, incident.close_reason) == ("claimed", None)
        assert incident.ended_at == NOW + timedelta(seconds=5)


@pytest.mark.parametrize(
    ("listener_raises", "expectation"),
    [(False, contextlib.nullcontext()), (True, contextlib.nullcontext())],
)
def test_change_listeners_called_and_isolated(
    listener_raises: bool, expectation: Any, session_factory: sessionmaker[Session]
) -> None:
    from nitroplatform.incidents.service import notify_listeners

    received: list[IncidentChange] = []

    def listener(change: IncidentChange) -> None:
        received.append(change)
        if listener_raises:
            raise RuntimeError("listener bug")

    register_change_listener(listener)
    try:
        with session_factory() as session:
            changes = apply_alerts(session, alerts=[facts("new")], now=NOW).changed
            session.commit()
        with expectation:
            failures = notify_listeners(changes)
    finally:
        unregister_change_listener(listener)
    assert [c.kind for c in received] == ["opened"]
    assert failures == (1 if listener_raises else 0)


def test_unknown_incident_is_not_found(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session, pytest.raises(NotFoundError):
        get_incident(session, incident_id=uuid.uuid4())
