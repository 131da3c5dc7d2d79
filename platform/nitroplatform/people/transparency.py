"""Facts for the public transparency page: per camera its purpose, legal basis, schedule, whether it is
looking right now, operator, IAMA status and weekly counts. Nothing about any person, ever.

Purpose, legal basis and operator come from the camera's IAMA deployment (``iama`` package) when it has
one; otherwise from ``people_camera_transparency``, which administrators fill through the API.
"""

from __future__ import annotations

import importlib
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from nitroplatform.db.models import Camera, Incident
from nitroplatform.people.dispatch_models import IncidentOutcome
from nitroplatform.people.record_models import CameraTransparency, WeeklyAggregate

WEEKS_SHOWN = 8


class WeekCount(BaseModel):
    """Incidents in one ISO week, by outcome (``none`` = no outcome recorded)."""

    iso_year: int
    iso_week: int
    total: int
    by_outcome: dict[str, int]


class PublicCamera(BaseModel):
    """One camera as the public sees it."""

    id: str
    name: str
    site: str
    purpose: str
    legal_basis: str
    operator: str
    schedule_summary: str
    looking_now: bool = Field(description="True when the camera's latest heartbeat says it is active.")
    status: str
    iama_status: str
    iama_summary_url: str | None
    weekly_counts: list[WeekCount]


def _deployment(session: Session, deployment_id: str | None) -> Any:
    if deployment_id is None:
        return None
    try:
        models = importlib.import_module("iama.storage.models")
    except ModuleNotFoundError:
        return None
    return session.get(models.Deployment, deployment_id)


def _pick(deployment: Any, facts: CameraTransparency | None, field: str) -> str:
    # The IAMA deployment is the source of truth; the transparency row fills what it leaves empty.
    value = getattr(deployment, field, "") if deployment is not None else ""
    if value:
        return str(value)
    return str(getattr(facts, field)) if facts is not None else ""


def _iama_status(session: Session, camera: Camera, now: datetime) -> str:
    try:
        gating = importlib.import_module("iama.gating")
    except ModuleNotFoundError:
        return "gated" if camera.gated else "approved"
    decision = gating.IamaGatePolicy().is_gated(session, camera.id, now)
    return "approved" if not decision.gated else str(decision.reason)


def _weekly(session: Session, camera_ids: list[str], now: datetime) -> dict[str, dict[tuple[int, int], Counter[str]]]:
    since = now - timedelta(weeks=WEEKS_SHOWN)
    counts: dict[str, dict[tuple[int, int], Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    rows = session.execute(
        select(Incident.camera_id, Incident.opened_at, IncidentOutcome.outcome)
        .outerjoin(IncidentOutcome, IncidentOutcome.incident_id == Incident.id)
        .where(Incident.opened_at >= since, Incident.camera_id.in_(camera_ids))
    ).all()
    for camera_id, opened_at, outcome in rows:
        year, week, _ = opened_at.isocalendar()
        counts[camera_id][(year, week)][outcome or "none"] += 1
    for row in session.scalars(select(WeeklyAggregate).where(WeeklyAggregate.camera_id.in_(camera_ids))):
        counts[row.camera_id][(row.iso_year, row.iso_week)][row.outcome] += row.count
    return counts


def public_cameras(session: Session, *, now: datetime, offline_after_s: float) -> list[PublicCamera]:
    """Every registered camera with its public facts."""
    cameras = session.scalars(select(Camera).order_by(Camera.id)).all()
    weekly = _weekly(session, [camera.id for camera in cameras], now)
    current = now.isocalendar()
    out = []
    for camera in cameras:
        facts = session.get(CameraTransparency, camera.id)
        deployment = _deployment(session, camera.deployment_id)
        fresh = (
            camera.last_heartbeat_at is not None and (now - camera.last_heartbeat_at).total_seconds() < offline_after_s
        )
        status = (camera.last_state or "unknown") if fresh else "offline"
        weeks = [
            WeekCount(
                iso_year=year, iso_week=week, total=sum(counter.values()), by_outcome=dict(sorted(counter.items()))
            )
            for (year, week), counter in sorted(weekly[camera.id].items(), reverse=True)
            if (current.year - year) * 53 + current.week - week < WEEKS_SHOWN
        ]
        out.append(
            PublicCamera(
                id=camera.id,
                name=camera.name,
                site=camera.site,
                purpose=_pick(deployment, facts, "purpose"),
                legal_basis=_pick(deployment, facts, "legal_basis"),
                operator=_pick(deployment, facts, "operator"),
                schedule_summary=facts.schedule_summary if facts else "",
                looking_now=fresh and camera.last_state == "active",
                status=status,
                iama_status=_iama_status(session, camera, now),
                iama_summary_url=(facts.iama_summary_url or None) if facts else None,
                weekly_counts=weeks,
            )
        )
    return out
