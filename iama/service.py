"""THE service layer of the IAMA module: every change goes through these keyword-only functions.

The CLI and the web API both call these, so the workflow rules hold whichever way people work. Functions
flush but never commit: the caller owns the transaction (the CLI commits per command, the API per request).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from iama.config import IamaSettings
from iama.facts import canonical_sha256, collect_facts
from iama.loader import load_questionnaire, normalise_answer
from iama.schema import Questionnaire
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
from iama.workflow import (
    EDITABLE,
    Mark,
    Status,
    WorkflowError,
    check_completeness,
    is_visible,
    require_distinct,
    residual_risk_question,
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
    purpose: str = ""
    legal_basis: str = ""
    period_start: str = Field(default="", description="YYYY-MM-DD")
    period_end: str = Field(default="", description="YYYY-MM-DD")
    operator: str = ""


class ReviewMark(BaseModel):
    """One reviewer verdict."""

    model_config = ConfigDict(extra="forbid")

    question_id: str
    mark: Mark
    note: str = ""


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


def set_answers(*, session: Session, record_id: int, answers: dict[str, Any], actor: str) -> list[str]:
    """Validate and store answers of a draft record, keeping per-field history.

    Returns:
        The ids of questions whose value changed.
    """
    record = get_record(session=session, record_id=record_id)
    if record.status not in EDITABLE:
        raise WorkflowError(f"record {record_id} is {record.status}; answers can only change in a draft")
    questionnaire = questionnaire_of(record)
    normalised = {qid: normalise_answer(questionnaire.question(qid), value) for qid, value in answers.items()}
    existing = {row.question_id: row for row in session.scalars(select(Answer).where(Answer.record_id == record_id))}
    changed = []
    now = _now()
    for question_id, value in normalised.items():
        row = existing.get(question_id)
        old = row.value if row is not None else None
        if old == value:
            continue
        if row is None:
            session.add(Answer(record_id=record_id, question_id=question_id, value=value, updated_by=actor))
        else:
            row.value, row.updated_by, row.updated_at = value, actor, now
        session.add(
            AnswerHistory(
                record_id=record_id,
                question_id=question_id,
                old_value=old,
                new_value=value,
                changed_by=actor,
                changed_at=now,
            )
        )
        changed.append(question_id)
    record.updated_at = now
    if changed:
        _audit(session, actor=actor, action="answer", record_id=record_id, detail={"changed": len(changed)})
    session.flush()
    return changed


def add_comment(*, session: Session, record_id: int, actor: str, body: str, question_id: str = "") -> Comment:
    """Comment on a question (or the whole record); allowed in every status."""
    record = get_record(session=session, record_id=record_id)
    if question_id:
        questionnaire_of(record).question(question_id)
    if not body.strip():
        raise WorkflowError("a comment needs text")
    row = Comment(record_id=record_id, question_id=question_id, author=actor, body=body.strip())
    session.add(row)
    session.flush()
    return row


def resolve_comment(*, session: Session, comment_id: int, actor: str) -> Comment:
    """Mark a comment resolved."""
    row = session.get(Comment, comment_id)
    if row is None:
        raise NotFoundError(f"no comment {comment_id}")
    if row.resolved_at is not None:
        raise WorkflowError(f"comment {comment_id} is already resolved")
    row.resolved_by, row.resolved_at = actor, _now()
    session.flush()
    return row


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


def submit(*, session: Session, record_id: int, actor: str) -> IamaRecord:
    """Send a complete draft to review. Refused while required questions are open or an answer blocks."""
    record = get_record(session=session, record_id=record_id)
    target_status("submit", record.status)
    report = check_completeness(
        questionnaire_of(record), answers_of(session=session, record_id=record_id), lang=record.language
    )
    if report.blocked:
        raise WorkflowError("submission blocked: " + "; ".join(report.blocked))
    if report.missing:
        raise WorkflowError(f"{len(report.missing)} required questions unanswered: {', '.join(report.missing)}")
    _save_version(session, record, actor=actor, reason="submitted for review")
    _transition(session, record, action="submit", actor=actor)
    session.flush()
    return record


def review(*, session: Session, record_id: int, actor: str, marks: list[ReviewMark]) -> IamaRecord:
    """Record a reviewer's marks. The reviewer may not be the author."""
    record = get_record(session=session, record_id=record_id)
    if record.status != Status.in_review:
        raise WorkflowError(f"record {record_id} is {record.status}; review needs in_review")
    require_distinct(actor=actor, role="reviewer", others={"author": record.author})
    if record.reviewer is not None and record.reviewer != actor:
        raise WorkflowError(f"record {record_id} is being reviewed by {record.reviewer!r}")
    questionnaire = questionnaire_of(record)
    if marks:
        _audit(session, actor=actor, action="review", record_id=record_id, detail={"marks": len(marks)})
    for item in marks:
        questionnaire.question(item.question_id)
        session.add(
            ReviewItem(
                record_id=record_id,
                record_version=record.version,
                question_id=item.question_id,
                mark=item.mark,
                note=item.note,
                reviewer=actor,
            )
        )
    record.reviewer = actor
    session.flush()
    return record


