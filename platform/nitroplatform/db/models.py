"""Core tables: cameras (with heartbeat status), alerts as received, and incidents grouped from them.

Nothing here can hold an image or anything about a person: the columns are the wire contract's fields
(DESIGN.md §3) plus the platform's own bookkeeping. Latitude and longitude are the camera's mounting
location, never anyone's position.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    String,
    Table,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from nitroplatform.db.base import Base

BigIntId = BigInteger().with_variant(Integer(), "sqlite")
"""64-bit ids on PostgreSQL; INTEGER on SQLite so the column is the auto-incrementing rowid."""


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive; we re-attach UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the platform stores UTC-aware times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, UTC-aware."""
    return datetime.now(UTC)


class Camera(Base):
    """A registered device: its CURVE public key is its identity on the wire."""

    __tablename__ = "cameras"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    public_key: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    site: Mapped[str] = mapped_column(String(120), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    zones: Mapped[list[str]] = mapped_column(JSON, default=list)
    deployment_id: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Highest alert seq stored for this camera: alerts below it that are not duplicates are out of order.
    last_alert_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    # Status, from the latest accepted heartbeat.
    last_heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_heartbeat_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_heartbeat_message_id: Mapped[str | None] = mapped_column(String(36))
    last_state: Mapped[str | None] = mapped_column(String(32))
    last_reason: Mapped[str | None] = mapped_column(String(64))
    fps_in: Mapped[float | None] = mapped_column(Float)
    fps_processed: Mapped[float | None] = mapped_column(Float)
    dropped_frames: Mapped[int | None] = mapped_column(BigInteger)
    outbox_depth: Mapped[int | None] = mapped_column(BigInteger)
    model_version: Mapped[str | None] = mapped_column(String(64))
    uptime_s: Mapped[int | None] = mapped_column(BigInteger)
    config_hash: Mapped[str | None] = mapped_column(String(64))
    # What the platform told the camera in its last heartbeat ack.
    gated: Mapped[bool] = mapped_column(Boolean, default=False)


class Alert(Base):
    """One alert message as stored. Idempotency key: (camera_id, seq)."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("camera_id", "seq", name="uq_alerts_camera_id_seq"),
        Index("ix_alerts_received_at", "received_at"),
        Index("ix_alerts_incident_id", "incident_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[str] = mapped_column(String(36))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    incident_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    device_incident_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    phase: Mapped[str] = mapped_column(String(8))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    zone: Mapped[str | None] = mapped_column(String(48))
    confidence: Mapped[float] = mapped_column(Float)
    people_involved: Mapped[str] = mapped_column(String(4))
    model_id: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(64))
    model_sha256: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Incident(Base):
    """Alerts of one event on one camera, grouped by the device's incident id.

    ``state`` is open, claimed, arrived or closed. Ingest and the sweeper close only *open* incidents
    (reason ``ended`` or ``expired``); a claimed or arrived incident stays with its officer, who closes it
    with an outcome (reason ``outcome``), and ``ended_at`` records that the device saw the event end.
    """

    __tablename__ = "incidents"
    __table_args__ = (
        UniqueConstraint("camera_id", "device_incident_id", name="uq_incidents_camera_id_device_incident_id"),
        Index("ix_incidents_state_expires_at", "state", "expires_at"),
        Index("ix_incidents_opened_at", "opened_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=uuid.uuid4)
    camera_id: Mapped[str] = mapped_column(String(64))
    device_incident_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    zone: Mapped[str | None] = mapped_column(String(48))
    state: Mapped[str] = mapped_column(String(16), default="open")
    last_phase: Mapped[str] = mapped_column(String(8))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    close_reason: Mapped[str | None] = mapped_column(String(16))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    confidence: Mapped[float] = mapped_column(Float)
    confidence_max: Mapped[float] = mapped_column(Float)
    people_involved: Mapped[str] = mapped_column(String(4))
    model_id: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(64))
    model_sha256: Mapped[str] = mapped_column(String(64))
    alert_count: Mapped[int] = mapped_column(Integer, default=0)


def as_dict(row: Any) -> dict[str, Any]:
    """Column values of an ORM object, for logging and tests."""
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}


# Core tables for the batched hot path (executemany without ORM objects).
camera_table = cast(Table, Camera.__table__)
alert_table = cast(Table, Alert.__table__)
incident_table = cast(Table, Incident.__table__)
