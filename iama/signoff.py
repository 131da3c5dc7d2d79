"""Sign-off: DPO advice, residual-risk decisions, approval with a frozen hashed snapshot, refusal, reopening.

Use these through :mod:`iama.service`, which re-exports them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from iama.config import IamaSettings
from iama.facts import canonical_sha256, collect_facts
from iama.records import (
    NotFoundError,
    _audit,
    _now,
    _save_version,
    _transition,
    get_record,
    residual_risks,
)
from iama.storage.models import (
    ApprovedSnapshot,
    Decision,
    DpoAdvice,
    IamaRecord,
    ResidualRisk,
)
from iama.workflow import (
    Status,
    WorkflowError,
    require_distinct,
    target_status,
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
    # From here the record goes through this platform's own workflow, so it may gate again once approved.
    record.imported_by = record.imported_at = None
    session.flush()
    return record


def archive(*, session: Session, record_id: int, actor: str, reason: str) -> IamaRecord:
    """Archive a record; an archived record never opens a gate."""
    record = get_record(session=session, record_id=record_id)
    _transition(session, record, action="archive", actor=actor, note=reason)
    session.flush()
    return record
