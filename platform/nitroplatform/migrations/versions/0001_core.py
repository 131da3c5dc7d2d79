"""Core tables: cameras, alerts, incidents.

Revision ID: 0001_core
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_core"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _time(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "cameras",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("public_key", sa.String(40), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("site", sa.String(120), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("zones", sa.JSON(), nullable=False),
        sa.Column("deployment_id", sa.String(64), nullable=True),
        _time("created_at"),
        sa.Column("last_alert_seq", sa.BigInteger(), nullable=False),
        _time("last_heartbeat_at", nullable=True),
        sa.Column("last_heartbeat_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_heartbeat_message_id", sa.String(36), nullable=True),
        sa.Column("last_state", sa.String(32), nullable=True),
        sa.Column("last_reason", sa.String(64), nullable=True),
        sa.Column("fps_in", sa.Float(), nullable=True),
        sa.Column("fps_processed", sa.Float(), nullable=True),
        sa.Column("dropped_frames", sa.BigInteger(), nullable=True),
        sa.Column("outbox_depth", sa.Integer(), nullable=True),
        sa.Column("model_version", sa.String(64), nullable=True),
        sa.Column("uptime_s", sa.BigInteger(), nullable=True),
        sa.Column("config_hash", sa.String(64), nullable=True),
        sa.Column("gated", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cameras"),
        sa.UniqueConstraint("public_key", name="uq_cameras_public_key"),
    )
    op.create_index("ix_cameras_deployment_id", "cameras", ["deployment_id"])
    op.create_table(
        "alerts",
        sa.Column("id", BIGINT_ID, autoincrement=True, nullable=False),
        sa.Column("camera_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.String(36), nullable=False),
        _time("received_at"),
        _time("sent_at"),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("device_incident_id", sa.Uuid(), nullable=False),
        sa.Column("phase", sa.String(8), nullable=False),
        _time("occurred_at"),
        sa.Column("zone", sa.String(48), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("people_involved", sa.String(4), nullable=False),
        sa.Column("model_id", sa.String(64), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("model_sha256", sa.String(64), nullable=False),
        _time("expires_at"),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
        sa.UniqueConstraint("camera_id", "seq", name="uq_alerts_camera_id_seq"),
    )
    op.create_index("ix_alerts_received_at", "alerts", ["received_at"])
    op.create_index("ix_alerts_incident_id", "alerts", ["incident_id"])
    op.create_table(
        "incidents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("camera_id", sa.String(64), nullable=False),
        sa.Column("device_incident_id", sa.Uuid(), nullable=False),
        sa.Column("zone", sa.String(48), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("last_phase", sa.String(8), nullable=False),
        _time("opened_at"),
        _time("updated_at"),
        _time("ended_at", nullable=True),
        _time("closed_at", nullable=True),
        sa.Column("close_reason", sa.String(16), nullable=True),
        _time("expires_at"),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("confidence_max", sa.Float(), nullable=False),
        sa.Column("people_involved", sa.String(4), nullable=False),
        sa.Column("model_id", sa.String(64), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("model_sha256", sa.String(64), nullable=False),
        sa.Column("alert_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_incidents"),
        sa.UniqueConstraint("camera_id", "device_incident_id", name="uq_incidents_camera_id_device_incident_id"),
    )
    op.create_index("ix_incidents_state_expires_at", "incidents", ["state", "expires_at"])
    op.create_index("ix_incidents_opened_at", "incidents", ["opened_at"])


def downgrade() -> None:
    op.drop_table("incidents")
    op.drop_table("alerts")
    op.drop_index("ix_cameras_deployment_id", table_name="cameras")
    op.drop_table("cameras")
