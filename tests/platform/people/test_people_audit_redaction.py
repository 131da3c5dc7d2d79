"""Retention redacts the audit detail of the incidents it deletes, and the chain still verifies and still
catches tampering; the database allows that redaction and no other edit; the migration converts an old
chain so it verifies, without laundering one that was already broken. SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from people_helpers import PeopleUser, add_camera, add_incident  # type: ignore[import-not-found, unused-ignore]
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from nitroplatform.audit.chain import (
    BAD_REDACTION,
    CONTENT_MISMATCH,
    REDACTED_TOO_EARLY,
    record,
    verify_chain,
    week_start,
)
from nitroplatform.auth.deps import Role
from nitroplatform.db.engine import make_engine
from nitroplatform.db.migrate import upgrade
from nitroplatform.people.record_models import AuditEntry
from nitroplatform.retention import run_retention

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def _handle(db: Session, incident_id: uuid.UUID) -> None:
    """What an officer's handling of an incident leaves in the audit log."""
    target = str(incident_id)
    record(db, actor="olga", action="incident.view", target_type="incident", target_id=target)
    record(
        db,
        actor="olga",
        action="incident.claim",
        target_type="incident",
        target_id=target,
        detail={"camera_id": "cam-7"},
    )
    record(
        db,
        actor="olga",
        action="incident.close",
        target_type="incident",
        target_id=target,
        detail={"camera_id": "cam-7", "outcome": "confirmed_use", "category": None},
    )


@pytest.fixture
def handled(session_factory: sessionmaker[Session]) -> dict[str, uuid.UUID]:
    """One incident 40 days old and one 3 days old, each viewed, claimed and closed by olga."""
    with session_factory() as db:
        add_camera(db, "cam-7")
        old = add_incident(db, "cam-7", opened_at=NOW - timedelta(days=40))
        young = add_incident(db, "cam-7", opened_at=NOW - timedelta(days=3))
        record(db, actor="admin", action="camera.create", target_type="camera", target_id="cam-7")
        _handle(db, old)
        _handle(db, young)
        db.commit()
    return {"old": old, "young": young}


def _entries(db: Session, incident_id: uuid.UUID) -> list[AuditEntry]:
    return list(db.scalars(select(AuditEntry).where(AuditEntry.target_id == str(incident_id)).order_by(AuditEntry.id)))


def test_retention_redacts_the_entries_of_deleted_incidents_and_the_chain_verifies(
    session_factory: sessionmaker[Session], handled: dict[str, uuid.UUID]
) -> None:
    with session_factory() as db:
        original_times = [entry.at for entry in _entries(db, handled["old"])]
        run = run_retention(db, retention_days=28, now=NOW)
        assert run.incidents_deleted == 1
        redacted = _entries(db, handled["old"])
        kept = _entries(db, handled["young"])
        report = verify_chain(db)
        summary = json.loads(db.scalars(select(AuditEntry.detail).where(AuditEntry.action == "retention.run")).one())
    assert [entry.action for entry in redacted] == ["incident.view", "incident.claim", "incident.close"]
    for entry, original in zip(redacted, original_times, strict=True):
        assert (entry.actor, entry.detail, entry.detail_salt) == ("redacted", "{}", None)
        assert entry.at == week_start(original) and entry.redacted_at == NOW
    leftovers = " ".join(f"{entry.actor} {entry.detail} {entry.at.isoformat()}" for entry in redacted)
    for detail in ("olga", "cam-7", "confirmed_use", *(t.isoformat() for t in original_times)):
        assert detail not in leftovers, detail
    assert all(entry.actor == "olga" and entry.redacted_at is None for entry in kept), "young incidents keep theirs"
    assert report.ok, report
    assert report.redacted == 3 and summary["audit_entries_redacted"] == 3


def _drop_protection(db: Session) -> None:
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("DROP TRIGGER people_audit_entries_append_only ON people_audit_entries"))
    else:
        db.execute(text("DROP TRIGGER people_audit_entries_no_update"))
        db.execute(text("DROP TRIGGER people_audit_entries_no_delete"))


# What an attacker with database access changes after retention → what verify_chain reports.
TAMPERING: list[tuple[str, str, str]] = [
    ("the outcome of a kept entry", "young", CONTENT_MISMATCH),
    ("the officer of a kept entry", "young-actor", CONTENT_MISMATCH),
    ("the incident of a redacted entry", "old-target", CONTENT_MISMATCH),
    ("the week of a redacted entry", "old-week", CONTENT_MISMATCH),
    ("a redacted entry given an officer back", "old-actor", BAD_REDACTION),
    ("a kept incident's entry redacted early", "young-redact", REDACTED_TOO_EARLY),
]


