"""Scoping: officers list only the silences of cameras they may see, and only the author, the record's author
or a reviewer may resolve an IAMA comment. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from people_helpers import PeopleUser, add_camera  # type: ignore[import-not-found, unused-ignore]
from sqlalchemy.orm import Session, sessionmaker

from iama.storage.models import Comment
from nitroplatform.auth.deps import Role
from nitroplatform.people.dispatch_models import Silence
from nitroplatform.people.service import add_area, add_member, create_team

UNTIL = datetime.now(UTC) + timedelta(days=1)

# silence (camera, zone, reason) → listed for olga, whose team covers cam-north (zone plein)
SILENCES: list[tuple[str | None, str | None, str, bool]] = [
    ("cam-north", None, "werkzaamheden op het plein", True),
    ("cam-north", "plein", "markt", True),
    (None, "plein", "kermis op het plein", True),
    ("cam-south", None, "Jan de Vries (haven 12) filmt terug; overleg met zijn advocaat", False),
    (None, "haven", "undercover-inzet in de haven", False),
    ("cam-south", "plein", "another team's camera, whatever the zone", False),
]


@pytest.fixture
def teams(session_factory: sessionmaker[Session], make_user: Callable[..., PeopleUser]) -> dict[str, PeopleUser]:
    """olga in team north (cam-north), sven in team south (cam-south), and readers of every other role."""
    people = {
        "olga": make_user("olga", Role.officer),
        "sven": make_user("sven", Role.officer),
        "lone": make_user("lone", Role.officer),  # in no team
        "coco": make_user("coco", Role.coordinator),
        "aud": make_user("aud", Role.auditor),
        "ada": make_user("ada", Role.admin),
    }
    with session_factory() as db:
        add_camera(db, "cam-north", zones=("plein",))
        add_camera(db, "cam-south", zones=("haven",))
        for team_name, officer, camera in (("north", "olga", "cam-north"), ("south", "sven", "cam-south")):
            team = create_team(db, name=team_name, actor="test")
            add_member(db, team_id=team.id, username=officer, actor="test")
            add_area(db, team_id=team.id, name=team_name, camera_ids=[camera], actor="test")
        for camera_id, zone, reason, _ in SILENCES:
            db.add(
                Silence(
                    camera_id=camera_id,
                    zone=zone,
                    starts_at=datetime.now(UTC),
                    ends_at=UNTIL,
                    created_by="coco",
                    comment=reason,
                )
            )
        db.commit()
    return people


def test_officers_list_only_the_silences_of_their_cameras(
    https_client: Callable[[], TestClient], teams: dict[str, PeopleUser]
) -> None:
    client = https_client()

    def reasons(name: str) -> set[str]:
        response = client.get("/api/v1/silences", headers=teams[name].headers)
        assert response.status_code == 200, response.text
        return {item["comment"] for item in response.json()}

    everything = {reason for *_, reason, _ in SILENCES}
    assert reasons("olga") == {reason for *_, reason, listed in SILENCES if listed}
    assert reasons("sven") == {SILENCES[3][2], SILENCES[4][2], SILENCES[5][2]}
    assert reasons("lone") == set(), "an officer in no team sees no silence"
    for reader in ("coco", "aud", "ada"):
        assert reasons(reader) == everything, reader


# who resolves whose comment → status (the record's author is pim, a privacy officer)
RESOLVE_TABLE: list[tuple[str, str, int]] = [
    ("aud", "aud", 204),  # one's own comment
    ("coco", "coco", 204),
    ("aud", "coco", 403),  # any reader may not close someone else's point
    ("coco", "aud", 403),
    ("coco", "pim", 403),
    ("aud2", "aud", 403),
    ("pim", "aud", 204),  # a reviewer may
    ("ada", "coco", 204),
]


def test_only_the_author_the_record_author_or_a_reviewer_resolves_a_comment(
    https_client: Callable[[], TestClient],
    session_factory: sessionmaker[Session],
    make_user: Callable[..., PeopleUser],
) -> None:
    people = {
        "pim": make_user("pim", Role.privacy_officer),
        "ada": make_user("ada", Role.admin),
        "aud": make_user("aud", Role.auditor),
        "aud2": make_user("aud2", Role.auditor),
        "coco": make_user("coco", Role.coordinator),
    }
    client = https_client()
    created = client.post("/api/v1/iama/example", headers=people["pim"].headers)
    assert created.status_code in (200, 201), created.text
    record_id = created.json()["id"]
    for resolver, author, expected in RESOLVE_TABLE:
        posted = client.post(
            f"/api/v1/iama/records/{record_id}/comments",
            json={"body": "Graag aanvullen."},
            headers=people[author].headers,
        )
        assert posted.status_code == 201, posted.text
        comment_id = posted.json()["id"]
        response = client.post(f"/api/v1/iama/comments/{comment_id}/resolve", headers=people[resolver].headers)
        assert response.status_code == expected, (resolver, author, response.text)
        with session_factory() as db:
            comment = db.get(Comment, comment_id)
            assert comment is not None
            assert comment.resolved_by == (resolver if expected == 204 else None), (resolver, author)
