"""Retention: delete alerts and incidents older than ``retention_days`` (28 by default), keep counts.

Before an incident goes, it is folded into ``people_weekly_aggregates`` (camera, ISO week of opening,
outcome, look-alike category, model). Its alerts, pages, claim and outcome go with it, and in the same
transaction its audit entries are redacted (officer, camera, outcome, category and exact time removed; the
hash chain still verifies, see ``nitroplatform.audit.chain``). Every run is logged in
``people_retention_runs`` and in the audit log, including failed runs.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from nitroplatform.audit.chain import record, redact_incident_entries
from nitroplatform.db.models import Alert, Incident
from nitroplatform.people.dispatch_models import IncidentClaim, IncidentOutcome, Page
from nitroplatform.people.models import AuthSession, LoginAttempt
from nitroplatform.people.record_models import RetentionRun, WeeklyAggregate
from nitroplatform.people.timeutil import utcnow

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
AggregateKey = tuple[str, int, int, str, str, str, str]


def _fold(db: Session, counts: Counter[AggregateKey]) -> None:
    for (camera_id, year, week, outcome, category, model_id, model_version), count in counts.items():
        row = db.scalar(
            select(WeeklyAggregate).where(
                WeeklyAggregate.camera_id == camera_id,
                WeeklyAggregate.iso_year == year,
                WeeklyAggregate.iso_week == week,
                WeeklyAggregate.outcome == outcome,
                WeeklyAggregate.category == category,
                WeeklyAggregate.model_id == model_id,
                WeeklyAggregate.model_version == model_version,
            )
        )
        if row is None:
            db.add(
                WeeklyAggregate(
                    camera_id=camera_id,
                    iso_year=year,
                    iso_week=week,
                    outcome=outcome,
                    category=category,
                    model_id=model_id,
                    model_version=model_version,
                    count=count,
                )
            )
        else:
            row.count += count
    db.flush()


def _delete_batch(db: Session, *, ids: list[uuid.UUID]) -> int:
    db.execute(delete(Page).where(Page.incident_id.in_(ids)))
    db.execute(delete(IncidentClaim).where(IncidentClaim.incident_id.in_(ids)))
    db.execute(delete(IncidentOutcome).where(IncidentOutcome.incident_id.in_(ids)))
    result = db.execute(delete(Alert).where(Alert.incident_id.in_(ids)))
    db.execute(delete(Incident).where(Incident.id.in_(ids)))
    return int(getattr(result, "rowcount", 0) or 0)


def run_retention(db: Session, *, retention_days: int, now: datetime | None = None) -> RetentionRun:
    """Delete what is older than ``retention_days`` and commit; returns the logged run.

    Raises whatever went wrong after logging the run as failed (errors are loud, never swallowed).
    """
    if retention_days < 1:
        raise ValueError(f"retention_days must be at least 1, got {retention_days}")
    started = now or utcnow()
    cutoff = started - timedelta(days=retention_days)
    run = RetentionRun(started_at=started, cutoff=cutoff, retention_days=retention_days, status="running")
    db.add(run)
    db.commit()
    try:
        incidents_deleted = 0
        alerts_deleted = 0
        audit_redacted = 0
        while True:
            rows = db.execute(
                select(
                    Incident.id,
                    Incident.camera_id,
                    Incident.opened_at,
                    Incident.model_id,
                    Incident.model_version,
                    IncidentOutcome.outcome,
                    IncidentOutcome.category,
                )
                .outerjoin(IncidentOutcome, IncidentOutcome.incident_id == Incident.id)
                .where(Incident.opened_at < cutoff)
                .limit(BATCH_SIZE)
            ).all()
            if not rows:
                break
            counts: Counter[AggregateKey] = Counter()
            for row in rows:
                year, week, _ = row.opened_at.isocalendar()
                counts[
                    (
                        row.camera_id,
                        year,
                        week,
                        row.outcome or "none",
                        row.category or "",
                        row.model_id,
                        row.model_version,
                    )
                ] += 1
            _fold(db, counts)
            ids = [row.id for row in rows]
            alerts_deleted += _delete_batch(db, ids=ids)
            audit_redacted += redact_incident_entries(db, incident_ids=ids, at=started)
            incidents_deleted += len(rows)
            db.commit()
        # Alerts whose incident is still young stay with it; stray old alerts (no incident) go.
        stray = db.execute(delete(Alert).where(Alert.received_at < cutoff, ~Alert.incident_id.in_(select(Incident.id))))
        alerts_deleted += int(getattr(stray, "rowcount", 0) or 0)
        db.execute(delete(AuthSession).where(AuthSession.expires_at < started))
        db.execute(delete(LoginAttempt).where(LoginAttempt.at < started - timedelta(days=1)))
        run.finished_at = utcnow()
        run.alerts_deleted = alerts_deleted
        run.incidents_deleted = incidents_deleted
        run.status = "ok"
        record(
            db,
            actor="system:retention",
            action="retention.run",
            target_type="retention_run",
            target_id=run.id,
            detail={
                "cutoff": cutoff.isoformat(),
                "incidents_deleted": incidents_deleted,
                "alerts_deleted": alerts_deleted,
                "audit_entries_redacted": audit_redacted,
            },
        )
        db.commit()
        logger.info(
            "retention: deleted %d incidents and %d alerts before %s, redacted %d audit entries",
            incidents_deleted,
            alerts_deleted,
            cutoff.isoformat(),
            audit_redacted,
        )
        return run
    except Exception as error:
        db.rollback()
        failed = db.get(RetentionRun, run.id)
        if failed is not None:
            failed.status = "failed"
            failed.finished_at = utcnow()
            failed.error = f"{type(error).__name__}: {error}"[:2000]
            db.commit()
        raise
