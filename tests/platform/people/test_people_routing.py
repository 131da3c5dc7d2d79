"""Routing: zone/camera/time window → team, overnight shifts, escalation, silences, dispatch inhibition."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from people_helpers import PeopleUser, add_camera, add_incident  # type: ignore[import-not-found, unused-ignore]
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from nitroplatform.api.schemas import IncidentOut
from nitroplatform.auth.deps import Role
from nitroplatform.db.models import Incident
from nitroplatform.incidents.service import IncidentChange
from nitroplatform.people.config import PeopleSettings
from nitroplatform.people.dispatch_models import IncidentClaim, Page, Route, Silence
from nitroplatform.people.models import User
from nitroplatform.people.service import add_area, add_member, add_shift, create_team
from nitroplatform.routing.engine import IncidentFacts, RoutingPolicy, decide
from nitroplatform.routing.notifier import Notifier
from nitroplatform.routing.windows import in_window

AMS = ZoneInfo("Europe/Amsterdam")
MON, WED, FRI, SAT = 16, 18, 20, 21  # days of November 2026
POLICY = RoutingPolicy(timezone="Europe/Amsterdam", cooldown_camera_s=0, cooldown_global_s=0)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A local Amsterdam time in November 2026."""
    return datetime(2026, 11, day, hour, minute, tzinfo=AMS)


@pytest.mark.parametrize(
    ("weekdays", "start", "end", "local", "expected"),
    [
        ({5}, 22 * 60, 4 * 60, at(FRI, 23), True),
        ({5}, 22 * 60, 4 * 60, at(SAT, 3, 59), True),
        ({5}, 22 * 60, 4 * 60, at(SAT, 4), False),
        ({5}, 22 * 60, 4 * 60, at(FRI, 3), False),
        ({1, 2, 3, 4, 5}, 8 * 60, 20 * 60, at(WED, 8), True),
        ({1, 2, 3, 4, 5}, 8 * 60, 20 * 60, at(WED, 20), False),
        ({1, 2, 3, 4, 5}, 8 * 60, 20 * 60, at(SAT, 12), False),
    ],
)
def test_weekly_windows(weekdays: set[int], start: int, end: int, local: datetime, expected: bool) -> None:
    assert in_window(weekdays=frozenset(weekdays), start_minute=start, end_minute=end, local=local) is expected


@pytest.fixture
def teams(session_factory: sessionmaker[Session], make_user: Callable[..., PeopleUser]) -> dict[str, int]:
    """day (every day 08–20, catch-all and cam-2), night (Fri+Sat 22–04, zone plein), evening (no shifts)."""
    for name in ("dora", "nina", "eva"):
        make_user(name, Role.officer)
    make_user("coco", Role.coordinator)
    with session_factory() as db:
        for camera in ("cam-1", "cam-2"):
            add_camera(db, camera, zones=("plein",))
        ids = {}
        for name, officer in (("day", "dora"), ("night", "nina"), ("evening", "eva")):
            team = create_team(db, name=name, actor="test", escalate_after_s=60)
            add_member(db, team_id=team.id, username=officer, actor="test")
            ids[name] = team.id
        add_shift(
            db, team_id=ids["day"], weekdays=[1, 2, 3, 4, 5, 6, 7], start_minute=480, end_minute=1200, actor="test"
        )
        add_shift(db, team_id=ids["night"], weekdays=[5, 6], start_minute=1320, end_minute=240, actor="test")
        add_area(db, team_id=ids["day"], name="all", camera_ids=["cam-1", "cam-2"], actor="test")
        db.add_all(
            [
                Route(
                    name="plein evening",
                    team_id=ids["evening"],
                    zone="plein",
                    weekdays="1,2,3,4,5,6,7",
                    start_minute=18 * 60,
                    end_minute=22 * 60,
                    priority=50,
                ),
                Route(name="plein", team_id=ids["night"], zone="plein", priority=100),
                Route(name="cam-2", team_id=ids["day"], camera_id="cam-2", priority=100),
                Route(name="catch-all", team_id=ids["day"], priority=1000),
            ]
        )
        db.commit()
    return ids