def current_marks(*, session: Session, record: IamaRecord) -> dict[str, ReviewItem]:
    """The latest mark per question in the record's current version."""
    rows = session.scalars(
        select(ReviewItem)
        .where(ReviewItem.record_id == record.id, ReviewItem.record_version == record.version)
        .order_by(ReviewItem.id)
    )
    return {row.question_id: row for row in rows}


def finish_review(*, session: Session, record_id: int, actor: str) -> IamaRecord:
    """Close the review: back to draft if any item is to_fix, else on to DPO advice.

    Every visible answered question needs a mark first.
    """
    record = get_record(session=session, record_id=record_id)
    if record.reviewer != actor:
        raise WorkflowError(f"only the reviewer ({record.reviewer!r}) can finish the review")
    questionnaire = questionnaire_of(record)
    answers = answers_of(session=session, record_id=record_id)
    marks = current_marks(session=session, record=record)
    unmarked = [
        q.id for q in questionnaire.questions() if is_visible(q, answers) and q.id in answers and q.id not in marks
    ]
    if unmarked:
        raise WorkflowError(f"{len(unmarked)} answered questions have no review mark: {', '.join(unmarked)}")
    to_fix = [qid for qid, item in marks.items() if item.mark == Mark.to_fix]
    if to_fix:
        _transition(session, record, action="return", actor=actor, note="to fix: " + ", ".join(to_fix))
        record.reviewer = None
        return record
    target_status("finish_review", record.status)
    _sync_residual_risks(session, record, questionnaire, answers)
    _transition(session, record, action="finish_review", actor=actor)
    session.flush()
    return record


def _sync_residual_risks(
    session: Session, record: IamaRecord, questionnaire: Questionnaire, answers: dict[str, Any]
) -> None:
    question = residual_risk_question(questionnaire)
    if question is None:
        return
    for position, item in enumerate(answers.get(question.id) or [], start=1):
        session.add(
            ResidualRisk(
                record_id=record.id,
                record_version=record.version,
                position=position,
                title=item["title"],
                detail=item.get("detail", ""),
            )
        )


def residual_risks(*, session: Session, record: IamaRecord) -> list[ResidualRisk]:
    """Residual risks of the record's current version, in order."""
    return list(
        session.scalars(
            select(ResidualRisk)
            .where(ResidualRisk.record_id == record.id, ResidualRisk.record_version == record.version)
            .order_by(ResidualRisk.position)
        )
    )


def advise(*, session: Session, record_id: int, actor: str, opinion: str, advice: str) -> DpoAdvice:
    """Record the DPO's advice (positive, conditional or negative). The DPO may not be the author."""
    record = get_record(session=session, record_id=record_id)
    if record.status != Status.dpo_advice:
        raise WorkflowError(f"record {record_id} is {record.status}; DPO advice needs dpo_advice")
    if opinion not in ("positive", "conditional", "negative"):
        raise WorkflowError(f"opinion must be positive, conditional or negative, got {opinion!r}")
    if not advice.strip():
        raise WorkflowError("DPO advice needs text")
    require_distinct(actor=actor, role="DPO", others={"author": record.author})
    row = DpoAdvice(record_id=record_id, record_version=record.version, dpo=actor, opinion=opinion, advice=advice)
    session.add(row)
    record.dpo = actor
    _audit(session, actor=actor, action="dpo_advice", record_id=record_id, detail={"opinion": opinion})
    session.flush()
    return row


def _require_approver(record: IamaRecord, actor: str) -> None:
    require_distinct(
        actor=actor, role="approver", others={"author": record.author, "reviewer": record.reviewer, "DPO": record.dpo}
    )


