"""The officer flow in a real browser: login, an incident arriving live, claim, arrive, outcome."""

from __future__ import annotations

import time
import uuid

import pytest
from browser_support import LivePlatform, login, screenshot  # type: ignore[import-not-found, unused-ignore]
from playwright.sync_api import Page, expect

from nitroplatform.auth.deps import Role

pytestmark = pytest.mark.browser


def _officer_on_boulevard(platform: LivePlatform) -> str:
    platform.add_demo_cameras()
    team = platform.add_team(
        "Team Boulevard", cameras=["boulevard-noord", "boulevard-midden", "boulevard-zuid"], area="Boulevard"
    )
    return str(platform.add_user("boa.jansen", roles=[Role.officer], team_id=team, display_name="BOA Jansen"))


def test_login_then_incident_arrives_live(platform: LivePlatform, page: Page) -> None:
    officer = _officer_on_boulevard(platform)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    login(page, officer)
    expect(page.locator("h1")).to_have_text("Open meldingen")
    expect(page.locator("#no-incidents")).to_be_visible()

    device_incident = platform.send_alert("boulevard-noord", confidence=0.91, people_involved="2-4")
    incident_id = platform.incident_id_for(device_incident)
    item = page.locator(f'[data-incident-id="{incident_id}"]')
    expect(item).to_be_visible(timeout=5000)
    expect(item).to_contain_text("trap-pier")
    expect(item).to_contain_text("91%")
    expect(item).to_contain_text("Boulevard noord")
    # It came over the live stream (SSE), not from a reload or a reconnect.
    assert page.evaluate("window.nitrosignal.streamState") == "open"
    assert page.evaluate("window.nitrosignal.live.reconnects") == 0
    assert page.evaluate("window.nitrosignal.live.lastEventId") != ""
    # An update of the same event changes the card in place; an end of the event takes it off the list.
    platform.send_alert("boulevard-noord", incident_id=device_incident, phase="update", confidence=0.95)
    expect(item).to_contain_text("95%")
    expect(page.locator(".incident-item")).to_have_count(1)
    screenshot(page, "01-incidents-live")
    platform.send_alert("boulevard-noord", incident_id=device_incident, phase="end", confidence=0.95)
    expect(item).to_have_count(0)
    expect(page.locator("#no-incidents")).to_be_visible()
    # Nothing was fetched from anywhere but the platform itself: no CDN, fonts or map tiles.
    assert requested and all(url.startswith(platform.base_url) for url in requested), requested


CLICK_COUNTER = """
window.__taps = 0;
// A tap is one pointer press; a click on a label also "clicks" its radio, which is not a second tap.
document.addEventListener("pointerdown", (event) => { if (event.isTrusted) window.__taps += 1; }, true);
"""


def test_notification_to_recorded_outcome_in_four_taps(platform: LivePlatform, page: Page) -> None:
    """A new officer: notification tap → login → claim → arrived → outcome, under 30 s and at most 4 taps."""
    from sqlalchemy import select

    from nitroplatform.people.dispatch_models import IncidentOutcome

    officer = _officer_on_boulevard(platform)
    device_incident = platform.send_alert("boulevard-midden", confidence=0.78, people_involved="1")
    incident_id = platform.incident_id_for(device_incident)
    page.context.add_init_script(CLICK_COUNTER)

    started = time.monotonic()
    # The service worker opens this URL when the notification is tapped (sw.js openIncident).
    page.goto(f"/app/incidents/{incident_id}")
    expect(page.locator("h1")).to_have_text("Inloggen")
    page.locator("#username").fill(officer)
    page.locator("#password").fill("correct horse battery staple")
    page.locator("#password").press("Enter")
    expect(page.locator("h1")).to_have_text("strandopgang")
    expect(page).to_have_url(f"{platform.base_url}/app/incidents/{incident_id}")
    screenshot(page, "02-incident-detail")
    page.locator("#location").scroll_into_view_if_needed()
    screenshot(page, "02b-incident-location")

    page.get_by_role("button", name="Ik pak deze op").click()  # tap 1
    expect(page.locator(".incident-headline")).to_contain_text("Opgepakt")
    page.get_by_role("button", name="Ik ben ter plaatse").click()  # tap 2
    expect(page.locator(".incident-headline")).to_contain_text("Ter plaatse")
    expect(page.locator("#outcome-form textarea, #outcome-form input[type=text]")).to_have_count(0)
    screenshot(page, "03-outcome-form")
    page.get_by_label("Niemand (meer) aanwezig").click()  # tap 3
    page.get_by_role("button", name="Afhandeling opslaan").click()  # tap 4
    expect(page.locator(".incident-headline")).to_contain_text("Gesloten")
    elapsed = time.monotonic() - started
    taps = page.evaluate("window.__taps")
    expect(page.locator("#outcome-summary")).to_contain_text("Niemand (meer) aanwezig")
    screenshot(page, "04-outcome-recorded")

    assert taps <= 4, f"{taps} taps after the notification"
    assert elapsed < 30, f"login to recorded outcome took {elapsed:.1f} s"
    with platform.factory() as session:
        recorded = session.scalar(select(IncidentOutcome).where(IncidentOutcome.incident_id == uuid.UUID(incident_id)))
    assert recorded is not None and recorded.outcome == "nobody_there"


