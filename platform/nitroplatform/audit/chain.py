"""Hash-chained audit entries whose per-incident detail can be redacted without breaking the chain.

Each entry is sealed in two steps:

* ``detail_digest`` = sha256(``detail_salt`` + canonical JSON of the *redactable* fields: the exact time,
  the actor and the detail). The salt is 16 random bytes per entry, so a digest cannot be reversed by
  guessing a few officers, outcomes and seconds.
* ``entry_hash`` = sha256(``prev_hash`` + canonical JSON of the *kept* fields: action, target type and id,
  the ISO week of the entry, and ``detail_digest``).

The chain runs over ``entry_hash``, so it never depends on the redactable fields themselves. When retention
deletes an incident, :func:`redact_incident_entries` replaces the actor and detail of that incident's
entries, coarsens their time to the start of the ISO week and drops the salt; the digest stays, and the
chain still verifies. An entry that was not redacted is checked against its digest as well, so changing
any field of it is detected. ``verify_chain`` also refuses a "redaction" of anything but an incident entry,
and of an incident that still exists.

Appends are serialised: on PostgreSQL by a transaction-level advisory lock, on SQLite by taking the write
lock (``BEGIN IMMEDIATE``) before the chain's head is read. ``prev_hash`` is unique as a last line of
defence, so two writers can never fork the chain.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from nitroplatform.db.models import Incident
from nitroplatform.people.record_models import AuditEntry
from nitroplatform.people.timeutil import as_utc, utcnow

GENESIS_HASH = "0" * 64
REDACTED_ACTOR = "redacted"
REDACTED_DETAIL = "{}"
REDACTABLE_TARGET_TYPE = "incident"
# An arbitrary constant that names "the audit chain" among PostgreSQL advisory locks.
_AUDIT_LOCK_KEY = 0x6E5F_A0D1
AuditDetail = Mapping[str, str | int | float | bool | None]


def _canonical(fields: Mapping[str, str]) -> str:
    return json.dumps(dict(fields), sort_keys=True, separators=(",", ":"))


def week_start(at: datetime) -> datetime:
    """Monday 00:00 UTC of the ISO week of ``at``: the only time a redacted entry keeps."""
    moment = as_utc(at)
    return (moment - timedelta(days=moment.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)


def detail_digest(*, salt: str, at: datetime, actor: str, detail: str) -> str:
    """The salted digest of an entry's redactable fields."""
    body = _canonical({"at": as_utc(at).isoformat(timespec="microseconds"), "actor": actor, "detail": detail})
    return hashlib.sha256((salt + body).encode()).hexdigest()


