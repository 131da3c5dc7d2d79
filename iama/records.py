"""Record basics shared by the service layer: lookups, versions, transitions and the audit trail.

Use these through :mod:`iama.service`, which re-exports the public ones.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from iama.facts import canonical_sha256
from iama.loader import load_questionnaire
from iama.schema import TEXT_MAX, Questionnaire
from iama.storage.models import (
    Answer,
    ApprovedSnapshot,
    Deployment,
    IamaRecord,
    RecordVersion,
    ResidualRisk,
    ReviewItem,
    Transition,
)
from iama.workflow import (
    Mark,
    Status,
    WorkflowError,
    target_status,
)
from nitroplatform.audit import record as audit_record


class NotFoundError(LookupError):
    """A deployment, record or comment that does not exist."""


class DeploymentIn(BaseModel):
    """What a privacy officer registers about a deployment."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=64)
    name: str = Field(min_length=1, max_length=200)
    purpose: str = Field(default="", max_length=TEXT_MAX)
    legal_basis: str = Field(default="", max_length=2000)
    period_start: str = Field(default="", max_length=10, description="YYYY-MM-DD")
    period_end: str = Field(default="", max_length=10, description="YYYY-MM-DD")
    operator: str = Field(default="", max_length=200)


class ReviewMark(BaseModel):
    """One reviewer verdict."""

    model_config = ConfigDict(extra="forbid")

    question_id: str = Field(max_length=32)
    mark: Mark
    note: str = Field(default="", max_length=TEXT_MAX)


def _now() -> datetime:
    return datetime.now(UTC)


def create_deployment(*, session: Session, deployment: DeploymentIn) -> Deployment:
    """Register a deployment; refuses a duplicate id."""
    if session.get(Deployment, deployment.id) is not None:
        raise WorkflowError(f"deployment {deployment.id!r} already exists")
    row = Deployment(**deployment.model_dump())
    session.add(row)
    session.flush()
    return row


def get_deployment(*, session: Session, deployment_id: str) -> Deployment:
    """The deployment ``deployment_id``."""
    row = session.get(Deployment, deployment_id)
    if row is None:
        raise NotFoundError(f"no deployment {deployment_id!r}")
    return row


def list_deployments(*, session: Session) -> list[Deployment]:
    """All deployments by id."""
    return list(session.scalars(select(Deployment).order_by(Deployment.id)))


def list_records(*, session: Session, deployment_id: str | None = None) -> list[IamaRecord]:
    """Records, newest first, optionally of one deployment."""
    query = select(IamaRecord).order_by(IamaRecord.id.desc())
    if deployment_id is not None:
        query = query.where(IamaRecord.deployment_id == deployment_id)
    return list(session.scalars(query))


def get_record(*, session: Session, record_id: int) -> IamaRecord:
    """The record ``record_id``."""
    row = session.get(IamaRecord, record_id)
    if row is None:
        raise NotFoundError(f"no IAMA record {record_id}")
    return row


def questionnaire_of(record: IamaRecord) -> Questionnaire:
    """The questionnaire version a record was created with."""
    questionnaire = load_questionnaire(record.questionnaire_id)
    if questionnaire.version != record.questionnaire_version:
        raise WorkflowError(
            f"record {record.id} uses {record.questionnaire_id} {record.questionnaire_version}, "
            f"but the shipped version is {questionnaire.version}"
        )
    return questionnaire


def _audit(
    session: Session, *, actor: str, action: str, record_id: int, detail: dict[str, str | int] | None = None
) -> None:
    # The platform's hash-chained audit log: who did what to which record (never answer text).
    audit_record(
        session, actor=actor, action=f"iama.{action}", target_type="iama_record", target_id=record_id, detail=detail
    )


def _transition(session: Session, record: IamaRecord, *, action: str, actor: str, note: str = "") -> None:
    target = target_status(action, record.status)
    _audit(session, actor=actor, action=action, record_id=record.id, detail={"from": record.status, "to": target})
    session.add(Transition(record_id=record.id, from_status=record.status, to_status=target, actor=actor, note=note))
    record.status = target
    record.updated_at = _now()


