"""The audit chain verifies, refuses edits in the database, and detects a tampered or deleted row."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from people_helpers import PeopleUser  # type: ignore[import-not-found, unused-ignore]
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from nitroplatform.audit.chain import GENESIS_HASH, record, verify_chain
from nitroplatform.auth.deps import Role


def _seed(factory: sessionmaker[Session]) -> None:
    with factory() as db:
        for number in range(4):
            record(
                db,
                actor="olga",
                action="incident.claim",
                target_type="incident",
                target_id=f"i-{number}",
                detail={"n": number},
            )
        db.commit()


def _drop_protection(db: Session) -> None:
    # An attacker with database access can drop the trigger; the hash chain still gives them away.
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("DROP TRIGGER people_audit_entries_append_only ON people_audit_entries"))
    else:
        db.execute(text("DROP TRIGGER people_audit_entries_no_update"))
        db.execute(text("DROP TRIGGER people_audit_entries_no_delete"))


def test_chain_links_and_verifies(session_factory: sessionmaker[Session]) -> None:
    _seed(session_factory)
    with session_factory() as db:
        report = verify_chain(db)
        first = db.execute(text("SELECT prev_hash FROM people_audit_entries ORDER BY id LIMIT 1")).scalar_one()
    assert report.ok and report.entries == 4
    assert first == GENESIS_HASH


@pytest.mark.parametrize(
    "statement",
    ["UPDATE people_audit_entries SET actor = 'mallory' WHERE id = 2", "DELETE FROM people_audit_entries WHERE id = 2"],
)
def test_database_refuses_edits(session_factory: sessionmaker[Session], statement: str) -> None:
    _seed(session_factory)
    with session_factory() as db, pytest.raises(DBAPIError, match="append-only"):
        db.execute(text(statement))


@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        ("UPDATE people_audit_entries SET actor = 'mallory' WHERE id = 2", "entry content does not match its hash"),
        ("DELETE FROM people_audit_entries WHERE id = 2", "prev_hash does not match the previous entry's hash"),
    ],
)
def test_tampering_is_detected(session_factory: sessionmaker[Session], statement: str, reason: str) -> None:
    _seed(session_factory)
    with session_factory() as db:
        _drop_protection(db)
        db.execute(text(statement))
        db.commit()
        report = verify_chain(db)
    assert not report.ok
    assert report.reason == reason
    assert report.first_bad_id in (2, 3)


def test_audit_api_for_auditor(
    https_client: Callable[[], TestClient], make_user: Callable[..., PeopleUser], session_factory: sessionmaker[Session]
) -> None:
    _seed(session_factory)
    auditor = make_user("aud", Role.auditor)
    client = https_client()
    page = client.get("/api/v1/audit", params={"action": "incident.claim", "limit": 2}, headers=auditor.headers)
    assert page.status_code == 200
    body = page.json()
    assert [item["target_id"] for item in body["items"]] == ["i-3", "i-2"]
    assert body["next_before_id"] is not None
    # Filters are bound parameters: an injection attempt is just a username nobody has.
    injected = client.get("/api/v1/audit", params={"actor": "x' OR '1'='1"}, headers=auditor.headers)
    assert injected.status_code == 200 and injected.json()["items"] == []
    verify = client.get("/api/v1/audit/verify", headers=auditor.headers)
    assert verify.json()["ok"] is True
    # Viewing the log is itself audited.
    viewed = client.get("/api/v1/audit", params={"action": "audit.view"}, headers=auditor.headers).json()
    assert viewed["items"][0]["actor"] == "aud"
