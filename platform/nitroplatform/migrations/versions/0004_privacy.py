"""Privacy: an audit chain whose per-incident detail can be redacted, and no free-text outcome remark.

* ``people_audit_entries`` gets ``detail_salt``, ``detail_digest`` and ``redacted_at``. Every existing entry is
  converted to the two-step seal of ``nitroplatform.audit.chain`` (salted digest of time, actor and detail;
  chain hash over the digest), in id order, so the converted chain verifies. The old chain is checked
  first: a chain that was already broken stays broken at the same entry, it is never laundered.
* Entries about incidents that retention has already deleted are redacted now (actor, detail and salt
  dropped, time coarsened to the ISO week).
* The append-only triggers are replaced by ones that still refuse every DELETE and every UPDATE except
  exactly that redaction.
* ``people_incident_outcomes.remark`` is dropped: officers record structured categories only.

The hash formulas are copied here on purpose: a migration must compute what the code of its own
revision computed, whatever later code does.

Revision ID: 0004_privacy
Revises: 0003_iama
Create Date: 2026-11-22
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004_privacy"
down_revision: str | None = "0003_iama"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

logger = logging.getLogger("alembic.runtime.migration")

GENESIS_HASH = "0" * 64
REDACTED_ACTOR = "redacted"
REDACTED_DETAIL = "{}"
BATCH = 1000

_AUDIT = sa.table(
    "people_audit_entries",
    sa.column("id", sa.Integer()),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("actor", sa.String()),
    sa.column("action", sa.String()),
    sa.column("target_type", sa.String()),
    sa.column("target_id", sa.String()),
    sa.column("detail", sa.Text()),
    sa.column("detail_salt", sa.String()),
    sa.column("detail_digest", sa.String()),
    sa.column("redacted_at", sa.DateTime(timezone=True)),
    sa.column("prev_hash", sa.String()),
    sa.column("entry_hash", sa.String()),
)
_INCIDENTS = sa.table("incidents", sa.column("id", sa.Uuid()))

# The new protection: DELETE is always refused; UPDATE only as the redaction of an incident entry, which
# keeps every sealed column and the hashes, and may only coarsen the time.
_REDACTION_ONLY = """
    OLD.redacted_at IS NULL AND NEW.redacted_at IS NOT NULL
    AND OLD.target_type = 'incident'
    AND NEW.id = OLD.id AND NEW.action = OLD.action
    AND NEW.target_type = OLD.target_type AND NEW.target_id = OLD.target_id
    AND NEW.prev_hash = OLD.prev_hash AND NEW.entry_hash = OLD.entry_hash
    AND NEW.detail_digest = OLD.detail_digest
    AND NEW.actor = 'redacted' AND NEW.detail = '{}' AND NEW.detail_salt IS NULL
    AND NEW.at <= OLD.at
"""
_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION people_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND ({_REDACTION_ONLY}) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'people_audit_entries is append-only (retention may only redact an incident entry)';
END;
$$ LANGUAGE plpgsql
"""
_PG_TRIGGER = """
CREATE TRIGGER people_audit_entries_append_only
BEFORE UPDATE OR DELETE ON people_audit_entries
FOR EACH ROW EXECUTE FUNCTION people_audit_append_only()
"""
_SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER people_audit_entries_no_update BEFORE UPDATE ON people_audit_entries
    WHEN NOT ({_REDACTION_ONLY})
    BEGIN SELECT RAISE(ABORT, 'people_audit_entries is append-only (retention may only redact an incident entry)');
    END""",
    """CREATE TRIGGER people_audit_entries_no_delete BEFORE DELETE ON people_audit_entries
    BEGIN SELECT RAISE(ABORT, 'people_audit_entries is append-only'); END""",
)
# 0002's protection, restored by the downgrade.
_OLD_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION people_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'people_audit_entries is append-only';
END;
$$ LANGUAGE plpgsql
"""
_OLD_SQLITE_TRIGGERS = (
    """CREATE TRIGGER people_audit_entries_no_update BEFORE UPDATE ON people_audit_entries
    BEGIN SELECT RAISE(ABORT, 'people_audit_entries is append-only'); END""",
    """CREATE TRIGGER people_audit_entries_no_delete BEFORE DELETE ON people_audit_entries
    BEGIN SELECT RAISE(ABORT, 'people_audit_entries is append-only'); END""",
)


