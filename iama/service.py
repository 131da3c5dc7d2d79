"""THE service layer of the IAMA module: every change goes through these keyword-only functions.

The CLI and the web API both call these, so the workflow rules hold whichever way people work. Functions
flush but never commit: the caller owns the transaction (the CLI commits per command, the API per request).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from iama.loader import normalise_answer
from iama.records import (
    DeploymentIn,
    NotFoundError,
    ReviewMark,
    _audit,
    _now,
    _save_version,
    _transition,
    answers_of,
    create_deployment,
    create_record,
    current_marks,
    get_deployment,
    get_record,
    latest_snapshot,
    list_deployments,
    list_records,
    questionnaire_of,
    residual_risks,
    verify_snapshot,
)
from iama.schema import Questionnaire
from iama.signoff import (
    advise,
    approve,
    archive,
    decide_risk,
    refuse,
    reopen,
)
from iama.storage.models import (
    Answer,
    AnswerHistory,
    Comment,
    Deployment,
    IamaRecord,
    ResidualRisk,
    ReviewItem,
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

__all__ = [
    "Deployment",
    "DeploymentIn",
    "NotAllowedError",
    "NotFoundError",
    "ReviewMark",
    "add_comment",
    "advise",
    "answers_of",
    "approve",
    "archive",
    "create_deployment",
    "create_record",
    "current_marks",
    "decide_risk",
    "finish_review",
    "get_deployment",
    "get_record",
    "latest_snapshot",
    "list_deployments",
    "list_records",
    "questionnaire_of",
    "refuse",
    "reopen",
    "residual_risks",
    "resolve_comment",
    "review",
    "set_answers",
    "submit",
    "verify_snapshot",
]


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


class NotAllowedError(PermissionError):
    """The actor may not do this to someone else's item."""


def resolve_comment(*, session: Session, comment_id: int, actor: str, may_resolve_others: bool) -> Comment:
    """Mark a comment resolved.

    Only the comment's author, the record's author, or someone the caller vouches for with
    ``may_resolve_others`` (the platform passes it for privacy officers and admins, who review records)
    may resolve it; any other reader of the record may not close someone else's point.

    Raises:
        NotFoundError: no such comment.
        NotAllowedError: the actor may not resolve this comment.
        WorkflowError: it is resolved already.
    """
    row = session.get(Comment, comment_id)
    if row is None:
        raise NotFoundError(f"no comment {comment_id}")
    record = session.get(IamaRecord, row.record_id)
    owners = {row.author, record.author if record is not None else row.author}
    if not may_resolve_others and actor not in owners:
        raise NotAllowedError(
            f"comment {comment_id} is {row.author}'s: only its author, the record's author or a reviewer may resolve it"
        )
    if row.resolved_at is not None:
        raise WorkflowError(f"comment {comment_id} is already resolved")
    row.resolved_by, row.resolved_at = actor, _now()
    session.flush()
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
