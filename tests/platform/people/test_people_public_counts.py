"""The public transparency counts are no tip-off: an alert or an outcome right now changes nothing anyone can
see; completed weeks appear 24 h after they end, with 1 to 4 shown as "<5" and never worked out from the
total. The IAMA summary link on the public page is a path on the site or an https URL, nothing else."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from people_helpers import PeopleUser, add_camera, add_incident  # type: ignore[import-not-found, unused-ignore]
from sqlalchemy.orm import Session, sessionmaker

from nitroplatform.auth.deps import Role
from nitroplatform.db.models import Camera
from nitroplatform.people.dispatch_models import IncidentOutcome
from nitroplatform.people.record_models import CameraTransparency, WeeklyAggregate
from nitroplatform.people.transparency import SMALL, public_cameras, publish_week, published_weeks

# Monday 2026-11-16 00:00 UTC starts ISO week 2026-W47; it ends Monday 2026-11-23 00:00 UTC.
WEEK_START = datetime(2026, 11, 16, tzinfo=UTC)
WEEK_END = WEEK_START + timedelta(weeks=1)


def _snapshot(client: TestClient) -> tuple[Any, str]:
    cameras = client.get("/api/v1/public/cameras")
    page = client.get("/transparency")
    assert cameras.status_code == 200 and page.status_code == 200
    # The page names the minute it was generated; everything else must stay byte for byte the same.
    return cameras.json(), re.sub(r"Bijgewerkt / Updated: [^.]*\.", "", page.text)


def test_an_alert_and_an_outcome_right_now_change_nothing_public(
    https_client: Callable[[], TestClient], session_factory: sessionmaker[Session], make_user: Callable[..., PeopleUser]
) -> None:
    coordinator = make_user("coco", Role.coordinator)
    now = datetime.now(UTC)
    with session_factory() as db:
        add_camera(db, "cam-1")
        camera = db.get(Camera, "cam-1")
        assert camera is not None
        camera.last_heartbeat_at, camera.last_state = now, "active"
        # Some history that is public already, so the page is not simply empty.
        for _ in range(6):
            add_incident(db, "cam-1", opened_at=now - timedelta(weeks=3))
        db.commit()
    anonymous = https_client()
    before = _snapshot(anonymous)
    assert before[0][0]["looking_now"] is True and before[0][0]["weekly_counts"][0]["total"] == 6
    with session_factory() as db:
        incident = add_incident(db, "cam-1", opened_at=now)  # the alert, as the ingest stores it
        db.commit()
    assert _snapshot(anonymous) == before, "an alert right now shows on the public page"
    staff = https_client()
    url = f"/api/v1/incidents/{incident}"
    assert staff.post(f"{url}/claim", headers=coordinator.headers).status_code == 200
    outcome = {"outcome": "confirmed_use"}
    assert staff.post(f"{url}/outcome", json=outcome, headers=coordinator.headers).status_code == 200
    assert _snapshot(anonymous) == before, "an outcome right now shows on the public page"


# now → the newest week published (its Monday)
PUBLICATION_TABLE: list[tuple[datetime, datetime]] = [
    (WEEK_END - timedelta(microseconds=1), WEEK_START - timedelta(weeks=1)),  # the week is not over
    (WEEK_END, WEEK_START - timedelta(weeks=1)),  # over, but not a day ago
    (WEEK_END + timedelta(hours=23, minutes=59, seconds=59), WEEK_START - timedelta(weeks=1)),
    (WEEK_END + timedelta(hours=24), WEEK_START),
    (WEEK_END + timedelta(days=6, hours=23), WEEK_START),
]


@pytest.mark.parametrize(("now", "newest"), PUBLICATION_TABLE)
def test_a_week_is_published_24_hours_after_it_ends(now: datetime, newest: datetime) -> None:
    weeks = published_weeks(now)
    assert weeks[0] == newest and len(weeks) == 8
    assert weeks == sorted(weeks, reverse=True) and all(monday.weekday() == 0 for monday in weeks)


# counts per outcome → (total shown, cells shown)
CELL_TABLE: list[tuple[dict[str, int], Any, dict[str, Any]]] = [
    ({"none": 1}, SMALL, {}),
    ({"none": 2, "confirmed_use": 2}, SMALL, {}),
    ({"none": 5}, 5, {"none": 5}),
    ({"none": 12, "false_alarm": 7}, 19, {"false_alarm": 7, "none": 12}),
    ({"none": 6, "confirmed_use": 3}, "7-10", {"confirmed_use": SMALL, "none": 6}),
    ({"none": 3, "confirmed_use": 3}, "5-8", {"confirmed_use": SMALL, "none": SMALL}),
    (
        {"none": 9, "confirmed_use": 1, "not_handled": 4},
        "11-17",
        {"confirmed_use": SMALL, "none": 9, "not_handled": SMALL},
    ),
]


@pytest.mark.parametrize(("counts", "total", "cells"), CELL_TABLE)
def test_small_cells_are_shown_as_less_than_five(counts: dict[str, int], total: Any, cells: dict[str, Any]) -> None:
    week = publish_week(2026, 47, Counter(counts))
    assert (week.total, week.by_outcome) == (total, cells)


def _consistent(shown_total: Any, cells: dict[str, Any], candidate: dict[str, int]) -> bool:
    """Whether ``candidate`` counts would have been published exactly as ``shown_total`` and ``cells``."""
    week = publish_week(2026, 47, Counter(candidate))
    return (week.total, week.by_outcome) == (shown_total, cells)


OUTCOMES = ("confirmed_use", "nobody_there", "false_alarm", "not_handled", "none")


@given(st.dictionaries(st.sampled_from(OUTCOMES), st.integers(min_value=1, max_value=12), min_size=1))
def test_no_small_cell_can_be_worked_out_from_what_is_published(counts: dict[str, int]) -> None:
    """For every published week, each hidden cell still has at least two values it could have had."""
    week = publish_week(2026, 47, Counter(counts))
    for value in [week.total, *week.by_outcome.values()]:
        assert not (isinstance(value, int) and 0 < value < 5), "a number from 1 to 4 was published"
    hidden = [outcome for outcome, count in counts.items() if count < 5]
    if not hidden:
        return
    visible = {outcome: count for outcome, count in counts.items() if count >= 5}
    for outcome in hidden:
        possible = set()
        for values in itertools.product(range(1, 5), repeat=len(hidden)):
            candidate = {**visible, **dict(zip(hidden, values, strict=True))}
            if _consistent(week.total, week.by_outcome, candidate):
                possible.add(candidate[outcome])
        assert len(possible) >= 2, f"{outcome}={counts[outcome]} follows from {week}"


def _outcome(db: Session, incident_id: Any, outcome: str) -> None:
    db.add(IncidentOutcome(incident_id=incident_id, camera_id="cam-1", outcome=outcome, recorded_at=WEEK_START))


def test_completed_weeks_appear_a_day_after_they_end_with_small_cells_hidden(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as db:
        add_camera(db, "cam-1")
        for number in range(9):  # week 47: 3 confirmed uses, 6 without an outcome
            incident = add_incident(db, "cam-1", opened_at=WEEK_START + timedelta(days=6, hours=23, minutes=number))
            if number < 3:
                _outcome(db, incident, "confirmed_use")
        for _ in range(2):  # week 46: 2 without an outcome
            add_incident(db, "cam-1", opened_at=WEEK_START - timedelta(days=3))
        # week 44 after retention: only the aggregate is left
        db.add(WeeklyAggregate(camera_id="cam-1", iso_year=2026, iso_week=44, outcome="false_alarm", count=7))
        db.commit()
        too_early = public_cameras(db, now=WEEK_END + timedelta(hours=23), offline_after_s=60)
        published = public_cameras(db, now=WEEK_END + timedelta(hours=24), offline_after_s=60)
    assert [(week.iso_week, week.total) for week in too_early[0].weekly_counts] == [(46, SMALL), (44, 7)]
    weeks = {week.iso_week: week for week in published[0].weekly_counts}
    assert sorted(weeks) == [44, 46, 47]
    assert (weeks[47].total, weeks[47].by_outcome) == ("7-10", {"confirmed_use": SMALL, "none": 6})
    assert (weeks[46].total, weeks[46].by_outcome) == (SMALL, {})
    assert (weeks[44].total, weeks[44].by_outcome) == (7, {"false_alarm": 7})


# iama_summary_url → accepted by the API
URL_TABLE: list[tuple[str, bool]] = [
    ("", True),
    ("/iama/public/centrum", True),
    ("https://www.voorbeeld.nl/iama/centrum.pdf", True),
    ("//evil.example/phish", False),
    ("/\\evil.example/phish", False),
    ("/\\/evil.example", False),
    ("http://www.voorbeeld.nl/iama", False),
    ("javascript:alert(1)", False),
    ("JavaScript:alert(1)", False),
    ("data:text/html,<script>alert(1)</script>", False),
    ("https://www.voorbeeld.nl@evil.example/", False),
    ("https:evil.example", False),
    ("https:///evil.example", False),
    ("https://www.voorbeeld.nl/a b", False),
    ("/iama/\tpublic", False),
    ("iama/public/centrum", False),
]


@pytest.mark.parametrize(("url", "accepted"), URL_TABLE)
def test_the_iama_summary_link_is_a_path_on_the_site_or_https(
    https_client: Callable[[], TestClient],
    session_factory: sessionmaker[Session],
    make_user: Callable[..., PeopleUser],
    url: str,
    accepted: bool,
) -> None:
    with session_factory() as db:
        add_camera(db, "cam-1")
        db.commit()
    privacy = make_user("pim", Role.privacy_officer)
    client = https_client()
    response = client.put("/api/v1/transparency/cameras/cam-1", json={"iama_summary_url": url}, headers=privacy.headers)
    assert response.status_code == (200 if accepted else 422), response.text
    # Whatever is in the database (say, stored before this check existed), the public page shows only safe links.
    with session_factory() as db:
        row = db.get(CameraTransparency, "cam-1") or CameraTransparency(camera_id="cam-1")
        row.iama_summary_url = url
        db.merge(row)
        db.commit()
    shown = client.get("/api/v1/public/cameras").json()[0]["iama_summary_url"]
    page = client.get("/transparency").text
    assert shown == (url or None if accepted else None)
    if not accepted:
        assert "evil.example" not in page and "javascript:" not in page.lower() and 'href="data:' not in page
