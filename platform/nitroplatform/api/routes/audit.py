"""The audit log viewer: GET /api/v1/audit (auditor, privacy officer) and GET /api/v1/audit/verify.

Reading the audit log is itself audited. Entries about incidents that retention deleted are shown redacted
(``redacted_at`` set, actor ``redacted``, empty detail, the time coarsened to its ISO week).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from nitroplatform.api.deps import SessionDep
from nitroplatform.audit.chain import record, verify_chain
from nitroplatform.auth.deps import AuthUser, Role, require_roles
from nitroplatform.people.record_models import AuditEntry

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])

Auditor = Annotated[AuthUser, Depends(require_roles(Role.auditor, Role.privacy_officer))]
Verifier = Annotated[AuthUser, Depends(require_roles(Role.auditor, Role.privacy_officer, Role.admin))]


class AuditEntryOut(BaseModel):
    """One audit entry with its chain hashes."""

    id: int
    at: datetime
    actor: str
    action: str
    target_type: str
    target_id: str
    detail: dict[str, Any]
    redacted_at: datetime | None
    detail_digest: str
    prev_hash: str
    entry_hash: str


class AuditPage(BaseModel):
    """Entries newest first; pass ``next_before_id`` as ``before_id`` for the next page."""

    items: list[AuditEntryOut]
    next_before_id: int | None


class ChainReportOut(BaseModel):
    """Result of recomputing the whole chain."""

    ok: bool
    entries: int
    first_bad_id: int | None
    reason: str | None
    redacted: int = Field(0, description="Entries checked that retention had redacted.")


@router.get("", response_model=AuditPage)
def list_entries(
    user: Auditor,
    db: SessionDep,
    actor: str | None = Query(None, max_length=64, description="Only entries by this username."),
    action: str | None = Query(None, max_length=64, description="Only this action, e.g. incident.claim."),
    target_type: str | None = Query(None, max_length=32),
    target_id: str | None = Query(None, max_length=128),
    before_id: int | None = Query(None, ge=1, description="Entries with a smaller id (paging)."),
    limit: int = Query(100, ge=1, le=1000),
) -> AuditPage:
    """Filter and page through the audit log. Filters are bound parameters, never spliced into SQL."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    for column, value in (
        (AuditEntry.actor, actor),
        (AuditEntry.action, action),
        (AuditEntry.target_type, target_type),
        (AuditEntry.target_id, target_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    rows = db.scalars(query).all()
    items = [
        AuditEntryOut(
            id=row.id,
            at=row.at,
            actor=row.actor,
            action=row.action,
            target_type=row.target_type,
            target_id=row.target_id,
            detail=json.loads(row.detail),
            redacted_at=row.redacted_at,
            detail_digest=row.detail_digest,
            prev_hash=row.prev_hash,
            entry_hash=row.entry_hash,
        )
        for row in rows
    ]
    record(
        db,
        actor=user.username,
        action="audit.view",
        target_type="audit",
        target_id="log",
        detail={"filter_actor": actor, "filter_action": action, "count": len(items)},
    )
    db.commit()
    return AuditPage(items=items, next_before_id=items[-1].id if len(items) == limit else None)


@router.get("/verify", response_model=ChainReportOut)
def verify(user: Verifier, db: SessionDep) -> ChainReportOut:
    """Recompute every hash and report the first entry that does not check out."""
    report = verify_chain(db)
    record(
        db,
        actor=user.username,
        action="audit.verify",
        target_type="audit",
        target_id="log",
        detail={"ok": report.ok, "entries": report.entries},
    )
    db.commit()
    return ChainReportOut(
        ok=report.ok,
        entries=report.entries,
        first_bad_id=report.first_bad_id,
        reason=report.reason,
        redacted=report.redacted,
    )
