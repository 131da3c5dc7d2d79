"""Escalation: an incident still unclaimed ``escalate_after_s`` after its team was paged goes to the next
team (``escalate_to_team_id``, if on shift) or else to the coordinators, who are the last level."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nitroplatform.audit.chain import record
from nitroplatform.db.models import Incident
from nitroplatform.people.dispatch_models import Page
from nitroplatform.people.models import Team
from nitroplatform.routing.engine import (
    Decision,
    IncidentFacts,
    RoutingPolicy,
    coordinators,
    record_page,
    team_officers,
    team_on_shift,
)


@dataclass(frozen=True)
class Escalation:
    """One escalation performed: the facts, the new decision and the incident's state for the payload."""

    facts: IncidentFacts
    decision: Decision
    people_involved: str


def escalate_due(db: Session, *, now: datetime, policy: RoutingPolicy) -> list[Escalation]:
    """Escalate every open incident whose latest page to a team has waited too long; caller commits."""
    latest = (
        select(Page.incident_id, func.max(Page.level).label("level"))
        .where(Page.held_reason.is_(None))
        .group_by(Page.incident_id)
        .subquery()
    )
    rows = db.execute(
        select(Page, Incident)
        .join(latest, (latest.c.incident_id == Page.incident_id) & (latest.c.level == Page.level))
        .join(Incident, Incident.id == Page.incident_id)
        .where(Page.held_reason.is_(None), Page.team_id.is_not(None), Incident.state == "open")
    ).all()
    done: list[Escalation] = []
    seen: set[uuid.UUID] = set()
    for page, incident in rows:
        if page.incident_id in seen or page.team_id is None:
            continue
        seen.add(page.incident_id)
        team = db.get(Team, page.team_id)
        wait_s = team.escalate_after_s if team is not None else 120
        if now - page.paged_at < timedelta(seconds=wait_s):
            continue
        next_team = team.escalate_to_team_id if team is not None else None
        if next_team is not None and team_on_shift(db, team_id=next_team, at=now, timezone=policy.timezone):
            decision = Decision(
                team_id=next_team, user_ids=team_officers(db, team_id=next_team), held_reason=None, level=page.level + 1
            )
        else:
            decision = Decision(team_id=None, user_ids=coordinators(db), held_reason=None, level=page.level + 1)
        facts = IncidentFacts(incident_id=incident.id, camera_id=incident.camera_id, zone=incident.zone)
        record_page(db, facts=facts, decision=decision, at=now)
        record(
            db,
            actor="system:escalation",
            action="incident.escalate",
            target_type="incident",
            target_id=str(incident.id),
            detail={
                "from_team_id": page.team_id,
                "to_team_id": decision.team_id,
                "level": decision.level,
                "recipients": len(decision.user_ids),
            },
        )
        done.append(Escalation(facts=facts, decision=decision, people_involved=incident.people_involved))
    return done