def entry_hash(*, prev_hash: str, at: datetime, action: str, target_type: str, target_id: str, digest: str) -> str:
    """The chained hash of one entry (over its kept fields and the digest of the rest)."""
    body = _canonical(
        {
            "week": week_start(at).date().isoformat(),
            "action": action,
            "target_type": target_type,
            "target_id": target_id,
            "detail_digest": digest,
        }
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def _lock_chain(db: Session) -> None:
    """Hold the chain's write lock until the caller's transaction ends, so the head read stays the head."""
    connection = db.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _AUDIT_LOCK_KEY})
    elif dialect == "sqlite":
        raw = connection.connection.driver_connection
        # The sqlite3 driver opens a transaction only before its first INSERT/UPDATE/DELETE. If this one
        # has not written yet, take the write lock now; a reader racing us would otherwise chain onto
        # the same head (UNIQUE constraint failed: people_audit_entries.prev_hash). A transaction that
        # has already written holds the lock, and WAL gives it the newest head.
        if raw is not None and not raw.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def record(
    db: Session,
    *,
    actor: str,
    action: str,
    target_type: str,
    target_id: str | int,
    detail: AuditDetail | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction; it becomes durable when the caller commits.

    Args:
        db: the session of the action being audited, so the action and its entry commit together.
        actor: username of who did it (or ``system:<task>`` for background jobs).
        action: a dotted verb such as ``incident.claim`` or ``silence.create``.
        target_type: kind of object acted on (``incident``, ``camera``, ``model``, ``route``...). Entries
            about an ``incident`` are redacted when retention deletes the incident.
        target_id: its id.
        detail: small structured facts; never personal data or free text from officers.
    """
    _lock_chain(db)
    last = db.scalar(select(AuditEntry.entry_hash).order_by(AuditEntry.id.desc()).limit(1))
    prev = last or GENESIS_HASH
    at = utcnow()
    detail_json = json.dumps(dict(detail or {}), sort_keys=True, separators=(",", ":"))
    salt = secrets.token_hex(16)
    digest = detail_digest(salt=salt, at=at, actor=actor, detail=detail_json)
    entry = AuditEntry(
        at=at,
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        detail=detail_json,
        detail_salt=salt,
        detail_digest=digest,
        prev_hash=prev,
        entry_hash=entry_hash(
            prev_hash=prev, at=at, action=action, target_type=target_type, target_id=str(target_id), digest=digest
        ),
    )
    db.add(entry)
    db.flush()
    return entry


def redact_incident_entries(db: Session, *, incident_ids: Iterable[uuid.UUID | str], at: datetime) -> int:
    """Strip the per-incident detail from every entry about these (deleted) incidents; returns how many.

    The actor and detail are replaced, the time is coarsened to its ISO week and the salt is dropped, so
    nothing of the incident's handling (officer, camera, outcome, category, exact time) remains; the
    digest and the chain hashes stay, so ``verify_chain`` still passes. The database's append-only trigger
    allows exactly this update and nothing else.
    """
    ids = sorted({str(incident_id) for incident_id in incident_ids})
    redacted = 0
    for start in range(0, len(ids), 500):
        rows = db.scalars(
            select(AuditEntry).where(
                AuditEntry.target_type == REDACTABLE_TARGET_TYPE,
                AuditEntry.target_id.in_(ids[start : start + 500]),
                AuditEntry.redacted_at.is_(None),
            )
        ).all()
        for row in rows:
            row.actor = REDACTED_ACTOR
            row.detail = REDACTED_DETAIL
            row.detail_salt = None
            row.at = week_start(row.at)
            row.redacted_at = at
        redacted += len(rows)
    db.flush()
    return redacted


@dataclass(frozen=True)
class ChainReport:
    """Result of checking the whole chain."""

    ok: bool
    entries: int
    first_bad_id: int | None = None
    reason: str | None = None
    redacted: int = 0


CONTENT_MISMATCH = "entry content does not match its hash"
LINK_MISMATCH = "prev_hash does not match the previous entry's hash"
BAD_REDACTION = "redacted entry is not a redaction of an incident entry"
REDACTED_TOO_EARLY = "entry redacted while its incident still exists"


def _row_problem(row: AuditEntry, prev: str) -> str | None:
    if row.prev_hash != prev:
        return LINK_MISMATCH
    expected = entry_hash(
        prev_hash=row.prev_hash,
        at=row.at,
        action=row.action,
        target_type=row.target_type,
        target_id=row.target_id,
        digest=row.detail_digest,
    )
    if expected != row.entry_hash:
        return CONTENT_MISMATCH
    if row.redacted_at is None:
        if row.detail_salt is None:
            return CONTENT_MISMATCH
        digest = detail_digest(salt=row.detail_salt, at=row.at, actor=row.actor, detail=row.detail)
        return None if digest == row.detail_digest else CONTENT_MISMATCH
    proper = (
        row.target_type == REDACTABLE_TARGET_TYPE
        and row.actor == REDACTED_ACTOR
        and row.detail == REDACTED_DETAIL
        and row.detail_salt is None
    )
    return None if proper else BAD_REDACTION


def _still_existing(db: Session, redacted: list[AuditEntry]) -> AuditEntry | None:
    """The first redacted entry whose incident is still in the database, if any."""
    by_id: dict[uuid.UUID, AuditEntry] = {}
    for row in redacted:
        try:
            by_id.setdefault(uuid.UUID(row.target_id), row)
        except ValueError:
            continue
    if not by_id:
        return None
    existing = set(db.scalars(select(Incident.id).where(Incident.id.in_(list(by_id)))))
    offenders = [row for incident_id, row in by_id.items() if incident_id in existing]
    return min(offenders, key=lambda row: row.id) if offenders else None


def verify_chain(db: Session, *, batch_size: int = 1000) -> ChainReport:
    """Recompute every hash in id order and report the first entry that does not check out."""
    prev = GENESIS_HASH
    count = 0
    redacted_total = 0
    last_id = 0
    while True:
        rows = db.scalars(
            select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch_size)
        ).all()
        if not rows:
            return ChainReport(ok=True, entries=count, redacted=redacted_total)
        redacted: list[AuditEntry] = []
        for row in rows:
            problem = _row_problem(row, prev)
            if problem is not None:
                return ChainReport(False, count, row.id, problem, redacted_total)
            if row.redacted_at is not None:
                redacted.append(row)
            prev = row.entry_hash
            count += 1
            last_id = row.id
        offender = _still_existing(db, redacted)
        if offender is not None:
            checked = count - sum(1 for row in rows if row.id >= offender.id)
            return ChainReport(False, checked, offender.id, REDACTED_TOO_EARLY, redacted_total)
        redacted_total += len(redacted)
