"""The full content of a record as one pydantic document: the JSON export, the import and the snapshot body.

Database ids are left out on purpose, so a document imported into another database exports back to the
same JSON (a lossless round trip).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from iama.storage.models import (
    Answer,
    AnswerHistory,
    ApprovedSnapshot,
    Comment,
    Decision,
    Deployment,
    DpoAdvice,
    IamaRecord,
    RecordVersion,
    ResidualRisk,
    ReviewItem,
    Transition,
)

FORMAT: Final = "nitrosignal.iama-record/1"


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DeploymentDoc(_Doc):
    id: str
    name: str
    purpose: str
    legal_basis: str
    period_start: str
    period_end: str
    operator: str


class RecordDoc(_Doc):
    questionnaire_id: str
    questionnaire_version: str
    title: str
    language: str
    status: str
    author: str
    reviewer: str | None
    dpo: str | None
    approver: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    approved_at: datetime | None
    expires_at: datetime | None
    reassessment_needed: bool
    drift: list[dict[str, Any]]


class AnswerDoc(_Doc):
    question_id: str
    value: Any
    updated_by: str
    updated_at: datetime


class HistoryDoc(_Doc):
    question_id: str
    old_value: Any
    new_value: Any
    changed_by: str
    changed_at: datetime


class CommentDoc(_Doc):
    question_id: str
    author: str
    body: str
    created_at: datetime
    resolved_by: str | None
    resolved_at: datetime | None


class VersionDoc(_Doc):
    version: int
    reason: str
    created_by: str
    created_at: datetime
    answers: dict[str, Any]
    diff: list[dict[str, Any]]


class ReviewDoc(_Doc):
    record_version: int
    question_id: str
    mark: str
    note: str
    reviewer: str
    created_at: datetime


class AdviceDoc(_Doc):
    record_version: int
    dpo: str
    opinion: str
    advice: str
    created_at: datetime


class DecisionDoc(_Doc):
    record_version: int
    decision: str
    decided_by: str
    reasons: str
    created_at: datetime


class RiskDoc(_Doc):
    record_version: int
    position: int
    title: str
    detail: str
    decision: str
    decided_by: str | None
    decided_at: datetime | None
    reason: str


class TransitionDoc(_Doc):
    from_status: str
    to_status: str
    actor: str
    note: str
    created_at: datetime


class SnapshotDoc(_Doc):
    record_version: int
    content: dict[str, Any]
    sha256: str
    facts: dict[str, Any]
    facts_sha256: str
    created_at: datetime


class RecordDocument(_Doc):
    """Everything about one record."""

    format: Literal["nitrosignal.iama-record/1"] = FORMAT
    deployment: DeploymentDoc
    record: RecordDoc
    answers: list[AnswerDoc]
    history: list[HistoryDoc]
    comments: list[CommentDoc]
    versions: list[VersionDoc]
    reviews: list[ReviewDoc]
    dpo_advice: list[AdviceDoc]
    decisions: list[DecisionDoc]
    residual_risks: list[RiskDoc]
    transitions: list[TransitionDoc]
    snapshots: list[SnapshotDoc]

    def answer_map(self) -> dict[str, Any]:
        """Answers keyed by question id."""
        return {answer.question_id: answer.value for answer in self.answers}


_CHILDREN: dict[str, tuple[type[Any], type[_Doc], Any]] = {
    "answers": (Answer, AnswerDoc, Answer.question_id),
    "history": (AnswerHistory, HistoryDoc, AnswerHistory.id),
    "comments": (Comment, CommentDoc, Comment.id),
    "versions": (RecordVersion, VersionDoc, RecordVersion.version),
    "reviews": (ReviewItem, ReviewDoc, ReviewItem.id),
    "dpo_advice": (DpoAdvice, AdviceDoc, DpoAdvice.id),
    "decisions": (Decision, DecisionDoc, Decision.id),
    "residual_risks": (ResidualRisk, RiskDoc, ResidualRisk.id),
    "transitions": (Transition, TransitionDoc, Transition.id),
    "snapshots": (ApprovedSnapshot, SnapshotDoc, ApprovedSnapshot.id),
}


def _fields(row: Any, doc_type: type[_Doc]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in doc_type.model_fields}


def build_document(*, session: Session, record_id: int) -> RecordDocument:
    """Read a record and everything attached to it into one document."""
    record = session.get(IamaRecord, record_id)
    if record is None:
        raise LookupError(f"no IAMA record {record_id}")
    deployment = session.get(Deployment, record.deployment_id)
    if deployment is None:
        raise LookupError(f"record {record_id} refers to missing deployment {record.deployment_id!r}")
    children: dict[str, list[Any]] = {}
    for name, (model, doc_type, order) in _CHILDREN.items():
        rows = session.scalars(select(model).where(model.record_id == record_id).order_by(order))
        children[name] = [doc_type.model_validate(_fields(row, doc_type)) for row in rows]
    return RecordDocument(
        deployment=DeploymentDoc.model_validate(_fields(deployment, DeploymentDoc)),
        record=RecordDoc.model_validate(_fields(record, RecordDoc)),
        **children,
    )


def import_document(*, session: Session, document: RecordDocument, actor: str) -> IamaRecord:
    """Recreate a record (and its deployment, when missing) exactly as exported.

    The record is marked imported by ``actor``: an approval made elsewhere never opens a gate here (anyone
    could write such a file). Reopening it starts the workflow of this platform.

    Raises:
        ValueError: when the deployment exists with different content.
    """
    existing = session.get(Deployment, document.deployment.id)
    if existing is None:
        session.add(Deployment(**document.deployment.model_dump()))
    elif DeploymentDoc.model_validate(_fields(existing, DeploymentDoc)) != document.deployment:
        raise ValueError(f"deployment {document.deployment.id!r} exists with different content; not overwriting")
    record = IamaRecord(
        deployment_id=document.deployment.id,
        imported_by=actor,
        imported_at=datetime.now(UTC),
        **document.record.model_dump(),
    )
    session.add(record)
    session.flush()
    for name, (model, _doc_type, _order) in _CHILDREN.items():
        for item in getattr(document, name):
            session.add(model(record_id=record.id, **item.model_dump()))
    session.flush()
    return record
