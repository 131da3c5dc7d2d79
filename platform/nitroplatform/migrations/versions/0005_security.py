"""Security: every device-reported integer column holds what the wire contract allows (signed 64 bits).

``cameras.outbox_depth`` was a 32-bit ``INTEGER``: a heartbeat with ``outbox_depth = 2**31`` passed the wire
schema and then failed the whole ingest batch on PostgreSQL. The wire schema now bounds every integer to
``2**63 - 1`` and this column is widened to ``BIGINT`` to match (SQLite stores both alike; the declared type
is changed there too, so the schema compares equal to the models).

Revision ID: 0005_security
Revises: 0003_iama
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_security"
down_revision: str | None = "0004_privacy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cameras") as batch:
        batch.alter_column("outbox_depth", existing_type=sa.Integer(), type_=sa.BigInteger(), existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("cameras") as batch:
        batch.alter_column("outbox_depth", existing_type=sa.BigInteger(), type_=sa.Integer(), existing_nullable=True)