def test_false_alarm_with_lookalike_category(platform: LivePlatform, page: Page) -> None:
    from sqlalchemy import select

    from nitroplatform.people.dispatch_models import IncidentOutcome

    officer = _officer_on_boulevard(platform)
    incident_id = platform.incident_id_for(platform.send_alert("boulevard-zuid", confidence=0.64))
    login(page, officer, f"/app/incidents/{incident_id}")
    page.get_by_role("button", name="Ik pak deze op").click()
    page.get_by_role("button", name="Ik ben ter plaatse").click()
    page.get_by_label("Vals alarm: iets anders").click()
    expect(page.locator("#category-fieldset")).to_be_visible()
    # Saving without a category is refused in the form, before anything is sent.
    page.get_by_role("button", name="Afhandeling opslaan").click()
    expect(page.locator("#outcome-form .error-text")).to_have_text("Kies wat het wel was.")
    page.get_by_label("Drankje").click()
    page.get_by_role("button", name="Afhandeling opslaan").click()
    expect(page.locator(".incident-headline")).to_contain_text("Gesloten")
    with platform.factory() as session:
        recorded = session.scalar(select(IncidentOutcome).where(IncidentOutcome.incident_id == uuid.UUID(incident_id)))
    assert recorded is not None
    assert (recorded.outcome, recorded.category) == ("false_alarm", "drink")


def test_claim_from_notification_action(platform: LivePlatform, page: Page) -> None:
    """The notification's "claim" action opens the incident with ?claim=1 and the page claims it."""
    officer = _officer_on_boulevard(platform)
    incident_id = platform.incident_id_for(platform.send_alert("boulevard-noord"))
    login(page, officer)
    page.goto(f"/app/incidents/{incident_id}?claim=1")
    expect(page.locator(".incident-headline")).to_contain_text("Opgepakt")
    expect(page).to_have_url(f"{platform.base_url}/app/incidents/{incident_id}")
    expect(page.get_by_role("button", name="Ik ben ter plaatse")).to_be_visible()


def test_claim_by_a_colleague_shows_up_live(platform: LivePlatform, page: Page) -> None:
    """Two officers of one team: when one claims, the other's screen updates and cannot claim any more."""
    officer = _officer_on_boulevard(platform)
    colleague = platform.add_user("boa.visser", roles=[Role.officer], team_id=1)
    incident_id = platform.incident_id_for(platform.send_alert("boulevard-noord"))
    login(page, officer, f"/app/incidents/{incident_id}")
    expect(page.get_by_role("button", name="Ik pak deze op")).to_be_visible()
    platform.handle(platform.officer_client(colleague), incident_id, until="claim")
    expect(page.locator(".incident-headline")).to_contain_text("Opgepakt")
    expect(page.get_by_role("button", name="Ik pak deze op")).to_have_count(0)
    expect(page.locator("#incident-details")).to_contain_text("Opgepakt door")
    expect(page.locator("#incident-details")).to_contain_text("boa.visser")
    # Recording arrival on a colleague's incident is refused by the platform (409), and the app says why.
    page.get_by_role("button", name="Ik ben ter plaatse").click()
    expect(page.locator("#toast")).to_contain_text("Iemand anders heeft deze melding al opgepakt")


def test_deactivation_elsewhere_takes_the_app_back_to_login(platform: LivePlatform, page: Page) -> None:
    """The stream ends with ``event: end`` when the officer's access ends; the app stops it and shows the login."""
    from nitroplatform.people import service as people

    officer = _officer_on_boulevard(platform)
    login(page, officer)
    expect(page.locator("h1")).to_have_text("Open meldingen")
    page.wait_for_function("window.nitrosignal.streamState === 'open'")
    with platform.factory() as session:
        people.set_active(session, username=officer, active=False, actor="test")
        session.commit()
    expect(page.locator("h1")).to_have_text("Inloggen", timeout=5000)
    assert page.evaluate("window.nitrosignal.live") is None, "the stream is stopped, not retried"
