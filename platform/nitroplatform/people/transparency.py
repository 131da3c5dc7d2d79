"""Facts for the public transparency page: per camera its purpose, legal basis, schedule, whether it is
looking right now, operator, IAMA status and weekly counts. Nothing about any person, ever.

Purpose, legal basis and operator come from the camera's IAMA deployment (``iama`` package) when it has
one; otherwise from ``people_camera_transparency``, which administrators fill through the API.

The counts are not a live feed. Someone watching officers approach a person must not learn from this page
that an alert came or what the outcome was, so:

* only completed ISO weeks (UTC) are published, and only ``PUBLICATION_DELAY`` (24 h) after they end;
* every cell from 1 to 4 is shown as ``"<5"``, never as the number; a week with a total below 5 shows only
  ``"<5"`` and no breakdown;
* when a breakdown cell is shown as ``"<5"``, the total is shown as the range the published cells allow
  (e.g. ``"7-10"``), so the small cell cannot be worked out by subtraction.

Whether a camera is looking *now* stays live: that is about the camera, not about people.
"""

from __future__ import annotations

import importlib
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from nitroplatform.db.models import Camera, Incident
from nitroplatform.people.dispatch_models import IncidentOutcome
from nitroplatform.people.record_models import CameraTransparency, WeeklyAggregate

WEEKS_SHOWN = 8
PUBLICATION_DELAY = timedelta(hours=24)
SMALL_COUNT = 5
SMALL = "<5"
PublicCount = int | str


class WeekCount(BaseModel):
    """Incidents in one completed ISO week, by outcome (``none`` = no outcome recorded)."""

    iso_year: int
    iso_week: int
    total: PublicCount = Field(
        description='The number of incidents; "<5" for 1 to 4; a range such as "7-10" when a cell of '
        'by_outcome is "<5" (the exact total would give that cell away).'
    )
    by_outcome: dict[str, PublicCount] = Field(
        description='Incidents per outcome; "<5" for 1 to 4. Empty when the total is below 5.'
    )


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
    iama_summary_url: str | None = Field(description="A path on this site or an https URL; never anything else.")
    weekly_counts: list[WeekCount] = Field(description="Completed weeks only, published 24 h after they end.")


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


def published_weeks(now: datetime) -> list[datetime]:
    """Monday 00:00 UTC of each week that may be published at ``now``, newest first.

    A week is published once it has ended and ``PUBLICATION_DELAY`` has passed: from Tuesday 00:00 UTC of
    the week after.
    """
    latest = now.astimezone(UTC) - timedelta(weeks=1) - PUBLICATION_DELAY
    monday = (latest - timedelta(days=latest.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return [monday - timedelta(weeks=back) for back in range(WEEKS_SHOWN)]


def publish_week(iso_year: int, iso_week: int, counter: Counter[str]) -> WeekCount:
    """One week's counts as the public sees them: small cells hidden, and nothing derivable from the rest."""
    total = sum(counter.values())
    if total < SMALL_COUNT:
        return WeekCount(iso_year=iso_year, iso_week=iso_week, total=SMALL, by_outcome={})
    cells: dict[str, PublicCount] = {}
    lowest = highest = 0
    for outcome, count in sorted(counter.items()):
        if count <= 0:
            continue
        if count < SMALL_COUNT:
            cells[outcome] = SMALL
            lowest, highest = lowest + 1, highest + SMALL_COUNT - 1
        else:
            cells[outcome] = count
            lowest, highest = lowest + count, highest + count
    # The total says no more than the cells and "at least 5" already do.
    shown: PublicCount = total if lowest == highest else f"{max(lowest, SMALL_COUNT)}-{highest}"
    return WeekCount(iso_year=iso_year, iso_week=iso_week, total=shown, by_outcome=cells)


def _weekly(
    session: Session, camera_ids: list[str], weeks: list[datetime]
) -> dict[str, dict[tuple[int, int], Counter[str]]]:
    """Counts per camera and published week, from live incidents and from retention's aggregates."""
    keys = {(monday.isocalendar().year, monday.isocalendar().week) for monday in weeks}
    counts: dict[str, dict[tuple[int, int], Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    rows = session.execute(
        select(Incident.camera_id, Incident.opened_at, IncidentOutcome.outcome)
        .outerjoin(IncidentOutcome, IncidentOutcome.incident_id == Incident.id)
        .where(
            Incident.opened_at >= min(weeks),
            Incident.opened_at < max(weeks) + timedelta(weeks=1),
            Incident.camera_id.in_(camera_ids),
        )
    ).all()
    for camera_id, opened_at, outcome in rows:
        year, week, _ = opened_at.astimezone(UTC).isocalendar()
        counts[camera_id][(year, week)][outcome or "none"] += 1
    for row in session.scalars(select(WeeklyAggregate).where(WeeklyAggregate.camera_id.in_(camera_ids))):
        if (row.iso_year, row.iso_week) in keys:
            counts[row.camera_id][(row.iso_year, row.iso_week)][row.outcome] += row.count
    return counts


def safe_summary_url(value: str) -> bool:
    """True for a link the public page may show: a path on this site, or an absolute https URL.

    Refused: protocol-relative ``//host``, ``/\\host`` (browsers read it as ``//host``), other schemes
    (``javascript:``, ``data:``, ``http:``), credentials in the URL, and any whitespace, control character
    or backslash.
    """
    if not value or any(char.isspace() or ord(char) < 0x20 or ord(char) == 0x7F or char == "\\" for char in value):
        return False
    if value.startswith("/"):
        return not value.startswith("//")
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme == "https" and bool(parts.hostname) and "@" not in parts.netloc


def public_cameras(session: Session, *, now: datetime, offline_after_s: float) -> list[PublicCamera]:
    """Every registered camera with its public facts."""
    cameras = session.scalars(select(Camera).order_by(Camera.id)).all()
    weekly = _weekly(session, [camera.id for camera in cameras], published_weeks(now))
    out = []
    for camera in cameras:
        facts = session.get(CameraTransparency, camera.id)
        deployment = _deployment(session, camera.deployment_id)
        fresh = (
            camera.last_heartbeat_at is not None and (now - camera.last_heartbeat_at).total_seconds() < offline_after_s
        )
        status = (camera.last_state or "unknown") if fresh else "offline"
        weeks = [
            publish_week(year, week, counter)
            for (year, week), counter in sorted(weekly[camera.id].items(), reverse=True)
            if sum(counter.values()) > 0
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
                # Checked again here: a link stored before the input check existed is never rendered.
                iama_summary_url=facts.iama_summary_url if facts and safe_summary_url(facts.iama_summary_url) else None,
                weekly_counts=weeks,
            )
        )
    return out
