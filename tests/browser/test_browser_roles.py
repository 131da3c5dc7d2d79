"""Screens for coordinators, privacy officers and ML engineers, on data produced through the platform."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from browser_support import SITE, LivePlatform, accessibility_report, login, screenshot  # type: ignore[import-not-found, unused-ignore]
from playwright.sync_api import Page, expect

from nitroplatform.auth.deps import Role
from nitroplatform.routing.config_service import create_route, create_silence
from nitroplatform.routing.schemas import RouteIn, SilenceIn

pytestmark = pytest.mark.browser


def _boulevard(platform: LivePlatform) -> dict[str, int]:
    """Cameras with heartbeats in every status, two teams with shifts, a route and a silence."""
    platform.add_demo_cameras()
    platform.add_camera("pier-kop", name="Pier kop", site=SITE, latitude=52.11802, longitude=4.28512, zones=["pier"])
    platform.send_heartbeat("boulevard-noord", state="active")
    platform.send_heartbeat("boulevard-midden", state="degraded", reason="low_fps")
    platform.send_heartbeat("boulevard-zuid", state="inactive_schedule", reason="outside_schedule")
    platform.send_heartbeat("pier-kop", state="inactive_gated", reason="no_approved_iama")
    # haven-kade never sends a heartbeat: offline.
    teams = {
        "boulevard": platform.add_team(
            "Team Boulevard",
            cameras=["boulevard-noord", "boulevard-midden", "boulevard-zuid", "pier-kop"],
            area="Boulevard",
        ),
        "haven": platform.add_team("Team Haven", cameras=["haven-kade"], area="Haven"),
    }
    with platform.factory() as session:
        create_route(
            session,
            body=RouteIn(
                name="Boulevard avond", team_id=teams["boulevard"], zone="trap-pier", start="18:00", end="02:00"
            ),
            actor="coordinator",
        )
        create_route(
            session, body=RouteIn(name="Haven", team_id=teams["haven"], camera_id="haven-kade"), actor="coordinator"
        )
        create_silence(
            session,
            body=SilenceIn(
                camera_id="haven-kade",
                ends_at=datetime.now(UTC) + timedelta(hours=3),
                comment="Werkzaamheden aan de kade",
            ),
            actor="coordinator.devries",
        )
        session.commit()
    platform.add_user("boa.jansen", roles=[Role.officer], team_id=teams["boulevard"])
    return teams


def test_coordinator_overview_cameras_and_teams(platform: LivePlatform, page: Page) -> None:
    _boulevard(platform)
    platform.add_user("coordinator.devries", roles=[Role.coordinator])
    officer = platform.officer_client("boa.jansen")
    handled = platform.incident_id_for(platform.send_alert("boulevard-noord", confidence=0.93))
    platform.handle(officer, handled, outcome="confirmed_use")
    claimed = platform.incident_id_for(platform.send_alert("boulevard-midden", confidence=0.81))
    platform.handle(officer, claimed, until="claim")
    waiting = platform.incident_id_for(platform.send_alert("haven-kade", confidence=0.68))

    login(page, "coordinator.devries")
    page.get_by_role("link", name="Overzicht").click()
    expect(page.locator("h1")).to_have_text("Overzicht meldingen")
    expect(page.locator(f'#open-incidents [data-incident-id="{waiting}"]')).to_be_visible()
    expect(page.locator(f'#open-incidents [data-incident-id="{claimed}"]')).to_contain_text("Opgepakt")
    expect(page.locator(f'#recent-incidents [data-incident-id="{handled}"]')).to_contain_text("Gesloten")
    expect(page.locator("#stat-open")).to_have_text("2")
    screenshot(page, "10-coordinator-overview")
    assert accessibility_report(page)["untranslated"] == []

    page.get_by_role("link", name="Camera's").click()
    expect(page.locator("#camera-list li")).to_have_count(5)
    for camera_id, status in [
        ("boulevard-noord", "Actief"),
        ("boulevard-midden", "Verminderd"),
        ("boulevard-zuid", "Uit volgens rooster"),
        ("pier-kop", "Geblokkeerd"),
        ("haven-kade", "Offline"),
    ]:
        expect(page.locator(f'[data-camera-id="{camera_id}"]')).to_contain_text(status)
    expect(page.locator(".sketch .sketch-camera")).to_have_count(5)
    screenshot(page, "11-coordinator-cameras")
    report = accessibility_report(page)
    assert report["contrast"] == [] and report["labels"] == [] and report["untranslated"] == []

    page.get_by_role("link", name="Teams en routes").click()
    expect(page.locator("#team-list")).to_contain_text("Team Boulevard")
    expect(page.locator("#team-list")).to_contain_text("boa.jansen")
    expect(page.locator("#team-list")).to_contain_text("00:00–23:59")
    expect(page.locator("#route-list")).to_contain_text("Boulevard avond")
    expect(page.locator("#route-list")).to_contain_text("18:00–02:00")
    expect(page.locator("#silence-list")).to_contain_text("Werkzaamheden aan de kade")
    screenshot(page, "12-coordinator-teams")
    # A coordinator silences a camera for two hours, with a reason, and ends it again.
    page.get_by_label("Camera", exact=True).select_option("boulevard-zuid")
    page.get_by_label("Hoe lang").select_option("120")
    page.get_by_label("Reden").fill("Evenement op het Kurhausplein")
    page.locator("#silence-form").scroll_into_view_if_needed()
    screenshot(page, "12b-coordinator-silence")
    page.get_by_role("button", name="Stil zetten").click()
    silence = page.locator("#silence-list li", has_text="Evenement op het Kurhausplein")
    expect(silence).to_contain_text("boulevard-zuid")
    expect(silence).to_contain_text("coordinator.devries")
    silence.get_by_role("button", name="Stilte nu beëindigen").click()
    expect(page.locator("#silence-list li", has_text="Evenement op het Kurhausplein")).to_have_count(0)
    assert accessibility_report(page)["untranslated"] == []


def test_privacy_officer_sees_iama_entry_and_audit_log(platform: LivePlatform, page: Page) -> None:
    _boulevard(platform)
    platform.add_user("privacy.bakker", roles=[Role.privacy_officer, Role.auditor])
    officer = platform.officer_client("boa.jansen")
    incident = platform.incident_id_for(platform.send_alert("boulevard-noord"))
    platform.handle(officer, incident, outcome="nobody_there")

    login(page, "privacy.bakker")
    page.get_by_role("link", name="Privacy").click()
    expect(page.locator("#iama-link")).to_have_attribute("href", "/iama/")
    expect(page.locator("#audit-table")).to_contain_text("boa.jansen")
    expect(page.locator("#audit-table")).to_contain_text("auth.login")
    page.get_by_label("Zoeken in het auditlog").fill("incident.claim")
    expect(page.locator("#audit-table tbody tr")).to_have_count(1)
    expect(page.locator("#audit-table tbody tr")).to_contain_text("boa.jansen")
    page.get_by_label("Zoeken in het auditlog").fill("")
    page.evaluate("document.activeElement.blur()")
    screenshot(page, "13-privacy-audit")
    assert accessibility_report(page)["contrast"] == []


def test_ml_engineer_sees_field_precision_chart(platform: LivePlatform, page: Page) -> None:
    _boulevard(platform)
    platform.add_user("ml.smit", roles=[Role.ml_engineer])
    officer = platform.officer_client("boa.jansen")
    results = [
        ("boulevard-noord", {"outcome": "confirmed_use"}),
        ("boulevard-noord", {"outcome": "confirmed_use"}),
        ("boulevard-noord", {"outcome": "false_alarm", "category": "drink"}),
        ("boulevard-midden", {"outcome": "false_alarm", "category": "phone"}),
        ("boulevard-midden", {"outcome": "confirmed_use"}),
        ("boulevard-zuid", {"outcome": "nobody_there"}),
    ]
    for camera_id, outcome in results:
        platform.handle(officer, platform.incident_id_for(platform.send_alert(camera_id)), **outcome)

    login(page, "ml.smit")
    page.get_by_role("link", name="Precisie").click()
    expect(page.locator("#precision-chart")).to_be_visible()
    expect(page.locator("#precision-chart .chart-bar")).to_have_count(3)  # overall + two cameras with data
    expect(page.locator("#precision-table")).to_contain_text("boulevard-noord")
    expect(page.locator("#precision-chart")).to_contain_text("67%")  # 2 of 3 on boulevard-noord
    expect(page.locator("#precision-chart")).to_contain_text("60%")  # 3 of 5 for model 0.3.1
    screenshot(page, "14-ml-precision")
    report = accessibility_report(page)
    assert report["contrast"] == [], report["contrast"]
    assert report["untranslated"] == [], report["untranslated"]