# (camera, zone, local time) → team name, or None for "nobody on shift: the coordinators"
ROUTE_TABLE: list[tuple[str, str | None, datetime, str | None]] = [
    ("cam-1", "plein", at(FRI, 23), "night"),
    ("cam-1", "plein", at(SAT, 2), "night"),  # overnight shift that began on Friday
    ("cam-1", "plein", at(FRI, 2), None),  # Thursday night has no night shift, day shift not yet on: coordinators
    ("cam-1", "plein", at(MON, 19), "evening"),  # the route's own time window, higher priority
    ("cam-1", "plein", at(MON, 12), "day"),  # night off shift → next matching route (catch-all)
    ("cam-2", None, at(WED, 12), "day"),
    ("cam-1", None, at(WED, 12), "day"),
    ("cam-1", None, at(WED, 21), None),
]


def test_route_table(session_factory: sessionmaker[Session], teams: dict[str, int]) -> None:
    # One database for the whole table: deciding is read-only, and each backend costs seconds to set up.
    with session_factory() as db:
        for camera, zone, when, expected in ROUTE_TABLE:
            facts = IncidentFacts(incident_id=uuid.uuid4(), camera_id=camera, zone=zone)
            decision = decide(db, facts=facts, at=when, policy=POLICY)
            case = (camera, zone, when.isoformat(), expected)
            assert decision.held_reason is None, case
            assert decision.team_id == (teams[expected] if expected else None), case
            assert len(decision.user_ids) == 1, case  # one officer per team, or the one coordinator


def _change(factory: sessionmaker[Session], incident_id: uuid.UUID, kind: str = "opened") -> IncidentChange:
    with factory() as db:
        row = db.get(Incident, incident_id)
        return IncidentChange(kind=kind, incident=IncidentOut.model_validate(row))  # type: ignore[arg-type]


@pytest.fixture
def notifier(session_factory: sessionmaker[Session], tmp_path: Path, people_settings: PeopleSettings) -> Notifier:
    return Notifier(factory=session_factory, data_dir=tmp_path / "data", policy=people_settings)


def test_escalation_after_n_seconds(
    session_factory: sessionmaker[Session], teams: dict[str, int], notifier: Notifier
) -> None:
    with session_factory() as db:
        incident = add_incident(db, "cam-2")
        db.commit()
    start = at(WED, 12).astimezone(ZoneInfo("UTC"))
    result = notifier.handle(_change(session_factory, incident), now=start)
    assert result.decision is not None and result.decision.team_id == teams["day"]
    notifier.escalate(now=start + timedelta(seconds=59))
    notifier.escalate(now=start + timedelta(seconds=61))
    notifier.escalate(now=start + timedelta(seconds=62))  # already escalated: the coordinators are the last level
    with session_factory() as db:
        pages = db.execute(select(Page.level, Page.team_id, Page.recipients).order_by(Page.level)).all()
    assert [tuple(page) for page in pages] == [(0, teams["day"], 1), (1, None, 1)]


def test_claimed_incident_does_not_escalate(
    session_factory: sessionmaker[Session], teams: dict[str, int], notifier: Notifier
) -> None:
    with session_factory() as db:
        incident = add_incident(db, "cam-2")
        db.commit()
    start = at(WED, 12).astimezone(ZoneInfo("UTC"))
    notifier.handle(_change(session_factory, incident), now=start)
    with session_factory() as db:
        row = db.get(Incident, incident)
        assert row is not None
        row.state = "claimed"
        db.commit()
    notifier.escalate(now=start + timedelta(seconds=300))
    with session_factory() as db:
        assert db.scalar(select(Page.level).where(Page.level > 0)) is None