def decide_risk(
    *, session: Session, record_id: int, actor: str, position: int, accept: bool, reason: str = ""
) -> ResidualRisk:
    """The accountable official accepts or rejects one residual risk explicitly."""
    record = get_record(session=session, record_id=record_id)
    if record.status != Status.dpo_advice:
        raise WorkflowError(f"record {record_id} is {record.status}; risks are decided in dpo_advice")
    _require_approver(record, actor)
    risk = next((r for r in residual_risks(session=session, record=record) if r.position == position), None)
    if risk is None:
        raise NotFoundError(f"record {record_id} has no residual risk {position}")
    risk.decision = "accepted" if accept else "rejected"
    risk.decided_by, risk.decided_at, risk.reason = actor, _now(), reason
    _audit(
        session,
        actor=actor,
        action="risk",
        record_id=record_id,
        detail={"position": position, "decision": risk.decision},
    )
    session.flush()
    return risk


def _current_advice(session: Session, record: IamaRecord) -> DpoAdvice | None:
    return session.scalars(
        select(DpoAdvice)
        .where(DpoAdvice.record_id == record.id, DpoAdvice.record_version == record.version)
        .order_by(DpoAdvice.id.desc())
    ).first()


def approve(
    *, session: Session, record_id: int, actor: str, reasons: str, settings: IamaSettings, now: datetime | None = None
) -> ApprovedSnapshot:
    """Approve: needs DPO advice, every residual risk accepted, and a third person; freezes a hashed snapshot."""
    from iama.document import build_document  # the document module imports this one

    record = get_record(session=session, record_id=record_id)
    target_status("approve", record.status)
    _require_approver(record, actor)
    if _current_advice(session, record) is None:
        raise WorkflowError("approval needs the DPO's advice on this version first")
    risks = residual_risks(session=session, record=record)
    pending = [r.position for r in risks if r.decision == "pending"]
    rejected = [r.position for r in risks if r.decision == "rejected"]
    if pending:
        raise WorkflowError(f"residual risks {pending} are not yet accepted or rejected")
    if rejected:
        raise WorkflowError(f"residual risks {rejected} were rejected: refuse the record or reopen and mitigate")
    moment = now or _now()
    session.add(
        Decision(
            record_id=record_id,
            record_version=record.version,
            decision="approved",
            decided_by=actor,
            reasons=reasons,
            created_at=moment,
        )
    )
    record.approver, record.approved_at = actor, moment
    record.expires_at = moment + timedelta(days=settings.validity_days)
    record.reassessment_needed, record.drift = False, []
    _transition(session, record, action="approve", actor=actor, note=reasons)
    _save_version(session, record, actor=actor, reason="approved")
    session.flush()
    facts = collect_facts(session, deployment_id=record.deployment_id, settings=settings)
    content = build_document(session=session, record_id=record_id).model_dump(mode="json", exclude={"snapshots"})
    snapshot = ApprovedSnapshot(
        record_id=record_id,
        record_version=record.version,
        content=content,
        sha256=canonical_sha256(content),
        facts=facts.model_dump(mode="json"),
        facts_sha256=facts.sha256,
        created_at=moment,
    )
    session.add(snapshot)
    session.flush()
    return snapshot


def refuse(*, session: Session, record_id: int, actor: str, reasons: str) -> IamaRecord:
    """Refuse with reasons (required); the author can reopen and revise."""
    record = get_record(session=session, record_id=record_id)
    target_status("refuse", record.status)
    _require_approver(record, actor)
    if not reasons.strip():
        raise WorkflowError("a refusal needs reasons")
    session.add(
        Decision(
            record_id=record_id, record_version=record.version, decision="refused", decided_by=actor, reasons=reasons
        )
    )
    _transition(session, record, action="refuse", actor=actor, note=reasons)
    session.flush()
    return record


def reopen(*, session: Session, record_id: int, actor: str, reason: str) -> IamaRecord:
    """Start a new version as a draft (after refusal, expiry or drift); earlier snapshots stay frozen."""
    record = get_record(session=session, record_id=record_id)
    _transition(session, record, action="reopen", actor=actor, note=reason)
    record.version += 1
    record.reviewer = record.dpo = record.approver = None
    session.flush()
    return record


def archive(*, session: Session, record_id: int, actor: str, reason: str) -> IamaRecord:
    """Archive a record; an archived record never opens a gate."""
    record = get_record(session=session, record_id=record_id)
    _transition(session, record, action="archive", actor=actor, note=reason)
    session.flush()
    return record


def latest_snapshot(*, session: Session, record_id: int) -> ApprovedSnapshot | None:
    """The most recent approved snapshot of a record."""
    return session.scalars(
        select(ApprovedSnapshot).where(ApprovedSnapshot.record_id == record_id).order_by(ApprovedSnapshot.id.desc())
    ).first()