def _canonical(fields: Mapping[str, str]) -> str:
    return json.dumps(dict(fields), sort_keys=True, separators=(",", ":"))


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _week_start(at: datetime) -> datetime:
    moment = _utc(at)
    return (moment - timedelta(days=moment.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)


def _v1_hash(prev_hash: str, row: Any) -> str:
    """0002's entry hash: over every field, detail included."""
    body = _canonical(
        {
            "at": _utc(row.at).isoformat(timespec="microseconds"),
            "actor": row.actor,
            "action": row.action,
            "target_type": row.target_type,
            "target_id": row.target_id,
            "detail": row.detail,
        }
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def _v2_digest(salt: str, row: Any) -> str:
    body = _canonical({"at": _utc(row.at).isoformat(timespec="microseconds"), "actor": row.actor, "detail": row.detail})
    return hashlib.sha256((salt + body).encode()).hexdigest()


def _v2_hash(prev_hash: str, row: Any, digest: str) -> str:
    body = _canonical(
        {
            "week": _week_start(row.at).date().isoformat(),
            "action": row.action,
            "target_type": row.target_type,
            "target_id": row.target_id,
            "detail_digest": digest,
        }
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def _unverifiable(value: str) -> str:
    # Keeps a break that existed before the conversion: this hash can never be recomputed from the row.
    return hashlib.sha256(("broken-before-0004_privacy:" + value).encode()).hexdigest()


def _db_time(value: datetime, dialect: str) -> datetime:
    # The platform stores naive UTC on SQLite (UTCDateTime) and aware UTC on PostgreSQL.
    return value.replace(tzinfo=None) if dialect == "sqlite" else value


def _rows(connection: sa.Connection) -> Any:
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(_AUDIT).where(_AUDIT.c.id > last_id).order_by(_AUDIT.c.id).limit(BATCH)
        ).all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id


def _drop_protection(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS people_audit_entries_append_only ON people_audit_entries")
        op.execute("DROP FUNCTION IF EXISTS people_audit_append_only()")
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS people_audit_entries_no_update")
        op.execute("DROP TRIGGER IF EXISTS people_audit_entries_no_delete")


def _protect(dialect: str, *, function: str, sqlite_triggers: tuple[str, ...]) -> None:
    if dialect == "postgresql":
        op.execute(function)
        op.execute(_PG_TRIGGER)
    elif dialect == "sqlite":
        for statement in sqlite_triggers:
            op.execute(statement)


def _convert_to_v2(connection: sa.Connection, dialect: str) -> None:
    gone_incidents = _deleted_incident_ids(connection)
    old_prev = GENESIS_HASH
    new_prev = GENESIS_HASH
    broken_at: int | None = None
    redacted = 0
    now = _db_time(datetime.now(UTC), dialect)
    for row in _rows(connection):
        if broken_at is None and (row.prev_hash != old_prev or _v1_hash(row.prev_hash, row) != row.entry_hash):
            broken_at = row.id
            logger.error("audit chain was already broken at entry %d before 0004_privacy; it stays broken", row.id)
        old_prev = row.entry_hash
        salt = secrets.token_hex(16)
        digest = _v2_digest(salt, row)
        new_hash = _v2_hash(new_prev, row, digest)
        if row.id == broken_at:
            new_hash = _unverifiable(new_hash)
        values: dict[str, Any] = {
            "detail_salt": salt,
            "detail_digest": digest,
            "prev_hash": new_prev,
            "entry_hash": new_hash,
        }
        if row.target_type == "incident" and row.target_id in gone_incidents:
            values.update(
                actor=REDACTED_ACTOR,
                detail=REDACTED_DETAIL,
                detail_salt=None,
                at=_db_time(_week_start(row.at), dialect),
                redacted_at=now,
            )
            redacted += 1
        connection.execute(sa.update(_AUDIT).where(_AUDIT.c.id == row.id).values(**values))
        new_prev = new_hash
    logger.info("audit chain converted; %d entries of deleted incidents redacted", redacted)


def _deleted_incident_ids(connection: sa.Connection) -> set[str]:
    """Target ids of incident entries whose incident no longer exists."""
    existing = {str(value) for value in connection.scalars(sa.select(_INCIDENTS.c.id))}
    targets = set(
        connection.scalars(sa.select(_AUDIT.c.target_id).where(_AUDIT.c.target_type == "incident").distinct())
    )
    gone = set()
    for target in targets:
        try:
            canonical = str(uuid.UUID(target))
        except ValueError:
            continue
        if canonical not in existing:
            gone.add(target)
    return gone


def upgrade() -> None:
    connection = op.get_bind()
    dialect = connection.dialect.name
    _drop_protection(dialect)
    op.add_column("people_audit_entries", sa.Column("detail_salt", sa.String(length=32), nullable=True))
    op.add_column("people_audit_entries", sa.Column("detail_digest", sa.String(length=64), nullable=True))
    op.add_column("people_audit_entries", sa.Column("redacted_at", sa.DateTime(timezone=True), nullable=True))
    _convert_to_v2(connection, dialect)
    with op.batch_alter_table("people_audit_entries") as batch:
        batch.alter_column("detail_digest", existing_type=sa.String(length=64), nullable=False)
    op.create_index(
        "ix_people_audit_entries_target", "people_audit_entries", ["target_type", "target_id"], unique=False
    )
    _protect(dialect, function=_PG_FUNCTION, sqlite_triggers=_SQLITE_TRIGGERS)
    with op.batch_alter_table("people_incident_outcomes") as batch:
        batch.drop_column("remark")


def _convert_to_v1(connection: sa.Connection) -> None:
    new_prev = GENESIS_HASH
    old_prev = GENESIS_HASH
    broken_at: int | None = None
    for row in _rows(connection):
        intact = row.prev_hash == new_prev and _v2_hash(row.prev_hash, row, row.detail_digest) == row.entry_hash
        if row.redacted_at is None:
            intact = intact and row.detail_salt is not None and _v2_digest(row.detail_salt, row) == row.detail_digest
        if broken_at is None and not intact:
            broken_at = row.id
        new_prev = row.entry_hash
        old_hash = _v1_hash(old_prev, row)
        if row.id == broken_at:
            old_hash = _unverifiable(old_hash)
        connection.execute(
            sa.update(_AUDIT).where(_AUDIT.c.id == row.id).values(prev_hash=old_prev, entry_hash=old_hash)
        )
        old_prev = old_hash


def downgrade() -> None:
    connection = op.get_bind()
    dialect = connection.dialect.name
    with op.batch_alter_table("people_incident_outcomes") as batch:
        batch.add_column(sa.Column("remark", sa.String(length=200), nullable=True))
    _drop_protection(dialect)
    # Redacted entries stay redacted; the old format simply seals what is left of them.
    _convert_to_v1(connection)
    op.drop_index("ix_people_audit_entries_target", table_name="people_audit_entries")
    with op.batch_alter_table("people_audit_entries") as batch:
        batch.drop_column("redacted_at")
        batch.drop_column("detail_digest")
        batch.drop_column("detail_salt")
    _protect(dialect, function=_OLD_PG_FUNCTION, sqlite_triggers=_OLD_SQLITE_TRIGGERS)
