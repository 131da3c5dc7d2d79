"""Hash-chained audit entries.

Each entry stores the sha256 of its predecessor and its own hash over (predecessor hash + canonical
JSON of its fields). Changing, deleting or reordering any row breaks every hash after it, which
``verify_chain`` reports with the first bad row. ``prev_hash`` is unique, so two writers that race
for the same predecessor cannot fork the chain; on PostgreSQL an advisory lock also serialises them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from nitroplatform.people.record_models import AuditEntry
from nitroplatform.people.timeutil import as_utc, utcnow

GENESIS_HASH = "0" * 64
# An arbitrary constant that names "the audit chain" among PostgreSQL advisory locks.
_AUDIT_LOCK_KEY = 0x6E5F_A0D1
AuditDetail = Mapping[str, str | int | float | bool | None]


def entry_hash(
    *, prev_hash: str, at: datetime, actor: str, action: str, target_type: str, target_id: str, detail: str
) -> str:
    """The chained hash of one entry."""
    body = json.dumps(
        {
            "at": as_utc(at).isoformat(timespec="microseconds"),
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
        target_type: kind of object acted on (``incident``, ``camera``, ``model``, ``route``...).
        target_id: its id.
        detail: small structured facts; never personal data or free text from officers.
    """
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _AUDIT_LOCK_KEY})
    last = db.scalar(select(AuditEntry.entry_hash).order_by(AuditEntry.id.desc()).limit(1))
    prev = last or GENESIS_HASH
    at = utcnow()
    detail_json = json.dumps(dict(detail or {}), sort_keys=True, separators=(",", ":"))
    entry = AuditEntry(
        at=at,
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        detail=detail_json,
        prev_hash=prev,
        entry_hash=entry_hash(
            prev_hash=prev,
            at=at,
            actor=actor,
            action=action,
            target_type=target_type,
            target_id=str(target_id),
            detail=detail_json,
        ),
    )
    db.add(entry)
    db.flush()
    return entry


@dataclass(frozen=True)
class ChainReport:
    """Result of checking the whole chain."""

    ok: bool
    entries: int
    first_bad_id: int | None = None
    reason: str | None = None


def verify_chain(db: Session, *, batch_size: int = 1000) -> ChainReport:
    """Recompute every hash in id order and report the first entry that does not check out."""
    prev = GENESIS_HASH
    count = 0
    last_id = 0
    while True:
        rows = db.scalars(
            select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch_size)
        ).all()
        if not rows:
            return ChainReport(ok=True, entries=count)
        for row in rows:
            if row.prev_hash != prev:
                return ChainReport(False, count, row.id, "prev_hash does not match the previous entry's hash")
            expected = entry_hash(
                prev_hash=row.prev_hash,
                at=row.at,
                actor=row.actor,
                action=row.action,
                target_type=row.target_type,
                target_id=row.target_id,
                detail=row.detail,
            )
            if expected != row.entry_hash:
                return ChainReport(False, count, row.id, "entry content does not match its hash")
            prev = row.entry_hash
            count += 1
            last_id = row.id