@pytest.mark.parametrize(("what", "case", "reason"), TAMPERING, ids=[row[0] for row in TAMPERING])
def test_tampering_after_redaction_is_detected(
    session_factory: sessionmaker[Session], handled: dict[str, uuid.UUID], what: str, case: str, reason: str
) -> None:
    with session_factory() as db:
        run_retention(db, retention_days=28, now=NOW)
        assert verify_chain(db).ok
        victim = _entries(db, handled["young" if case.startswith("young") else "old"])[-1]
        victim_id = victim.id
        _drop_protection(db)
        changes: dict[str, dict[str, Any]] = {
            "young": {"detail": json.dumps({"camera_id": "cam-7", "outcome": "false_alarm", "category": "drink"})},
            "young-actor": {"actor": "mallory"},
            "old-target": {"target_id": str(uuid.uuid4())},
            "old-week": {"at": victim.at - timedelta(weeks=1)},
            "old-actor": {"actor": "olga"},
            "young-redact": {"actor": "redacted", "detail": "{}", "detail_salt": None, "redacted_at": NOW},
        }
        for column, value in changes[case].items():
            setattr(victim, column, value)
        db.commit()
        report = verify_chain(db)
    assert not report.ok, what
    assert (report.first_bad_id, report.reason) == (victim_id, reason), what


# An UPDATE on the audit table → allowed by the database (only the exact redaction of an incident entry)
TRIGGER_TABLE: list[tuple[str, str, bool]] = [
    ("redaction", "actor = 'redacted', detail = '{}', detail_salt = NULL, redacted_at = at", True),
    (
        "redaction that also changes the action",
        "actor = 'redacted', detail = '{}', detail_salt = NULL, redacted_at = at, action = 'incident.view'",
        False,
    ),
    ("redaction that keeps the officer", "detail = '{}', detail_salt = NULL, redacted_at = at", False),
    ("redaction that keeps the salt", "actor = 'redacted', detail = '{}', redacted_at = at", False),
    ("plain edit of the actor", "actor = 'mallory'", False),
    ("new hashes", "entry_hash = 'f' || substr(entry_hash, 2)", False),
]


@pytest.mark.parametrize(("what", "assignments", "allowed"), TRIGGER_TABLE, ids=[row[0] for row in TRIGGER_TABLE])
def test_database_allows_only_the_redaction_of_an_incident_entry(
    session_factory: sessionmaker[Session], handled: dict[str, uuid.UUID], what: str, assignments: str, allowed: bool
) -> None:
    with session_factory() as db:
        target = _entries(db, handled["old"])[-1]
        statement = text(f"UPDATE people_audit_entries SET {assignments} WHERE id = :id")  # noqa: S608 (fixed table)
        if allowed:
            db.execute(statement, {"id": target.id})
            db.commit()
        else:
            with pytest.raises(DBAPIError, match="append-only"):
                db.execute(statement, {"id": target.id})
            db.rollback()
        camera_entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "camera.create")).one()
        with pytest.raises(DBAPIError, match="append-only"):
            # Only incident entries can ever be redacted; everything else stays as written.
            db.execute(
                text(
                    "UPDATE people_audit_entries SET actor = 'redacted', detail = '{}', detail_salt = NULL, "
                    "redacted_at = at WHERE id = :id"
                ),
                {"id": camera_entry.id},
            )
        db.rollback()
        with pytest.raises(DBAPIError, match="append-only"):
            db.execute(text("DELETE FROM people_audit_entries WHERE id = :id"), {"id": target.id})


