"""Who saw what: the incident list, the live page and the live stream are audited, one entry per opening.

The stream test runs on a real server: several events reach the open stream, and the log still holds one
``stream.open`` entry for it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from people_helpers import PeopleUser, add_camera, add_incident  # type: ignore[import-not-found, unused-ignore]
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from nitroplatform.auth.deps import Role
from nitroplatform.launcher import PlatformThread
from nitroplatform.live.bus import EventDraft
from nitroplatform.people.record_models import AuditEntry
from nitroplatform.people.service import add_area, add_member, create_team
from nitroplatform.settings import Settings


def _entries(factory: sessionmaker[Session], action: str) -> list[AuditEntry]:
    with factory() as db:
        return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


@pytest.fixture
def olga(session_factory: sessionmaker[Session], make_user: Callable[..., PeopleUser]) -> PeopleUser:
    """An officer whose team covers cam-1 (cam-2 belongs to nobody she works with), with incidents on both."""
    user = make_user("olga", Role.officer)
    with session_factory() as db:
        add_camera(db, "cam-1", zones=("plein",))
        add_camera(db, "cam-2")
        team = create_team(db, name="north", actor="test")
        add_member(db, team_id=team.id, username="olga", actor="test")
        add_area(db, team_id=team.id, name="centrum", camera_ids=["cam-1"], actor="test")
        for camera in ("cam-1", "cam-1", "cam-2"):
            add_incident(db, camera)
        db.commit()
    return user


# query → the detail the audit entry keeps (typed values that name nothing configured are not copied)
LIST_TABLE: list[tuple[dict[str, str], dict[str, object]]] = [
    ({}, {"camera_id": None, "zone": None, "count": 2, "scope": "cameras"}),
    ({"camera_id": "cam-1", "zone": "plein"}, {"camera_id": "cam-1", "zone": "plein", "count": 0}),
    ({"camera_id": "Jan Jansen 06-12345678"}, {"camera_id": "other", "count": 0}),
    ({"zone": "Dorpsstraat 1"}, {"zone": "other", "count": 0}),
]


def test_every_list_request_is_audited_once(
    https_client: Callable[[], TestClient], session_factory: sessionmaker[Session], olga: PeopleUser
) -> None:
    client = https_client()
    for params, _ in LIST_TABLE:
        assert client.get("/api/v1/incidents", params=params, headers=olga.headers).status_code == 200
    entries = _entries(session_factory, "incident.list")
    assert len(entries) == len(LIST_TABLE)
    for entry, (params, expected) in zip(entries, LIST_TABLE, strict=True):
        detail = json.loads(entry.detail)
        assert entry.actor == "olga" and entry.target_type == "incident_list", params
        assert {key: detail[key] for key in expected} == expected, params
    assert "Jan Jansen" not in " ".join(entry.detail for entry in entries)


def test_every_opening_of_the_live_page_is_audited_once(
    https_client: Callable[[], TestClient], session_factory: sessionmaker[Session], olga: PeopleUser
) -> None:
    client = https_client()
    for _ in range(2):
        page = client.get("/live", headers=olga.headers)
        assert page.status_code == 200 and page.text.count('<tr id="incident-') == 2
    entries = _entries(session_factory, "live.view")
    assert [(entry.actor, json.loads(entry.detail)["count"]) for entry in entries] == [("olga", 2), ("olga", 2)]


@pytest.fixture
def web_platform(settings_factory: Callable[..., Settings]) -> Iterator[PlatformThread]:
    """The HTTP platform on a real uvicorn server in this process (no ingest)."""
    with PlatformThread(settings_factory(), with_ingest=False) as platform:
        yield platform


def test_a_stream_is_audited_once_per_opening_not_per_event(
    web_platform: PlatformThread, session_factory: sessionmaker[Session], olga: PeopleUser
) -> None:
    events = 5
    bus = web_platform.app.state.live_bus
    with httpx.Client(base_url=web_platform.base_url, headers=olga.headers, timeout=10) as http:
        for opening in range(2):
            with http.stream("GET", "/api/v1/stream") as response:
                lines = response.iter_lines()
                assert next(lines).startswith("retry:")
                bus.publish([EventDraft(event="incident", data="{}", camera_id="cam-1") for _ in range(events)])
                received = 0
                for line in lines:
                    received += line == "event: incident"
                    if received == events:
                        break
                assert received == events, opening
    entries = _entries(session_factory, "stream.open")
    assert len(entries) == 2, "one entry per opening, none per event"
    assert [json.loads(entry.detail)["resumed"] for entry in entries] == [False, False]
