"""Public transparency (no login), offline flagging, and the notification path through the change hook."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from people_helpers import PeopleUser, add_camera, add_incident  # type: ignore[import-not-found, unused-ignore]
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from nitroplatform.api.schemas import IncidentOut
from nitroplatform.auth.deps import Role
from nitroplatform.db.models import Camera, Incident
from nitroplatform.incidents.service import IncidentChange, notify_listeners
from nitroplatform.people.background import start_background_tasks
from nitroplatform.people.config import PeopleSettings
from nitroplatform.people.dispatch_models import Page
from nitroplatform.people.record_models import AuditEntry
from nitroplatform.people.service import add_area, add_member, create_team
from nitroplatform.routing.notifier import Notifier


def _heartbeat(factory: sessionmaker[Session], camera_id: str, *, state: str, age_s: float) -> None:
    with factory() as db:
        camera = db.get(Camera, camera_id)
        assert camera is not None
        camera.last_heartbeat_at = datetime.now(UTC) - timedelta(seconds=age_s)
        camera.last_state = state
        db.commit()


def test_transparency_json_and_page(
    https_client: Callable[[], TestClient],
    session_factory: sessionmaker[Session],
    make_user: Callable[..., PeopleUser],
) -> None:
    with session_factory() as db:
        add_camera(db, "cam-1")
        add_camera(db, "cam-2")
        # Public counts cover completed weeks only (test_people_public_counts.py has the rules).
        add_incident(db, "cam-1", opened_at=datetime.now(UTC) - timedelta(weeks=2))
        add_incident(db, "cam-1", opened_at=datetime.now(UTC) - timedelta(weeks=2))
        db.commit()
    _heartbeat(session_factory, "cam-1", state="active", age_s=5)
    _heartbeat(session_factory, "cam-2", state="active", age_s=3600)
    privacy = make_user("pim", Role.privacy_officer)
    client = https_client()
    facts = {
        "purpose": "Handhaving lachgasverbod <script>alert(1)</script>",
        "legal_basis": "APV art. 2:48",
        "operator": "Gemeente Voorbeeld",
        "schedule_summary": "vr–za 20:00–04:00",
        "iama_summary_url": "/iama/public/centrum",
    }
    assert client.put("/api/v1/transparency/cameras/cam-1", json=facts, headers=privacy.headers).status_code == 200
    anonymous = https_client()
    cameras = {item["id"]: item for item in anonymous.get("/api/v1/public/cameras").json()}
    assert cameras["cam-1"]["looking_now"] is True and cameras["cam-1"]["legal_basis"] == "APV art. 2:48"
    assert cameras["cam-1"]["weekly_counts"][0]["total"] == "<5"
    assert cameras["cam-2"]["looking_now"] is False and cameras["cam-2"]["status"] == "offline"
    page = anonymous.get("/transparency")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text
    assert "Gemeente Voorbeeld" in page.text and "/iama/public/centrum" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_offline_cameras_are_flagged_once(
    session_factory: sessionmaker[Session], tmp_path: Path, people_settings: PeopleSettings
) -> None:
    with session_factory() as db:
        add_camera(db, "cam-1")
        add_camera(db, "cam-never")  # never sent a heartbeat: not flagged
        db.commit()
    notifier = Notifier(factory=session_factory, data_dir=tmp_path, policy=people_settings, offline_after_s=60)
    _heartbeat(session_factory, "cam-1", state="active", age_s=120)
    assert notifier.check_cameras().went_offline == ("cam-1",)
    assert notifier.check_cameras().went_offline == ()
    _heartbeat(session_factory, "cam-1", state="active", age_s=1)
    assert notifier.check_cameras().came_back == ("cam-1",)
    with session_factory() as db:
        actions = db.scalars(select(AuditEntry.action).where(AuditEntry.target_id == "cam-1")).all()
    assert actions == ["camera.offline", "camera.online"]


def test_change_listener_routes_a_new_incident(
    people_app: FastAPI,
    session_factory: sessionmaker[Session],
    make_user: Callable[..., PeopleUser],
) -> None:
    """The integration path: the incidents service's change hook → notifier thread → page recorded."""
    make_user("olga", Role.officer)
    with session_factory() as db:
        add_camera(db, "cam-1")
        team = create_team(db, name="north", actor="test")
        add_member(db, team_id=team.id, username="olga", actor="test")
        add_area(db, team_id=team.id, name="centrum", camera_ids=["cam-1"], actor="test")
        incident_id = add_incident(db, "cam-1")
        db.commit()
        change = IncidentChange(kind="opened", incident=IncidentOut.model_validate(db.get(Incident, incident_id)))
    tasks = start_background_tasks(people_app, run_retention_loop=False)
    try:
        assert notify_listeners([change]) == 0
        deadline = time.monotonic() + 10
        page = None
        while page is None and time.monotonic() < deadline:
            with session_factory() as db:
                page = db.scalar(select(Page).where(Page.incident_id == incident_id))
            time.sleep(0.05)
        assert page is not None and page.team_id == team.id and page.recipients == 1
    finally:
        tasks.stop()
    assert notify_listeners([change]) == 0  # unregistered: nothing runs, nothing fails
