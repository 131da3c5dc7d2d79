"""Workflow rules: three distinct people, illegal transitions refused, completeness and the art. 5 gate."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from iama import service
from iama.config import IamaSettings
from iama.gating import IamaGatePolicy
from iama.loader import load_questionnaire
from iama.storage.models import ApprovedSnapshot, ImmutableSnapshotError
from iama.workflow import WorkflowError, check_completeness, target_status


@pytest.mark.parametrize(
    ("action", "status", "expectation"),
    [
        ("submit", "draft", contextlib.nullcontext()),
        ("approve", "draft", pytest.raises(WorkflowError, match="cannot approve a record that is draft")),
        ("approve", "in_review", pytest.raises(WorkflowError)),
        ("approve", "dpo_advice", contextlib.nullcontext()),
        ("submit", "approved", pytest.raises(WorkflowError)),
        ("refuse", "approved", pytest.raises(WorkflowError)),
        ("reopen", "refused", contextlib.nullcontext()),
        ("expire", "draft", pytest.raises(WorkflowError)),
        ("archive", "archived", pytest.raises(WorkflowError)),
        ("fly", "draft", pytest.raises(WorkflowError, match="unknown action")),
    ],
)
def test_transition_table(action: str, status: str, expectation: Any) -> None:
    with expectation:
        target_status(action, status)


def test_full_approval_freezes_hashed_snapshot(
    session: Session, filled_record: int, settings: IamaSettings, now: datetime, approve_all: Callable[..., None]
) -> None:
    approve_all(session, filled_record, settings)
    record = service.get_record(session=session, record_id=filled_record)
    assert (record.status, record.author, record.reviewer, record.dpo, record.approver) == (
        "approved",
        "alice",
        "bob",
        "dora",
        "carol",
    )
    assert record.expires_at is not None and (record.expires_at - now).days == 365
    snapshot = service.latest_snapshot(session=session, record_id=filled_record)
    assert snapshot is not None and len(snapshot.sha256) == 64
    snapshot.sha256 = "0" * 64
    with pytest.raises(ImmutableSnapshotError):
        session.flush()
    session.rollback()


@pytest.mark.parametrize(
    ("reviewer", "dpo", "approver", "expectation"),
    [
        ("alice", "dora", "carol", pytest.raises(WorkflowError, match="author of this record")),
        ("bob", "alice", "carol", pytest.raises(WorkflowError, match="may not also act as DPO")),
        ("bob", "dora", "bob", pytest.raises(WorkflowError, match="reviewer of this record")),
        ("bob", "dora", "alice", pytest.raises(WorkflowError, match="author of this record")),
        ("bob", "dora", "dora", pytest.raises(WorkflowError, match="DPO of this record")),
        ("bob", "dora", "carol", contextlib.nullcontext()),
    ],
)
def test_three_distinct_people(
    session: Session,
    filled_record: int,
    settings: IamaSettings,
    reviewer: str,
    dpo: str,
    approver: str,
    expectation: Any,
) -> None:
    with expectation:
        service.submit(session=session, record_id=filled_record, actor="alice")
        answers = service.answers_of(session=session, record_id=filled_record)
        marks = [service.ReviewMark(question_id=qid, mark="acceptable") for qid in answers]
        service.review(session=session, record_id=filled_record, actor=reviewer, marks=marks)
        service.finish_review(session=session, record_id=filled_record, actor=reviewer)
        service.advise(session=session, record_id=filled_record, actor=dpo, opinion="positive", advice="ok")
        record = service.get_record(session=session, record_id=filled_record)
        for risk in service.residual_risks(session=session, record=record):
            service.decide_risk(
                session=session, record_id=filled_record, actor=approver, position=risk.position, accept=True
            )
        service.approve(session=session, record_id=filled_record, actor=approver, reasons="ok", settings=settings)


@pytest.mark.parametrize(
    ("change", "expectation"),
    [
        ({}, contextlib.nullcontext()),
        ({"1.1.1": ""}, pytest.raises(WorkflowError, match="required questions unanswered: 1.1.1")),
        ({"1.3.1": "yes"}, pytest.raises(WorkflowError, match="blocked: 1.3.1")),
        # 1.3.4 is hidden when 1.3.2 is "no", so clearing it no longer blocks submission.
        ({"1.3.2": "no", "1.3.4": ""}, contextlib.nullcontext()),
        ({"2.1.1": "not_self_learning"}, pytest.raises(WorkflowError, match="2.2A.1")),
    ],
)
def test_completeness_honours_conditions(
    session: Session, filled_record: int, change: dict[str, Any], expectation: Any
) -> None:
    service.set_answers(session=session, record_id=filled_record, answers=change, actor="alice")
    with expectation:
        service.submit(session=session, record_id=filled_record, actor="alice")


def test_to_fix_returns_to_draft_and_history_is_kept(session: Session, filled_record: int) -> None:
    service.submit(session=session, record_id=filled_record, actor="alice")
    with pytest.raises(WorkflowError, match="only change in a draft"):
        service.set_answers(session=session, record_id=filled_record, answers={"1.1.1": "x"}, actor="alice")
    service.review(
        session=session,
        record_id=filled_record,
        actor="bob",
        marks=[service.ReviewMark(question_id="1.1.1", mark="to_fix", note="te vaag")],
    )
    with pytest.raises(WorkflowError, match="no review mark"):
        service.finish_review(session=session, record_id=filled_record, actor="bob")
    answers = service.answers_of(session=session, record_id=filled_record)
    rest = [service.ReviewMark(question_id=qid, mark="acceptable") for qid in answers if qid != "1.1.1"]
    service.review(session=session, record_id=filled_record, actor="bob", marks=rest)
    record = service.finish_review(session=session, record_id=filled_record, actor="bob")
    assert record.status == "draft"
    changed = service.set_answers(
        session=session, record_id=filled_record, answers={"1.1.1": "Scherper."}, actor="erik"
    )
    assert changed == ["1.1.1"]
    comment = service.add_comment(
        session=session, record_id=filled_record, actor="bob", body="Beter", question_id="1.1.1"
    )
    resolved = service.resolve_comment(session=session, comment_id=comment.id, actor="alice", may_resolve_others=False)
    assert resolved.resolved_by == "alice", "the record's author may resolve a comment on it"


# who resolves bob's comment on alice's record, vouched for as a reviewer or not → allowed
RESOLVE_TABLE: list[tuple[str, bool, bool]] = [
    ("bob", False, True),  # the comment's author
    ("alice", False, True),  # the record's author
    ("mallory", False, False),  # any other reader
    ("carol", True, True),  # a reviewer the platform vouches for
]


@pytest.mark.parametrize(("actor", "reviewer", "allowed"), RESOLVE_TABLE)
def test_who_may_resolve_a_comment(
    session: Session, filled_record: int, actor: str, reviewer: bool, allowed: bool
) -> None:
    comment = service.add_comment(session=session, record_id=filled_record, actor="bob", body="Bron?")
    refused = pytest.raises(service.NotAllowedError, match="only its author")
    with contextlib.nullcontext() if allowed else refused:
        service.resolve_comment(session=session, comment_id=comment.id, actor=actor, may_resolve_others=reviewer)
    assert (comment.resolved_by == actor) is allowed


def test_rejected_risk_blocks_approval_and_refusal_needs_reasons(
    session: Session, filled_record: int, settings: IamaSettings, run_to_dpo_advice: Callable[..., None]
) -> None:
    run_to_dpo_advice(session, filled_record)
    service.decide_risk(session=session, record_id=filled_record, actor="carol", position=1, accept=False)
    service.decide_risk(session=session, record_id=filled_record, actor="carol", position=2, accept=True)
    with pytest.raises(WorkflowError, match="not yet accepted"):
        service.approve(session=session, record_id=filled_record, actor="carol", reasons="", settings=settings)
    service.decide_risk(session=session, record_id=filled_record, actor="carol", position=3, accept=True)
    with pytest.raises(WorkflowError, match="were rejected"):
        service.approve(session=session, record_id=filled_record, actor="carol", reasons="", settings=settings)
    with pytest.raises(WorkflowError, match="needs reasons"):
        service.refuse(session=session, record_id=filled_record, actor="carol", reasons=" ")
    record = service.refuse(session=session, record_id=filled_record, actor="carol", reasons="Risico 1 te groot")
    assert record.status == "refused"
    assert service.reopen(session=session, record_id=filled_record, actor="alice", reason="mitigeren").version == 2


@pytest.mark.parametrize(
    ("questionnaire_id", "answers", "expected_missing"),
    [
        ("iama-v1-2021", {}, 58),
        ("iama-v1-2021", {"1.1.1": "Overlast op de boulevard."}, 57),
        ("iama-v2-2026", {}, 71),  # 1.3.2–1.3.4, 2.2A and 2.2B are hidden until their gate is answered
        ("iama-v2-2026", {"1.3.1": "no", "1.3.2": "no"}, 70),  # 1.3.4 stays hidden: no statutory task
    ],
)
def test_empty_records_list_what_is_missing(
    session: Session, questionnaire_id: str, answers: dict[str, Any], expected_missing: int
) -> None:
    service.create_deployment(session=session, deployment=service.DeploymentIn(id="other", name="Andere inzet"))
    record = service.create_record(
        session=session, deployment_id="other", questionnaire_id=questionnaire_id, author="alice"
    )
    service.set_answers(session=session, record_id=record.id, answers=answers, actor="alice")
    report = check_completeness(
        service.questionnaire_of(record), service.answers_of(session=session, record_id=record.id)
    )
    assert len(report.missing) == expected_missing
    with pytest.raises(WorkflowError, match=f"{expected_missing} required questions unanswered"):
        service.submit(session=session, record_id=record.id, actor="alice")


def test_snapshot_tampering_by_sql_is_detected(
    session: Session, filled_record: int, settings: IamaSettings, approve_all: Callable[..., None]
) -> None:
    approve_all(session, filled_record, settings)
    snapshot = service.latest_snapshot(session=session, record_id=filled_record)
    assert snapshot is not None and service.verify_snapshot(snapshot)
    content = dict(snapshot.content)
    content["answers"] = []
    # Bypass the ORM guard, as someone editing the database directly would.
    session.execute(update(ApprovedSnapshot).where(ApprovedSnapshot.id == snapshot.id).values(content=content))
    session.expire_all()
    altered = service.latest_snapshot(session=session, record_id=filled_record)
    assert altered is not None and not service.verify_snapshot(altered)


def fill_everything(questionnaire_id: str) -> dict[str, Any]:
    """An answer of the right type for every question (first option of every choice)."""
    answers: dict[str, Any] = {}
    for question in load_questionnaire(questionnaire_id).questions():
        if question.type == "text":
            answers[question.id] = f"Antwoord op {question.id}."
        elif question.type in ("choice", "rating"):
            answers[question.id] = question.options[0].key
        elif question.type == "multi":
            answers[question.id] = [question.options[0].key]
        else:
            answers[question.id] = [{"title": f"Punt bij {question.id}"}]
    return answers


def test_v1_record_runs_the_same_workflow_without_residual_risks(
    session: Session,
    settings: IamaSettings,
    add_camera: Callable[..., Any],
    approve_all: Callable[..., None],
    now: datetime,
) -> None:
    service.create_deployment(session=session, deployment=service.DeploymentIn(id="v1dep", name="IAMA 2021"))
    add_camera(session, "cam-v1", deployment_id="v1dep")
    record = service.create_record(
        session=session, deployment_id="v1dep", questionnaire_id="iama-v1-2021", author="alice"
    )
    service.set_answers(session=session, record_id=record.id, answers=fill_everything("iama-v1-2021"), actor="alice")
    approve_all(session, record.id, settings, now)
    assert service.get_record(session=session, record_id=record.id).status == "approved"
    assert service.residual_risks(session=session, record=record) == []
    assert IamaGatePolicy(settings).is_gated(session, "cam-v1", now).gated is False
