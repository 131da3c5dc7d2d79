"""SQLAlchemy tables of the IAMA module, on the platform's declarative base.

Approved snapshots are immutable: an ORM listener refuses any update or delete of a snapshot row, and
each row carries the sha256 of its canonical JSON so a later change by other means is detectable.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, Mapper, mapped_column

from nitroplatform.db.base import Base
from nitroplatform.db.models import UTCDateTime, utcnow


class Deployment(Base):
    """A set of cameras (``cameras.deployment_id``) with one purpose, legal basis, period and operator."""

    __tablename__ = "iama_deployments"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(Text, default="")
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    period_start: Mapped[str] = mapped_column(String(10), default="")
    period_end: Mapped[str] = mapped_column(String(10), default="")
    operator: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class IamaRecord(Base):
    """One assessment of one deployment against one questionnaire version."""

    __tablename__ = "iama_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deployment_id: Mapped[str] = mapped_column(ForeignKey("iama_deployments.id"), index=True)
    questionnaire_id: Mapped[str] = mapped_column(String(32))
    questionnaire_version: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(2), default="nl")
    status: Mapped[str] = mapped_column(String(16), default="draft")
    author: Mapped[str] = mapped_column(String(64))
    reviewer: Mapped[str | None] = mapped_column(String(64))
    dpo: Mapped[str | None] = mapped_column(String(64))
    approver: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reassessment_needed: Mapped[bool] = mapped_column(Boolean, default=False)
    drift: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Set when the record came in through a JSON import: its approval happened elsewhere, so it gates
    # nothing here until it is reopened and approved again by people of this platform.
    imported_by: Mapped[str | None] = mapped_column(String(64))
    imported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Answer(Base):
    """The current value of one question in one record (JSON: text, key, list of keys or action points)."""

    __tablename__ = "iama_answers"
    __table_args__ = (UniqueConstraint("record_id", "question_id", name="uq_iama_answers_record_question"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("iama_records.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[str] = mapped_column(String(16))
    value: Mapped[Any] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AnswerHistory(Base):
    """Who changed which answer when, from what to what."""

    __tablename__ = "iama_answer_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("iama_records.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[str] = mapped_column(String(16))
    old_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    new_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    changed_by: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Comment(Base):
    """A comment on a question (or the whole record when ``question_id`` is empty); resolvable."""

    __tablename__ = "iama_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("iama_records.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[str] = mapped_column(String(16), default="")
    author: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RecordVersion(Base):
    """A numbered version of a record's answers, with the diff from the version before."""

    __tablename__ = "iama_record_versions"
    __table_args__ = (UniqueConstraint("record_id", "version", name="uq_iama_record_versions_record_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("iama_records.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    diff: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class ReviewItem(Base):
    """A reviewer's mark on one question: acceptable, improvable or to_fix, per review round (version)."""

    __tablename__ = "iama_review_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("iama_records.id", ondelete="CASCADE"), index=True)
    record_version: Mapped[int] = mapped_column(Integer)
    question_id: Mapped[str] = mapped_column(String(16))
    mark: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    reviewer: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DpoAdvice(Base):
    """The data protection officer's (FG) advice on a record version."""

    __tablename__ = "iama_dpo_advice"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("iama_records.id", ondelete="CASCADE"), index=True)
    record_version: Mapped[int] = mapped_column(Integer)
    dpo: Mapped[str] = mapped_column(String(64))
    opinion: Mapped[str] = mapped_column(String(16))
    advice: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Decision(Base):
    """Approval or refusal by the accountable official, with reasons."""

    __tablename__ = "iama_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("iama_records.id", ondelete="CASCADE"), index=True)
    record_version: Mapped[int] = mapped_column(Integer)
    decision: Mapped[str] = mapped_column(String(16))
    decided_by: Mapped[str] = mapped_column(String(64))
    reasons: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ResidualRisk(Base):
    """A residual risk (from the 5.C answer) that the approver accepts or rejects explicitly."""

    __tablename__ = "iama_residual_risks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("iama_records.id", ondelete="CASCADE"), index=True)
    record_version: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    detail: Mapped[str] = mapped_column(Text, default="")
    decision: Mapped[str] = mapped_column(String(16), default="pending")
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text, default="")


class Transition(Base):
    """Every workflow step: who moved the record from which status to which, and why."""

    __tablename__ = "iama_transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("iama_records.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ApprovedSnapshot(Base):
    """The frozen content of an approved record: answers, decisions and the live facts, sha256-hashed."""

    __tablename__ = "iama_snapshots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("iama_records.id", ondelete="CASCADE"), index=True)
    record_version: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64))
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)
    facts_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ImmutableSnapshotError(RuntimeError):
    """Raised on any attempt to change or delete an approved snapshot."""


@event.listens_for(ApprovedSnapshot, "before_update")
def _refuse_snapshot_update(_mapper: Mapper[Any], _connection: Any, target: ApprovedSnapshot) -> None:
    raise ImmutableSnapshotError(f"approved snapshot {target.id} is immutable")


@event.listens_for(ApprovedSnapshot, "before_delete")
def _refuse_snapshot_delete(_mapper: Mapper[Any], _connection: Any, target: ApprovedSnapshot) -> None:
    raise ImmutableSnapshotError(f"approved snapshot {target.id} is immutable")
