"""Claim, arrive and outcome: the state machine table, ownership, scope and outcome validation."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from people_helpers import PeopleUser, add_camera, add_incident  # type: ignore[import-not-found, unused-ignore]
from sqlalchemy import String, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from nitroplatform.auth.deps import Role
from nitroplatform.db.models import Incident
from nitroplatform.people.dispatch_models import IncidentClaim, IncidentOutcome, Page
from nitroplatform.people.models import Team
from nitroplatform.people.record_models import AuditEntry
from nitroplatform.people.service import add_area, add_member, create_team

NOBODY: dict[str, Any] = {"outcome": "nobody_there"}


@pytest.fixture
def scene(session_factory: sessionmaker[Session], make_user: Callable[..., PeopleUser]) -> dict[str, Any]:
    """Team north covers cam-n; officers olga and otto are in it, officer sven is in team south (cam-s)."""
    people = {name: make_user(name, Role.officer) for name in ("olga", "otto", "sven")}
    people["coco"] = make_user("coco", Role.coordinator)
    with session_factory() as db:
        add_camera(db, "cam-n", zones=("plein",))
        add_camera(db, "cam-s")
        north = create_team(db, name="north", actor="test")
        south = create_team(db, name="south", actor="test")
        add_area(db, team_id=north.id, name="centrum", camera_ids=["cam-n"], actor="test")
        add_area(db, team_id=south.id, name="haven", camera_ids=["cam-s"], actor="test")
        for name in ("olga", "otto"):
            add_member(db, team_id=north.id, username=name, actor="test")
        add_member(db, team_id=south.id, username="sven", actor="test")
        incident = add_incident(db, "cam-n", zone="plein")
        db.commit()
    return {"people": people, "incident": incident}


# steps → status code of each step, and the incident's state afterwards
STATE_TABLE: list[tuple[list[tuple[str, dict[str, Any] | None]], list[int], str]] = [
    ([("claim", None)], [200], "claimed"),
    ([("arrive", None)], [409], "open"),
    ([("outcome", NOBODY)], [409], "open"),
    ([("claim", None), ("claim", None)], [200, 409], "claimed"),
    ([("claim", None), ("arrive", None), ("outcome", NOBODY)], [200, 200, 200], "closed"),
    ([("claim", None), ("outcome", NOBODY)], [200, 200], "closed"),
    ([("claim", None), ("outcome", NOBODY), ("arrive", None)], [200, 200, 409], "closed"),
    ([("claim", None), ("outcome", NOBODY), ("outcome", NOBODY)], [200, 200, 409], "closed"),
    ([("claim", None), ("arrive", None), ("arrive", None)], [200, 200, 409], "arrived"),
]


def _fresh_incident(factory: sessionmaker[Session]) -> uuid.UUID:
    with factory() as db:
        incident: uuid.UUID = add_incident(db, "cam-n", zone="plein")
        db.commit()
        return incident


def test_state_machine(
    https_client: Callable[[], TestClient], session_factory: sessionmaker[Session], scene: dict[str, Any]
) -> None:
    client = https_client()
    olga = scene["people"]["olga"].headers
    for steps, expected_codes, final_state in STATE_TABLE:
        incident = _fresh_incident(session_factory)
        codes = [
            client.post(f"/api/v1/incidents/{incident}/{step}", json=body, headers=olga).status_code
            for step, body in steps
        ]
        assert codes == expected_codes, steps
        with session_factory() as db:
            row = db.get(Incident, incident)
            assert row is not None and row.state == final_state, steps
            if final_state == "closed":
                assert row.close_reason == "outcome" and row.closed_at is not None
                claim = db.get(IncidentClaim, incident)
                assert claim is not None and claim.finished_at is not None
            # Close any claim left open, so the next case is not affected by this one.
            leftover = db.get(IncidentClaim, incident)
            if leftover is not None and leftover.finished_at is None:
                leftover.finished_at = row.updated_at
                db.commit()


# steps taken by olga → (claimed_by, claimed_at set, arrived_at set) in the incident as the API shows it
CLAIM_VIEW_TABLE: list[tuple[list[str], tuple[str | None, bool, bool]]] = [
    ([], (None, False, False)),
    (["claim"], ("olga", True, False)),
    (["claim", "arrive"], ("olga", True, True)),
]


@pytest.mark.parametrize(("steps", "expected"), CLAIM_VIEW_TABLE)
def test_incident_shows_who_claimed_it_and_when(
    https_client: Callable[[], TestClient],
    scene: dict[str, Any],
    steps: list[str],
    expected: tuple[str | None, bool, bool],
) -> None:
    client = https_client()
    olga = scene["people"]["olga"].headers
    url = f"/api/v1/incidents/{scene['incident']}"
    before = datetime.now(UTC)
    for step in steps:
        assert client.post(f"{url}/{step}", headers=olga).status_code == 200
    one = client.get(url, headers=olga).json()
    listed = [item for item in client.get("/api/v1/incidents", headers=olga).json()["items"] if item["id"] == one["id"]]
    assert listed == [one]
    claimed_by, claimed, arrived = expected
    assert one["claimed_by"] == claimed_by
    for field, present in (("claimed_at", claimed), ("arrived_at", arrived)):
        assert (one[field] is not None) == present, field
        if present:
            assert datetime.fromisoformat(one[field]) >= before - timedelta(seconds=1)


def test_ownership_and_scope(
    https_client: Callable[[], TestClient], session_factory: sessionmaker[Session], scene: dict[str, Any]
) -> None:
    client = https_client()
    people = scene["people"]
    url = f"/api/v1/incidents/{scene['incident']}"
    # Sven's team does not cover cam-n: the incident does not exist for him.
    assert client.post(f"{url}/claim", headers=people["sven"].headers).status_code == 404
    assert client.post(f"{url}/claim", headers=people["olga"].headers).status_code == 200
    # Otto is in the right team but did not claim it.
    assert client.post(f"{url}/arrive", headers=people["otto"].headers).status_code == 409
    # A coordinator may close an incident an officer left open.
    done = client.post(f"{url}/outcome", json={"outcome": "not_handled"}, headers=people["coco"].headers)
    assert done.status_code == 200 and done.json()["state"] == "closed"
    with session_factory() as db:
        actions = list(db.scalars(select(AuditEntry.action).where(AuditEntry.target_id == str(scene["incident"]))))
    assert actions == ["incident.claim", "incident.close"]


# outcome body → status code
OUTCOME_TABLE: list[tuple[dict[str, Any], int]] = [
    ({"outcome": "confirmed_use"}, 200),
    ({"outcome": "false_alarm", "category": "drink"}, 200),
    ({"outcome": "false_alarm"}, 422),
    ({"outcome": "nobody_there", "category": "phone"}, 422),
    ({"outcome": "false_alarm", "category": "umbrella"}, 422),
    # No free text at all: a remark with personal data, or even an empty one, is an extra field (issue 18.8).
    ({"outcome": "confirmed_use", "remark": "Jan Jansen, Dorpsstraat 1, 06-12345678, kenteken 12-ABC-3"}, 422),
    ({"outcome": "confirmed_use", "remark": ""}, 422),
    ({"outcome": "false_alarm", "category": "drink", "remark": "blikje"}, 422),
    ({"outcome": "confirmed_use", "image": "data:image/jpeg;base64,AAAA"}, 422),
]


def test_outcome_validation(
    https_client: Callable[[], TestClient], session_factory: sessionmaker[Session], scene: dict[str, Any]
) -> None:
    client = https_client()
    olga = scene["people"]["olga"].headers
    for body, expected in OUTCOME_TABLE:
        incident = _fresh_incident(session_factory)
        url = f"/api/v1/incidents/{incident}"
        assert client.post(f"{url}/claim", headers=olga).status_code == 200
        assert client.post(f"{url}/outcome", json=body, headers=olga).status_code == expected, body
        with session_factory() as db:
            stored = db.scalar(select(IncidentOutcome).where(IncidentOutcome.incident_id == incident))
            if expected == 200:
                assert stored is not None and stored.outcome == body["outcome"], body
                assert stored.category == body.get("category") and stored.model_version == "1.0"
            else:
                assert stored is None, body
                # Release the claim, so dispatch state does not leak into the next case.
                claim = db.get(IncidentClaim, incident)
                assert claim is not None
                db.delete(claim)
                db.commit()


def test_outcome_categories_are_structured_only(https_client: Callable[[], TestClient], scene: dict[str, Any]) -> None:
    body = https_client().get("/api/v1/outcome-categories", headers=scene["people"]["olga"].headers).json()
    assert body["outcomes"] == ["confirmed_use", "nobody_there", "false_alarm", "not_handled"]
    assert "beach_bucket" in body["false_alarm_categories"]
    assert set(body) == {"outcomes", "false_alarm_categories"}, "no remark limit or warning: there is no remark"


def test_no_outcome_column_can_hold_free_text(session_factory: sessionmaker[Session]) -> None:
    """The stored outcome is categories only: no text column beyond the short, fixed vocabularies."""
    with session_factory() as db:
        columns = {column["name"]: column for column in inspect(db.get_bind()).get_columns("people_incident_outcomes")}
    assert "remark" not in columns
    for name, column in columns.items():
        if isinstance(column["type"], String):
            assert column["type"].length is not None and column["type"].length <= 64, name


def test_a_paged_team_sees_the_camera_it_was_sent_to(
    https_client: Callable[[], TestClient], session_factory: sessionmaker[Session], scene: dict[str, Any]
) -> None:
    """A route or an escalation may send team south to cam-n, outside its areas: sven must be able to act."""
    client = https_client()
    url = f"/api/v1/incidents/{scene['incident']}"
    sven = scene["people"]["sven"].headers
    assert client.post(f"{url}/claim", headers=sven).status_code == 404
    with session_factory() as db:
        south = db.scalar(select(Team.id).where(Team.name == "south"))
        db.add(
            Page(
                incident_id=scene["incident"],
                camera_id="cam-n",
                zone="plein",
                team_id=south,
                level=1,
                paged_at=datetime.now(UTC),
                recipients=1,
            )
        )
        db.commit()
    assert client.post(f"{url}/claim", headers=sven).status_code == 200