# (silence matchers, incident camera, incident zone) → held reason
SILENCE_TABLE: list[tuple[dict[str, Any], str, str | None, str | None]] = [
    ({"camera_id": "cam-1"}, "cam-1", "plein", "silenced"),
    ({"zone": "plein"}, "cam-2", "plein", "silenced"),
    ({"camera_id": "cam-1", "zone": "plein"}, "cam-1", None, None),
    ({"camera_id": "cam-2"}, "cam-1", "plein", None),
    ({"camera_id": "cam-1", "ends_in_s": -1}, "cam-1", "plein", None),
]


def test_silences(session_factory: sessionmaker[Session], teams: dict[str, int]) -> None:
    when = at(WED, 12).astimezone(ZoneInfo("UTC"))
    with session_factory() as db:
        for silence, camera, zone, expected in SILENCE_TABLE:
            matchers = dict(silence)
            ends = when + timedelta(seconds=matchers.pop("ends_in_s", 3600))
            row = Silence(
                starts_at=when - timedelta(minutes=1), ends_at=ends, created_by="coco", comment="works", **matchers
            )
            db.add(row)
            db.flush()
            facts = IncidentFacts(incident_id=uuid.uuid4(), camera_id=camera, zone=zone)
            assert decide(db, facts=facts, at=when, policy=POLICY).held_reason == expected, (silence, camera, zone)
            db.delete(row)
            db.flush()


def test_dispatch_inhibits_pages_for_the_same_zone(
    session_factory: sessionmaker[Session], teams: dict[str, int], make_user: Callable[..., PeopleUser]
) -> None:
    when = at(WED, 12).astimezone(ZoneInfo("UTC"))
    with session_factory() as db:
        first = add_incident(db, "cam-1", zone="plein", state="claimed")
        officer = db.scalar(select(User.id).where(User.username == "nina"))
        assert officer is not None
        db.add(
            IncidentClaim(
                incident_id=first,
                user_id=officer,
                camera_id="cam-1",
                zone="plein",
                claimed_at=when - timedelta(minutes=5),
            )
        )
        db.commit()
        same_zone = decide(
            db, facts=IncidentFacts(incident_id=uuid.uuid4(), camera_id="cam-2", zone="plein"), at=when, policy=POLICY
        )
        other_zone = decide(
            db, facts=IncidentFacts(incident_id=uuid.uuid4(), camera_id="cam-2", zone=None), at=when, policy=POLICY
        )
        claim = db.get(IncidentClaim, first)
        assert claim is not None
        claim.finished_at = when
        db.commit()
        after = decide(
            db, facts=IncidentFacts(incident_id=uuid.uuid4(), camera_id="cam-2", zone="plein"), at=when, policy=POLICY
        )
    assert same_zone.held_reason == "dispatch_inhibited"
    assert other_zone.held_reason is None
    assert after.held_reason is None


def test_routes_and_silences_through_the_api(
    https_client: Callable[..., Any], make_user: Callable[..., PeopleUser], teams: dict[str, int]
) -> None:
    coordinator = make_user("cora", Role.coordinator)
    client = https_client()
    created = client.post(
        "/api/v1/routes",
        json={
            "name": "late plein",
            "team_id": teams["night"],
            "zone": "plein",
            "weekdays": [5],
            "start": "23:00",
            "end": "02:00",
        },
        headers=coordinator.headers,
    )
    assert created.status_code == 201 and created.json()["end"] == "02:00"
    silence = client.post(
        "/api/v1/silences",
        json={"camera_id": "cam-1", "ends_at": "2999-01-01T00:00:00Z", "comment": "market day"},
        headers=coordinator.headers,
    )
    assert silence.status_code == 201
    assert silence.json()["created_by"] == "cora" and silence.json()["status"] == "active"
    no_comment = client.post(
        "/api/v1/silences", json={"camera_id": "cam-1", "ends_at": "2999-01-01T00:00:00Z"}, headers=coordinator.headers
    )
    assert no_comment.status_code == 422
    expired = client.delete(f"/api/v1/silences/{silence.json()['id']}", headers=coordinator.headers)
    assert expired.json()["status"] == "expired" and expired.json()["expired_by"] == "cora"
