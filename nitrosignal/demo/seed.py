"""What the demo puts in a fresh platform: a camera, an officer team that covers it, and the people.

Everything goes through the platform's own service layer, exactly as an operator's commands would.
"""

from __future__ import annotations

import secrets as token_source
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from nitroplatform.auth.deps import Role
from nitroplatform.cameras import CameraProfile, register_camera
from nitroplatform.db.engine import make_engine
from nitroplatform.db.session import make_sessionmaker, session_scope
from nitroplatform.people import service as people
from nitroplatform.settings import Settings

DEMO_CAMERA_ID = "demo-boulevard-01"
# The four distinct people the IAMA workflow requires: author, reviewer, data protection officer, approver.
IAMA_PEOPLE = {"author": "privacy-officer", "reviewer": "lawyer", "dpo": "dpo", "approver": "director-safety"}
DEMO_ZONE = "boulevard"
OFFICER = "officer"
COORDINATOR = "coordinator"


@dataclass(frozen=True)
class DemoLogins:
    """The demo's accounts and their generated passwords (printed once, never stored in plain text)."""

    officer_password: str
    coordinator_password: str


def seed_platform(settings: Settings, *, camera_public_key: str) -> DemoLogins:
    """Register the demo camera, its team, area and round-the-clock shift, and two accounts."""
    logins = DemoLogins(
        officer_password=token_source.token_urlsafe(12), coordinator_password=token_source.token_urlsafe(12)
    )
    engine = make_engine(settings.effective_database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            register_camera(
                session,
                camera_id=DEMO_CAMERA_ID,
                public_key=camera_public_key,
                profile=CameraProfile(
                    name="Demo camera, boulevard",
                    site="Scheveningen boulevard (demo)",
                    latitude=52.1135,
                    longitude=4.2790,
                    zones=(DEMO_ZONE,),
                    deployment_id=_seed_deployment(session),
                ),
            )
            people.create_user(
                session, username=OFFICER, password=logins.officer_password, roles=[Role.officer], actor="demo"
            )
            people.create_user(
                session,
                username=COORDINATOR,
                password=logins.coordinator_password,
                roles=[Role.coordinator],
                actor="demo",
            )
            team = people.create_team(session, name="Boulevard team", actor="demo")
            people.add_member(session, team_id=team.id, username=OFFICER, actor="demo")
            people.add_area(session, team_id=team.id, name="Boulevard", camera_ids=[DEMO_CAMERA_ID], actor="demo")
            people.add_shift(
                session, team_id=team.id, weekdays=range(1, 8), start_minute=0, end_minute=24 * 60 - 1, actor="demo"
            )
        with session_scope(make_sessionmaker(engine)) as session:
            _approve_worked_example(session)
    finally:
        engine.dispose()
    return logins


def _seed_deployment(session: Session) -> str:
    from iama import service as iama
    from iama.worked_example import load_example

    today = datetime.now(UTC).date()
    deployment = load_example().deployment.model_copy(
        update={"period_start": today.isoformat(), "period_end": (today + timedelta(days=180)).isoformat()}
    )
    iama.create_deployment(session=session, deployment=deployment)
    return deployment.id


def _approve_worked_example(session: Session) -> None:
    """Take the shipped worked example through the whole IAMA workflow, so the camera is not gated."""
    from iama import service as iama
    from iama.config import IamaSettings
    from iama.records import ReviewMark
    from iama.worked_example import load_example

    example = load_example()
    author, reviewer, dpo, approver = (IAMA_PEOPLE[k] for k in ("author", "reviewer", "dpo", "approver"))
    record = iama.create_record(
        session=session, deployment_id=example.deployment.id, questionnaire_id=example.questionnaire_id, author=author
    )
    iama.set_answers(session=session, record_id=record.id, answers=example.answers, actor=author)
    iama.submit(session=session, record_id=record.id, actor=author)
    marks = [
        ReviewMark(question_id=qid, mark="acceptable") for qid in iama.answers_of(session=session, record_id=record.id)
    ]
    iama.review(session=session, record_id=record.id, actor=reviewer, marks=marks)
    iama.finish_review(session=session, record_id=record.id, actor=reviewer)
    iama.advise(session=session, record_id=record.id, actor=dpo, opinion="positive", advice="Demo: akkoord.")
    for risk in iama.residual_risks(session=session, record=record):
        iama.decide_risk(session=session, record_id=record.id, actor=approver, position=risk.position, accept=True)
    iama.approve(
        session=session, record_id=record.id, actor=approver, reasons="Demo deployment", settings=IamaSettings()
    )
