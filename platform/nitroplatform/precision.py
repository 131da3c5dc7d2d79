"""Field precision per model version and camera, from officers' outcomes (never from images).

precision = confirmed_use / (confirmed_use + false_alarm). ``nobody_there`` and ``not_handled`` say
nothing about whether the model was right, so they are counted but left out of the ratio. Outcomes of
incidents already removed by retention still count through the weekly aggregates.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from nitroplatform.people.dispatch_models import IncidentOutcome
from nitroplatform.people.record_models import WeeklyAggregate


class PrecisionRow(BaseModel):
    """Outcome counts and precision for one model version on one camera."""

    model_id: str
    model_version: str
    camera_id: str
    confirmed_use: int = 0
    nobody_there: int = 0
    false_alarm: int = 0
    not_handled: int = 0
    false_alarm_by_category: dict[str, int] = Field(default_factory=dict)
    precision: float | None = Field(description="confirmed / (confirmed + false alarms); None without either.")


@dataclass
class _Tally:
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    categories: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def field_precision(
    db: Session, *, since: datetime | None = None, camera_ids: set[str] | None = None
) -> list[PrecisionRow]:
    """Precision per (model id, model version, camera), sorted by those keys.

    Args:
        db: session.
        since: only outcomes recorded at or after this time (aggregates are then left out, they have no time).
        camera_ids: restrict to these cameras; None means all.
    """
    tallies: dict[tuple[str, str, str], _Tally] = defaultdict(_Tally)
    query = select(
        IncidentOutcome.model_id,
        IncidentOutcome.model_version,
        IncidentOutcome.camera_id,
        IncidentOutcome.outcome,
        IncidentOutcome.category,
    )
    if since is not None:
        query = query.where(IncidentOutcome.recorded_at >= since)
    for model_id, version, camera_id, outcome, category in db.execute(query):
        tally = tallies[(model_id, version, camera_id)]
        tally.counts[outcome] += 1
        if category:
            tally.categories[category] += 1
    if since is None:
        aggregates = select(WeeklyAggregate).where(WeeklyAggregate.outcome != "none")
        for row in db.scalars(aggregates):
            tally = tallies[(row.model_id, row.model_version, row.camera_id)]
            tally.counts[row.outcome] += row.count
            if row.category:
                tally.categories[row.category] += row.count
    rows = []
    for (model_id, version, camera_id), tally in sorted(tallies.items()):
        if camera_ids is not None and camera_id not in camera_ids:
            continue
        confirmed = tally.counts["confirmed_use"]
        false_alarm = tally.counts["false_alarm"]
        judged = confirmed + false_alarm
        rows.append(
            PrecisionRow(
                model_id=model_id,
                model_version=version,
                camera_id=camera_id,
                confirmed_use=confirmed,
                nobody_there=tally.counts["nobody_there"],
                false_alarm=false_alarm,
                not_handled=tally.counts["not_handled"],
                false_alarm_by_category=dict(sorted(tally.categories.items())),
                precision=round(confirmed / judged, 4) if judged else None,
            )
        )
    return rows