def create_record(
    *, session: Session, deployment_id: str, questionnaire_id: str, author: str, language: str = "nl"
) -> IamaRecord:
    """Start an empty draft record for a deployment; ``author`` is its first author."""
    deployment = get_deployment(session=session, deployment_id=deployment_id)
    questionnaire = load_questionnaire(questionnaire_id)
    if language not in ("nl", "en"):
        raise WorkflowError(f"language must be 'nl' or 'en', got {language!r}")
    record = IamaRecord(
        deployment_id=deployment.id,
        questionnaire_id=questionnaire.id,
        questionnaire_version=questionnaire.version,
        title=f"{questionnaire.title.get(language)} – {deployment.name}",
        language=language,
        status=Status.draft,
        author=author,
        version=1,
        drift=[],
    )
    session.add(record)
    session.flush()
    session.add(Transition(record_id=record.id, from_status="", to_status=Status.draft, actor=author, note="created"))
    _audit(session, actor=author, action="create", record_id=record.id, detail={"questionnaire": questionnaire.id})
    return record


def answers_of(*, session: Session, record_id: int) -> dict[str, Any]:
    """Current answers of a record, keyed by question id."""
    rows = session.scalars(select(Answer).where(Answer.record_id == record_id))
    return {row.question_id: row.value for row in rows}


def _diff(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"question_id": key, "old": old.get(key), "new": new.get(key)}
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    ]


def _save_version(session: Session, record: IamaRecord, *, actor: str, reason: str) -> RecordVersion:
    answers = answers_of(session=session, record_id=record.id)
    previous = session.scalars(
        select(RecordVersion).where(RecordVersion.record_id == record.id).order_by(RecordVersion.version.desc())
    ).first()
    if previous is not None and previous.version == record.version:
        # Re-submitting the same version after a return: refresh it in place.
        previous.diff = _diff(previous.answers, answers) if previous.diff == [] else previous.diff
        previous.answers, previous.reason, previous.created_by = answers, reason, actor
        return previous
    row = RecordVersion(
        record_id=record.id,
        version=record.version,
        reason=reason,
        created_by=actor,
        answers=answers,
        diff=_diff(previous.answers if previous else {}, answers),
    )
    session.add(row)
    return row


def current_marks(*, session: Session, record: IamaRecord) -> dict[str, ReviewItem]:
    """The latest mark per question in the record's current version."""
    rows = session.scalars(
        select(ReviewItem)
        .where(ReviewItem.record_id == record.id, ReviewItem.record_version == record.version)
        .order_by(ReviewItem.id)
    )
    return {row.question_id: row for row in rows}


def residual_risks(*, session: Session, record: IamaRecord) -> list[ResidualRisk]:
    """Residual risks of the record's current version, in order."""
    return list(
        session.scalars(
            select(ResidualRisk)
            .where(ResidualRisk.record_id == record.id, ResidualRisk.record_version == record.version)
            .order_by(ResidualRisk.position)
        )
    )


def latest_snapshot(*, session: Session, record_id: int) -> ApprovedSnapshot | None:
    """The most recent approved snapshot of a record."""
    return session.scalars(
        select(ApprovedSnapshot).where(ApprovedSnapshot.record_id == record_id).order_by(ApprovedSnapshot.id.desc())
    ).first()


def verify_snapshot(snapshot: ApprovedSnapshot) -> bool:
    """True when the snapshot's content and facts still hash to the sha256 values stored at approval.

    The ORM refuses to change a snapshot, but a row edited by other means (SQL, a restored backup) is
    caught here.
    """
    facts_sha256 = snapshot.facts.get("sha256") if isinstance(snapshot.facts, dict) else None
    return canonical_sha256(snapshot.content) == snapshot.sha256 and facts_sha256 == snapshot.facts_sha256