def _v1_hash(
    prev_hash: str, *, at: datetime, actor: str, action: str, target_type: str, target_id: str, detail: str
) -> str:
    """The audit hash as release 0003 wrote it (every field, detail included), computed independently."""
    body = json.dumps(
        {
            "at": at.isoformat(timespec="microseconds"),
            "actor": actor,
            "action": action,
            "target_type": target_type,
            "target_id": target_id,
            "detail": detail,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def _seed_v1_chain(url: str, *, kept: uuid.UUID, gone: uuid.UUID) -> list[int]:
    """Entries as a 0003 platform wrote them: two about an incident retention already deleted, one kept."""
    engine = make_engine(url)
    prev = "0" * 64
    ids = []
    rows: list[tuple[str, str, str, str, str]] = [
        ("admin", "camera.create", "camera", "cam-7", '{"site":"plein"}'),
        ("olga", "incident.claim", "incident", str(gone), '{"camera_id":"cam-7"}'),
        ("olga", "incident.close", "incident", str(gone), '{"camera_id":"cam-7","outcome":"confirmed_use"}'),
        ("olga", "incident.view", "incident", str(kept), "{}"),
        ("aud", "audit.view", "audit", "log", '{"count":3}'),
    ]
    try:
        with engine.begin() as connection:
            for number, (actor, action, target_type, target_id, detail) in enumerate(rows):
                at = NOW - timedelta(days=40 - number, microseconds=number)
                stored_at = at.replace(tzinfo=None) if connection.dialect.name == "sqlite" else at
                entry = _v1_hash(
                    prev, at=at, actor=actor, action=action, target_type=target_type, target_id=target_id, detail=detail
                )
                result = connection.execute(
                    text(
                        "INSERT INTO people_audit_entries (at, actor, action, target_type, target_id, detail,"
                        " prev_hash, entry_hash) VALUES (:at, :actor, :action, :tt, :ti, :detail, :prev, :entry)"
                        " RETURNING id"
                    ),
                    {
                        "at": stored_at,
                        "actor": actor,
                        "action": action,
                        "tt": target_type,
                        "ti": target_id,
                        "detail": detail,
                        "prev": prev,
                        "entry": entry,
                    },
                )
                ids.append(int(result.scalar_one()))
                prev = entry
    finally:
        engine.dispose()
    return ids


@pytest.mark.parametrize("broken_before", [False, True], ids=["intact", "broken-before"])
def test_migration_converts_an_old_chain_and_redacts_deleted_incidents(
    database_url: str, broken_before: bool, make_factory: Callable[[str], sessionmaker[Session]]
) -> None:
    upgrade(database_url, "0003_iama")
    factory = make_factory(database_url)
    with factory() as db:
        add_camera(db, "cam-7")
        kept = add_incident(db, "cam-7", opened_at=NOW - timedelta(days=3))
        db.commit()
    gone = uuid.uuid4()
    ids = _seed_v1_chain(database_url, kept=kept, gone=gone)
    if broken_before:
        with factory() as db:
            _drop_v1_protection(db)
            db.execute(text("UPDATE people_audit_entries SET actor = 'mallory' WHERE id = :id"), {"id": ids[3]})
            db.commit()
    upgrade(database_url)
    with factory() as db:
        report = verify_chain(db)
        entries = {entry.id: entry for entry in db.scalars(select(AuditEntry))}
    assert [entries[number].actor for number in ids[1:3]] == ["redacted", "redacted"]
    assert entries[ids[1]].detail == "{}" and entries[ids[1]].detail_salt is None
    assert entries[ids[3]].redacted_at is None and entries[ids[0]].detail == '{"site":"plein"}'
    if broken_before:
        assert not report.ok and report.first_bad_id == ids[3], "a chain broken before stays broken, same entry"
    else:
        assert report.ok and report.entries == 5 and report.redacted == 2


def _drop_v1_protection(db: Session) -> None:
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("DROP TRIGGER people_audit_entries_append_only ON people_audit_entries"))
    else:
        db.execute(text("DROP TRIGGER people_audit_entries_no_update"))


@pytest.fixture
def make_factory() -> Iterator[Callable[[str], sessionmaker[Session]]]:
    """``make_factory(url)``: a sessionmaker on ``url``; engines are disposed after the test."""
    from nitroplatform.db.session import make_sessionmaker

    engines = []

    def build(url: str) -> sessionmaker[Session]:
        engine = make_engine(url)
        engines.append(engine)
        return make_sessionmaker(engine)

    yield build
    for engine in engines:
        engine.dispose()


def test_the_audit_api_shows_redacted_entries_and_verifies(
    session_factory: sessionmaker[Session],
    handled: dict[str, uuid.UUID],
    https_client: Callable[[], TestClient],
    make_user: Callable[..., PeopleUser],
) -> None:
    with session_factory() as db:
        run_retention(db, retention_days=28, now=NOW)
    auditor = make_user("aud", Role.auditor)
    client = https_client()
    items = client.get("/api/v1/audit", params={"target_id": str(handled["old"])}, headers=auditor.headers).json()
    assert [(item["actor"], item["detail"]) for item in items["items"]] == [("redacted", {})] * 3
    assert all(item["redacted_at"] is not None for item in items["items"])
    verify = client.get("/api/v1/audit/verify", headers=auditor.headers).json()
    assert verify["ok"] is True and verify["redacted"] == 3
