"""Tables that keep account: audit entries, retention runs, weekly aggregates, the model registry, transparency."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nitroplatform.db.base import Base
from nitroplatform.db.models import UTCDateTime, utcnow


class AuditEntry(Base):
    """One audited action, sealed in the hash chain (``nitroplatform.audit.chain`` explains the two hashes).

    ``at``, ``actor`` and ``detail`` are redactable: they are covered by the salted ``detail_digest``, and
    the chain's ``entry_hash`` covers the digest. Retention redacts the entries of an incident it deletes.
    """

    __tablename__ = "people_audit_entries"
    __table_args__ = (Index("ix_people_audit_entries_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    actor: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    action: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    target_type: Mapped[str] = mapped_column(String(32), nullable=False)
    target_id: Mapped[str] = mapped_column(String(128), nullable=False)
    detail: Mapped[str] = mapped_column(Text, nullable=False, default="{}")
    detail_salt: Mapped[str | None] = mapped_column(String(32), nullable=True, doc="Dropped when redacted.")
    detail_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    redacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Unique: two writers racing for the same predecessor cannot fork the chain, the second one fails.
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)


class RetentionRun(Base):
    """One run of the retention job: what it deleted and up to which cutoff."""

    __tablename__ = "people_retention_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    cutoff: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    retention_days: Mapped[int] = mapped_column(Integer, nullable=False)
    alerts_deleted: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    incidents_deleted: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="running")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class WeeklyAggregate(Base):
    """Counts of incidents per camera, ISO week and outcome: all that remains after retention.

    Model id/version and the look-alike category are kept too, so field precision survives retention.
    """

    __tablename__ = "people_weekly_aggregates"
    __table_args__ = (
        UniqueConstraint(
            "camera_id",
            "iso_year",
            "iso_week",
            "outcome",
            "category",
            "model_id",
            "model_version",
            name="uq_people_weekly_aggregates_key",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(String(64), nullable=False)
    iso_year: Mapped[int] = mapped_column(Integer, nullable=False)
    iso_week: Mapped[int] = mapped_column(Integer, nullable=False)
    outcome: Mapped[str] = mapped_column(String(32), nullable=False, doc="An Outcome value, or 'none'.")
    category: Mapped[str] = mapped_column(String(32), nullable=False, default="", doc="Look-alike, for false alarms.")
    model_id: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    model_version: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class RegisteredModel(Base):
    """A model file with its card and Ed25519 signature, uploaded by one person and approved by another."""

    __tablename__ = "people_models"
    __table_args__ = (UniqueConstraint("model_id", "version", name="uq_people_models_id_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[str] = mapped_column(String(64), nullable=False)
    version: Mapped[str] = mapped_column(String(64), nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    file_name: Mapped[str] = mapped_column(String(128), nullable=False)
    size_bytes: Mapped[int] = mapped_column(Integer, nullable=False)
    card_json: Mapped[str] = mapped_column(Text, nullable=False)
    signature_b64: Mapped[str] = mapped_column(String(128), nullable=False, doc="base64 of the raw Ed25519 bytes")
    signer_key_b64: Mapped[str] = mapped_column(String(64), nullable=False, doc="the trusted key that verified it")
    storage_name: Mapped[str] = mapped_column(String(128), nullable=False, doc="file name under data_dir/models")
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    uploaded_by: Mapped[str] = mapped_column(String(64), nullable=False)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    approved_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ModelAssignment(Base):
    """Which approved model a camera should run."""

    __tablename__ = "people_model_assignments"

    camera_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    model_pk: Mapped[int] = mapped_column(ForeignKey("people_models.id", ondelete="CASCADE"), nullable=False)
    assigned_by: Mapped[str] = mapped_column(String(64), nullable=False)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class CameraTransparency(Base):
    """Public facts about a camera for the transparency page, when no IAMA deployment supplies them."""

    __tablename__ = "people_camera_transparency"

    camera_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(Text, nullable=False, default="")
    legal_basis: Mapped[str] = mapped_column(Text, nullable=False, default="")
    operator: Mapped[str] = mapped_column(String(128), nullable=False, default="")
    schedule_summary: Mapped[str] = mapped_column(String(256), nullable=False, default="")
    iama_summary_url: Mapped[str] = mapped_column(String(256), nullable=False, default="")
