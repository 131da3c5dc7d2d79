"""The app around the flow: permission limits, the service worker, languages, dark mode, accessibility,
the offline banner and live reconnects without duplicates."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Literal

import pytest
from browser_support import PASSWORD, LivePlatform, accessibility_report, login, screenshot  # type: ignore[import-not-found, unused-ignore]
from playwright.sync_api import Page, Route, expect

from nitroplatform.auth.deps import Role
from nitroplatform.push.payload import incident_payload

I18N = Path(__file__).resolve().parents[2] / "platform" / "nitroplatform" / "web" / "i18n"


def _two_teams(platform: LivePlatform) -> tuple[str, str]:
    platform.add_demo_cameras()
    boulevard = platform.add_team("Team Boulevard", cameras=["boulevard-noord", "boulevard-midden"], area="Boulevard")
    haven = platform.add_team("Team Haven", cameras=["haven-kade"], area="Haven")
    return (
        str(platform.add_user("boa.jansen", roles=[Role.officer], team_id=boulevard)),
        str(platform.add_user("boa.dekker", roles=[Role.officer], team_id=haven)),
    )


def test_catalogs_have_the_same_keys_and_no_empty_strings() -> None:
    nl = json.loads((I18N / "nl.json").read_text(encoding="utf-8"))
    en = json.loads((I18N / "en.json").read_text(encoding="utf-8"))
    assert set(nl) == set(en), f"only in nl: {set(nl) - set(en)}; only in en: {set(en) - set(nl)}"
    assert all(value.strip() for value in [*nl.values(), *en.values()])


@pytest.mark.browser
def test_officer_cannot_see_another_teams_area(platform: LivePlatform, page: Page) -> None:
    officer, _ = _two_teams(platform)
    mine = platform.incident_id_for(platform.send_alert("boulevard-noord"))
    theirs = platform.incident_id_for(platform.send_alert("haven-kade"))
    login(page, officer)
    expect(page.locator(f'[data-incident-id="{mine}"]')).to_be_visible()
    expect(page.locator(f'[data-incident-id="{theirs}"]')).to_have_count(0)
    expect(page.locator("#incident-count")).to_have_text("1 open")
    # A deep link into the other team's area reveals nothing, not even whether the incident exists.
    page.goto(f"/app/incidents/{theirs}")
    expect(page.locator(".error-text")).to_contain_text("buiten jouw gebied")
    expect(page.get_by_text("vismarkt")).to_have_count(0)
    # Coordinator screens are not offered, and refused when typed in.
    expect(page.locator("#mainnav")).not_to_contain_text("Camera's")
    page.goto("/app/cameras")
    expect(page.locator("h1")).to_have_text("Geen toegang")
    # The other team's officer does see it, through the live stream after a new alert too.
    page.get_by_role("link", name="Instellingen").click()
    page.get_by_role("button", name="Uitloggen").click()
    expect(page.locator("h1")).to_have_text("Inloggen")
    page.goto("/app/")
    expect(page.locator("h1")).to_have_text("Inloggen")  # the session is really gone
    page.locator("#username").fill("boa.dekker")
    page.locator("#password").fill(PASSWORD)
    page.locator("#password").press("Enter")
    expect(page.locator(f'[data-incident-id="{theirs}"]')).to_be_visible()
    expect(page.locator(f'[data-incident-id="{mine}"]')).to_have_count(0)


@pytest.mark.browser
def test_service_worker_registers_and_replaces_notifications_by_tag(platform: LivePlatform, page: Page) -> None:
    officer, _ = _two_teams(platform)
    page.context.grant_permissions(["notifications"])
    login(page, officer)
    scope = page.evaluate("navigator.serviceWorker.ready.then((r) => r.scope)")
    assert scope == f"{platform.base_url}/"
    worker = (
        page.context.service_workers[0]
        if page.context.service_workers
        else page.context.wait_for_event("serviceworker")
    )
    assert worker.url == f"{platform.base_url}/sw.js"
    # The platform's own push payload (nitrosignal.push/1), as the push sender encrypts and sends it.
    incident = uuid.UUID("3f2c1a4e-8d7b-4c6a-9e5f-0a1b2c3d4e5f")
    payload = json.loads(
        incident_payload(
            incident_id=incident,
            state="open",
            camera_id="boulevard-noord",
            zone="trap-pier",
            people_involved="2-4",
            escalated=False,
        ).model_dump_json(by_alias=True)
    )
    built = worker.evaluate("(p) => self.notificationFor(p)", payload)
    assert built["options"]["tag"] == str(incident)
    assert [a["action"] for a in built["options"]["actions"]] == ["claim", "open"]
    assert [a["title"] for a in built["options"]["actions"]] == ["Oppakken", "Openen"]
    assert built["options"]["data"]["url"] == f"/app/incidents/{incident}"
    assert built["title"] == "Lachgas: trap-pier"
    assert built["options"]["body"] == "boulevard-noord · 2-4 pers."
    # A tap on the body or "open" opens the incident; "claim" opens it with ?claim=1 (the page claims).
    data = built["options"]["data"]
    target = "([d, a]) => self.notificationTarget(d, a)"
    assert worker.evaluate(target, [data, ""]) == f"{platform.base_url}/app/incidents/{incident}"
    assert worker.evaluate(target, [data, "open"]) == f"{platform.base_url}/app/incidents/{incident}"
    assert worker.evaluate(target, [data, "claim"]) == f"{platform.base_url}/app/incidents/{incident}?claim=1"
    # Two pushes for one incident leave one notification (replace by tag); a closed incident removes it.
    count = worker.evaluate(
        """async (p) => {
            await self.showIncident(p);
            await self.showIncident({...p, people_involved: "5+"});
            return (await self.registration.getNotifications({ tag: p.tag })).length;
        }""",
        payload,
    )
    assert count == 1
    count_after_close = worker.evaluate(
        """async (p) => {
            await self.showIncident({...p, state: "closed"});
            return (await self.registration.getNotifications({ tag: p.tag })).length;
        }""",
        payload,
    )
    assert count_after_close == 0
    # The settings screen offers push; the VAPID key comes from the platform.
    page.goto("/app/settings")
    expect(page.locator("#push-subscribe")).to_be_enabled()
    screenshot(page, "05-settings")
    assert accessibility_report(page)["untranslated"] == []
    key = page.evaluate("fetch('/api/v1/push/vapid-public-key').then((r) => r.json())")
    assert len(key["public_key"]) > 80
    sw_source = page.evaluate("fetch('/sw.js').then((r) => r.text())")
    assert sw_source.count("event.waitUntil(") >= 6  # install, activate, message, push, click, subscription change


@pytest.mark.browser
def test_language_switch_is_complete_and_remembered(platform: LivePlatform, page: Page) -> None:
    officer, _ = _two_teams(platform)
    incident = platform.incident_id_for(platform.send_alert("boulevard-noord"))
    login(page, officer)
    expect(page.locator("h1")).to_have_text("Open meldingen")
    assert page.evaluate("document.documentElement.lang") == "nl"
    page.locator("#lang-toggle").click()
    expect(page.locator("h1")).to_have_text("Open incidents")
    assert page.evaluate("document.documentElement.lang") == "en"
    expect(page.locator("#mainnav")).to_contain_text("Settings")
    page.reload()
    expect(page.locator("h1")).to_have_text("Open incidents")
    page.goto(f"/app/incidents/{incident}")
    expect(page.get_by_role("button", name="I'll take this")).to_be_visible()
    expect(page.locator("#location")).to_contain_text("Open in maps app")
    screenshot(page, "06-incident-english")
    # No Dutch catalog text remains visible in English (keys whose texts differ between the languages).
    nl = json.loads((I18N / "nl.json").read_text(encoding="utf-8"))
    en = json.loads((I18N / "en.json").read_text(encoding="utf-8"))
    body = page.locator("body").inner_text()
    leftovers = [nl[k] for k in nl if nl[k] != en[k] and len(nl[k]) > 6 and "{" not in nl[k] and nl[k] in body]
    assert not leftovers, leftovers
    # The service worker speaks the officer's language in notifications too.
    worker = page.context.service_workers[0]
    built = worker.evaluate("() => self.notificationFor({ incident_id: 'x', zone: 'trap-pier', camera_id: 'c' })")
    assert built["title"] == "Nitrous oxide: trap-pier"
    assert [a["title"] for a in built["options"]["actions"]] == ["Claim", "Open"]
    page.goto("/app/settings")
    page.get_by_label("Language").select_option("nl")
    expect(page.locator("h1")).to_have_text("Instellingen")


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_contrast_labels_and_targets_on_main_screens(
    platform: LivePlatform, page: Page, scheme: Literal["light", "dark"]
) -> None:
    officer, _ = _two_teams(platform)
    page.emulate_media(color_scheme=scheme)
    incident = platform.incident_id_for(platform.send_alert("boulevard-midden", confidence=0.72))
    page.goto("/app/")
    expect(page.locator("h1")).to_have_text("Inloggen")
    assert page.evaluate("document.documentElement.dataset.theme") == scheme
    screens = {"login": accessibility_report(page)}
    if scheme == "light":
        screenshot(page, "00-login")
    login(page, officer)
    expect(page.locator(f'[data-incident-id="{incident}"]')).to_be_visible()
    screens["list"] = accessibility_report(page)
    page.goto(f"/app/incidents/{incident}")
    page.get_by_role("button", name="Ik pak deze op").click()
    page.get_by_role("button", name="Ik ben ter plaatse").click()
    page.get_by_label("Vals alarm: iets anders").click()
    screens["outcome"] = accessibility_report(page)
    if scheme == "dark":
        screenshot(page, "07-outcome-dark")
    page.context.set_offline(True)
    expect(page.locator("#net-banner")).to_be_visible()
    screens["offline"] = accessibility_report(page)
    page.context.set_offline(False)
    for name, report in screens.items():
        assert report["contrast"] == [], f"{scheme} {name}: contrast below AA: {report['contrast']}"
        assert report["labels"] == [], f"{scheme} {name}: controls without an accessible name: {report['labels']}"
        assert report["small"] == [], f"{scheme} {name}: touch targets under 44 px: {report['small']}"
        assert report["untranslated"] == [], f"{scheme} {name}: untranslated text: {report['untranslated']}"


@pytest.mark.browser
def test_dark_mode_toggle_overrides_the_phone_setting(platform: LivePlatform, page: Page) -> None:
    officer, _ = _two_teams(platform)
    page.emulate_media(color_scheme="light")
    platform.send_alert("boulevard-midden", confidence=0.83, people_involved="5+")
    platform.send_alert("boulevard-noord", confidence=0.71, people_involved="1")
    login(page, officer)
    expect(page.locator(".incident-item")).to_have_count(2)
    background = "getComputedStyle(document.body).backgroundColor"
    assert page.evaluate(background) == "rgb(255, 255, 255)"
    toggle = page.locator("#theme-toggle")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    assert page.evaluate(background) == "rgb(13, 17, 23)"
    page.reload()
    expect(page.locator("#theme-toggle")).to_have_attribute("aria-pressed", "true")
    screenshot(page, "08-incidents-dark")


@pytest.mark.browser
def test_keyboard_only_login_and_claim(platform: LivePlatform, page: Page) -> None:
    officer, _ = _two_teams(platform)
    incident = platform.incident_id_for(platform.send_alert("boulevard-noord"))
    page.goto(f"/app/incidents/{incident}")
    expect(page.locator("#username")).to_be_focused()
    page.keyboard.type(officer)
    page.keyboard.press("Tab")
    expect(page.locator("#password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("trap-pier")
    # Tab from the page heading to the claim button: back link first, then the action.
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "claim":
            break
    expect(page.locator("#claim")).to_be_focused()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "the focused control must show a focus ring"
    page.keyboard.press("Enter")
    expect(page.locator(".incident-headline")).to_contain_text("Opgepakt")

    def tab_to(selector: str, limit: int = 8) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate("(s) => document.activeElement.matches(s)", selector):
                return
        raise AssertionError(f"Tab never reached {selector}")

    # The rest of the flow without a pointer: arrived, an outcome chosen with the arrow keys, saved.
    page.locator("h1").focus()
    tab_to("#arrive")
    page.keyboard.press("Enter")
    expect(page.locator(".incident-headline")).to_contain_text("Ter plaatse")
    page.locator("h1").focus()
    tab_to('input[name="outcome"]')
    page.keyboard.press("ArrowDown")  # from the first outcome to "nobody there"
    expect(page.get_by_label("Niemand (meer) aanwezig")).to_be_checked()
    tab_to("#save-outcome")
    page.keyboard.press("Enter")
    expect(page.locator(".incident-headline")).to_contain_text("Gesloten")


@pytest.mark.browser
def test_offline_banner_and_reconnect_without_duplicates(platform: LivePlatform, page: Page) -> None:
    officer, _ = _two_teams(platform)
    login(page, officer)
    expect(page.locator("#no-incidents")).to_be_visible()
    first = platform.send_alert("boulevard-noord", confidence=0.8)
    first_id = platform.incident_id_for(first)
    expect(page.locator(f'[data-incident-id="{first_id}"]')).to_have_count(1)

    page.context.set_offline(True)
    expect(page.locator("#net-banner")).to_contain_text("Geen verbinding")
    screenshot(page, "09-offline-banner")
    # While the phone is offline, the camera reports an update of the first event and a second event.
    platform.send_alert("boulevard-noord", incident_id=first, phase="update", confidence=0.9)
    second_id = platform.incident_id_for(platform.send_alert("boulevard-midden", confidence=0.75))
    page.context.set_offline(False)
    expect(page.locator(f'[data-incident-id="{second_id}"]')).to_have_count(1, timeout=15_000)
    expect(page.locator("#net-banner")).to_be_hidden(timeout=15_000)
    expect(page.locator(f'[data-incident-id="{first_id}"]')).to_have_count(1)
    expect(page.locator(f'[data-incident-id="{first_id}"]')).to_contain_text("90%")
    expect(page.locator(".incident-item")).to_have_count(2)
    # Replaying the same events again (a reconnect from an older id) changes nothing on screen.
    page.evaluate("window.nitrosignal.live.lastEventId = ''; window.nitrosignal.live.reconnectNow()")
    page.wait_for_timeout(800)
    expect(page.locator(".incident-item")).to_have_count(2)
    # Reloading without a network still opens the app from the service worker's copy, and says why.
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.context.set_offline(True)
    page.reload()
    expect(page.locator("#net-banner")).to_contain_text("Geen verbinding")
    expect(page.locator("main .error-text")).to_contain_text("Geen verbinding met het platform")
    page.context.set_offline(False)
    page.reload()
    expect(page.locator(".incident-item")).to_have_count(2)


def test_webapp_routes_serve_the_shell_safely(platform: LivePlatform) -> None:
    """Deep links get the shell with a strict CSP; no tile server by default; no path traversal."""
    import httpx

    with httpx.Client(base_url=platform.base_url, timeout=10) as client:
        shell = client.get("/app/incidents/4a1c7a52-0000-4000-8000-000000000000")
        assert shell.status_code == 200 and '<main id="main"' in shell.text
        csp = shell.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "img-src 'self' data:;" in csp
        assert client.get("/app/config.json").json()["tile_url"] is None
        worker = client.get("/sw.js")
        assert worker.headers["service-worker-allowed"] == "/"
        assert worker.headers["content-type"].startswith("text/javascript")
        assert client.get("/manifest.webmanifest").json()["start_url"] == "/app/"
        assert client.get("/static/app.css").status_code == 200
        for path in ("/static/../../api/routes/webapp.py", "/static/%2e%2e/%2e%2e/settings.py", "/i18n/de.json"):
            assert client.get(path).status_code == 404, path


@pytest.mark.browser
def test_configured_tile_server_is_used_only_when_set(
    platform: LivePlatform, page: Page, monkeypatch: pytest.MonkeyPatch
) -> None:
    officer, _ = _two_teams(platform)
    incident = platform.incident_id_for(platform.send_alert("boulevard-noord"))
    monkeypatch.setenv("NITROSIGNAL_MAP_TILE_URL", "https://tiles.example.test/{z}/{x}/{y}.png")
    tiles: list[str] = []

    def serve_tile(route: Route) -> None:
        tiles.append(route.request.url)
        route.fulfill(status=204)

    page.route("https://tiles.example.test/**", serve_tile)
    login(page, officer, f"/app/incidents/{incident}")
    expect(page.locator("#location .tile img")).to_have_attribute(
        "src", "https://tiles.example.test/17/67094/43227.png"
    )
    expect(page.locator("#geo-link")).to_have_attribute(
        "href", "geo:52.11331,4.27997?q=52.11331,4.27997(Boulevard%20noord)"
    )


@pytest.mark.browser
@pytest.mark.parametrize(
    "held_path", ["/api/v1/incidents?state=open", "/api/v1/cameras"], ids=["incident list held", "camera list held"]
)
def test_a_late_answer_for_the_previous_screen_does_not_replace_the_current_one(
    platform: LivePlatform, page: Page, held_path: str
) -> None:
    """Navigating while a screen still waits for the API: the answer, when it comes, is dropped."""
    platform.add_demo_cameras()
    platform.add_user("coordinator.devries", roles=[Role.coordinator])
    held: list[Route] = []

    def hold_first(route: Route) -> None:
        if held or not route.request.url.endswith(held_path):
            route.continue_()
        else:
            held.append(route)

    page.route("**/api/v1/**", hold_first)
    login(page, "coordinator.devries")
    for _ in range(100):  # the route handler runs while Playwright waits
        if held:
            break
        page.wait_for_timeout(50)
    assert len(held) == 1, "the first screen asked for its list"
    expect(page.locator("html")).to_have_attribute("data-drawing", "1")
    page.get_by_role("link", name="Overzicht").click()
    expect(page.locator("h1")).to_have_text("Overzicht meldingen")

    held[0].continue_()
    expect(page.locator("html")).to_have_attribute("data-drawing", "0")
    expect(page.locator("h1")).to_have_text("Overzicht meldingen")
    expect(page.locator("#stat-open")).to_have_text("0")
    assert page.locator("#incident-list").count() == 0, "the incident list was not drawn over the overview"
