"""What the demo puts in a fresh platform: a camera, an officer team that covers it, and the people.

Everything goes through the platform's own service layer, exactly as an operator's commands would.
"""

from __future__ import annotations

import secrets as token_source
from dataclasses import dataclass

from nitroplatform.auth.deps import Role
from nitroplatform.cameras import CameraProfile, register_camera
from nitroplatform.db.engine import make_engine
from nitroplatform.db.session import make_sessionmaker, session_scope
from nitroplatform.people import service as people
from nitroplatform.settings import Settings

DEMO_CAMERA_ID = "demo-boulevard-01"
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
    finally:
        engine.dispose()
    return logins
