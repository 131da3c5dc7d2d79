"""The web screens end to end: a real platform server, real accounts and Debian's headless Chromium.

Four people take the worked example from draft to an approved, exported IAMA in the browser; the camera of
the deployment turns from gated to active. The JSON API's error style and role checks are tested too.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, sync_playwright
from pypdf import PdfReader
from sqlalchemy import select

from nitroplatform.api.app import create_app
from nitroplatform.auth.deps import Role
from nitroplatform.db.engine import make_engine
from nitroplatform.db.migrate import upgrade
from nitroplatform.db.models import Camera
from nitroplatform.db.session import make_sessionmaker, session_scope
from nitroplatform.people import service as people
from nitroplatform.people.config import PeopleSettings
from nitroplatform.people.record_models import AuditEntry
from nitroplatform.settings import Settings

PASSWORD = "correct horse battery staple"
CHROMIUM = os.environ.get("NITROSIGNAL_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PEOPLE = {
    "alice": Role.privacy_officer,
    "bob": Role.privacy_officer,
    "dora": Role.privacy_officer,
    "carol": Role.privacy_officer,
    "olaf": Role.officer,
}


@pytest.fixture(scope="module")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file with the test accounts and camera cam-1 of deployment 'demo'."""
    path = tmp_path_factory.mktemp("iama-web") / "template.sqlite3"
    url = f"sqlite:///{path}"
    upgrade(url)
    engine = make_engine(url)
    with session_scope(make_sessionmaker(engine)) as db:
        for name, role in PEOPLE.items():
            people.create_user(db, username=name, password=PASSWORD, roles=[role], actor="test")
        db.add(
            Camera(id="cam-1", public_key="k" * 40, name="Boulevard noord", zones=["boulevard"], deployment_id="demo")
        )
    engine.dispose()
    return path


@pytest.fixture
def platform_settings(tmp_path: Path, template_database: Path) -> Settings:
    """Settings on a private copy of the template database, so every test starts from the same state."""
    database = tmp_path / "platform.sqlite3"
    shutil.copyfile(template_database, database)
    return Settings(
        environment="development",
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{database}",
        ingest_enabled=False,
        sweeper_enabled=False,
        gating_mode="iama",
    )


def make_app(settings: Settings) -> FastAPI:
    app = create_app(settings, with_ingest=False)
    # Plain HTTP in tests: the session cookie may not be Secure-only here.
    app.state.people_settings = PeopleSettings(cookie_secure=False)
    return app


def login(client: TestClient, name: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"X-CSRF-Token": response.json()["csrf_token"]}


@pytest.mark.parametrize(
    ("user", "method", "path", "expected_status"),
    [
        (None, "GET", "/api/v1/iama/deployments", 401),
        ("olaf", "GET", "/api/v1/iama/deployments", 403),
        ("alice", "GET", "/api/v1/iama/deployments", 200),
        ("alice", "GET", "/api/v1/iama/records/999", 404),
        ("alice", "POST", "/api/v1/iama/records/999/actions/submit", 404),
        ("alice", "GET", "/api/v1/iama/questionnaires/iama-v1-2021", 200),
        ("alice", "GET", "/iama/", 200),
        ("alice", "GET", "/iama/static/iama.js", 200),
        ("alice", "GET", "/iama/static/../../settings.py", 404),
    ],
)
def test_api_access_matrix(
    platform_settings: Settings, user: str | None, method: str, path: str, expected_status: int
) -> None:
    with TestClient(make_app(platform_settings)) as client:
        headers = login(client, user) if user else {}
        response = client.request(method, path, headers=headers, json={} if method == "POST" else None)
        assert response.status_code == expected_status, response.text
        if expected_status >= 400 and path.startswith("/api"):
            assert "error" in response.json()


def test_api_refuses_author_as_reviewer_with_one_error_style(platform_settings: Settings) -> None:
    with TestClient(make_app(platform_settings)) as client:
        headers = login(client, "alice")
        record_id = client.post("/api/v1/iama/example", headers=headers).json()["id"]
        assert client.post(f"/api/v1/iama/records/{record_id}/actions/submit", headers=headers, json={}).json() == {
            "status": "in_review"
        }
        response = client.post(f"/api/v1/iama/records/{record_id}/review", headers=headers, json={"finish": True})
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "conflict"


@pytest.fixture
def server(platform_settings: Settings) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(make_app(platform_settings), host="127.0.0.1", port=port, log_level="warning")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield launched
        launched.close()


def open_as(browser: Browser, base: str, name: str, path: str) -> Page:
    context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    assert page.request.post("/api/v1/auth/login", data={"username": name, "password": PASSWORD}).ok
    page.goto(path)
    return page


def click_and_wait(page: Page, selector: str, text: str) -> None:
    """Click and wait for the confirmation toast, which shows only after the API call has completed."""
    page.evaluate("document.getElementById('toast').className = ''")  # no stale toast from the last click
    page.click(selector)
    page.wait_for_selector(f"#toast.show:has-text('{text}')")


@pytest.mark.browser
def test_privacy_officers_take_a_deployment_to_an_approved_export(
    server: str, browser: Browser, tmp_path: Path
) -> None:
    page = open_as(browser, server, "alice", "/iama/")
    page.click("#load-example")
    page.wait_for_selector("#status:has-text('draft')")
    record_url = page.url.replace(server, "")
    assert page.inner_text("#gates").count("gated") == 1
    page.fill("textarea[data-q='3.5.7']", "Of de proef leidt tot uitbreiding; toegevoegd in de browser.")
    click_and_wait(page, "#save", "Opgeslagen")
    page.wait_for_selector("#complete")
    click_and_wait(page, "#submit", "Ter review aangeboden")
    page.wait_for_selector("#status:has-text('in_review')")

    reviewer = open_as(browser, server, "bob", record_url)
    click_and_wait(reviewer, "#mark-all", "Gemarkeerd")
    click_and_wait(reviewer, "#finish-review", "Review afgerond")
    reviewer.wait_for_selector("#status:has-text('dpo_advice')")

    dpo = open_as(browser, server, "dora", record_url)
    dpo.select_option("#opinion", "conditional")
    dpo.fill("#advice", "Positief onder voorwaarde van maandelijkse rapportage van de veldprecisie.")
    click_and_wait(dpo, "#save-advice", "Advies vastgelegd")

    official = open_as(browser, server, "carol", record_url)
    for position in (1, 2, 3):
        click_and_wait(official, f"[data-accept='{position}']", "Aanvaard")
        official.wait_for_selector(f"#risks [data-position='{position}'][data-decision='accepted']")
    official.fill("#reason", "Proef van zes maanden onder de voorwaarden van 5.B.")
    click_and_wait(official, "#approve", "Goedgekeurd")
    official.wait_for_selector("#status:has-text('approved')")
    assert "actief" in official.inner_text("#gates")
    official.locator("#row-2\\.4\\.1").scroll_into_view_if_needed()
    official.screenshot(path=str(os.environ.get("IAMA_SCREENSHOT", tmp_path / "approved.png")))
    with official.expect_download() as download_info:
        official.click("#exports a:has-text('PDF')")
    pdf = Path(download_info.value.path()).read_bytes()
    reader = PdfReader(io.BytesIO(pdf))
    assert "toegevoegd in de browser" in "".join(p.extract_text() for p in reader.pages)


@pytest.mark.parametrize(
    ("query", "expected_status"),
    [("?organization=Gemeente%20X&contact_email=privacy%40x.nl", 200), ("?organization=Gemeente%20X", 400), ("", 400)],
)
def test_register_export_needs_organisation_and_contact(
    platform_settings: Settings, query: str, expected_status: int
) -> None:
    with TestClient(make_app(platform_settings)) as client:
        headers = login(client, "alice")
        record_id = client.post("/api/v1/iama/example", headers=headers).json()["id"]
        response = client.get(f"/api/v1/iama/records/{record_id}/export/register{query}", headers=headers)
        assert response.status_code == expected_status, response.text
        if expected_status == 200:
            body = response.json()
            assert (body["organization"], body["status"], body["standard_version"]) == (
                "Gemeente X",
                "In ontwikkeling",
                "1.0",
            )


@pytest.mark.browser
def test_new_deployment_and_empty_record_in_the_browser(server: str, browser: Browser) -> None:
    page = open_as(browser, server, "alice", "/iama/")
    page.fill("#dep-id", "haven-2027")
    page.fill("#dep-name", "Haven, zomer 2027")
    page.fill("#dep-purpose", "Lachgasoverlast bij de haven signaleren.")
    click_and_wait(page, "#new-deployment button[type=submit]", "Inzet geregistreerd")
    click_and_wait(page, "section[data-id='haven-2027'] button:has-text('iama-v1-2021')", "Nieuw record")
    page.wait_for_selector("#status:has-text('draft')")
    # 57 numbered questions plus our explanation field 4.3.1.t next to the seriousness rating.
    assert page.inner_text("#missing").startswith("58 verplichte vragen open: 1.1.1,")
    page.fill("textarea[data-q='1.1.1']", "Overlast bij de haven.")
    click_and_wait(page, "#save", "Opgeslagen")
    page.wait_for_selector("#missing:has-text('57 verplichte vragen open: 1.2.1,')")


def test_json_export_imports_through_the_api_and_exports_are_audited(platform_settings: Settings) -> None:
    with TestClient(make_app(platform_settings)) as client:
        headers = login(client, "alice")
        record_id = client.post("/api/v1/iama/example", headers=headers).json()["id"]
        exported = client.get(f"/api/v1/iama/records/{record_id}/export/json", headers=headers)
        assert exported.status_code == 200
        imported = client.post(
            "/api/v1/iama/records/import",
            headers={**headers, "Content-Type": "application/json"},
            content=exported.content,
        )
        assert imported.status_code == 201, imported.text
        copy = client.get(f"/api/v1/iama/records/{imported.json()['id']}/export/json", headers=headers)
        assert copy.json() == exported.json()
        assert client.get(f"/api/v1/iama/records/{imported.json()['id']}", headers=headers).json()["imported_by"] == (
            "alice"
        )
    engine = make_engine(str(platform_settings.database_url))
    with session_scope(make_sessionmaker(engine)) as db:
        actions = db.scalars(select(AuditEntry.action).where(AuditEntry.actor == "alice")).all()
    engine.dispose()
    assert actions.count("iama.export") == 2 and "iama.create" in actions and "iama.answer" in actions


def test_public_page_shows_only_an_approved_iama_without_staff_names(platform_settings: Settings) -> None:
    with TestClient(make_app(platform_settings)) as client:
        assert client.get("/iama/public/demo").status_code == 404
        record_id = client.post("/api/v1/iama/example", headers=login(client, "alice")).json()["id"]
        base = f"/api/v1/iama/records/{record_id}"
        steps = [
            ("alice", f"{base}/actions/submit", {}),
            ("bob", f"{base}/review", {"marks": [], "finish": False}),
        ]
        for name, path, body in steps:
            assert client.post(path, headers=login(client, name), json=body).status_code == 200
        headers = login(client, "bob")
        answered = [a["question_id"] for a in client.get(base, headers=headers).json()["document"]["answers"]]
        marks = [{"question_id": q, "mark": "acceptable"} for q in answered]
        assert client.post(f"{base}/review", headers=headers, json={"marks": marks, "finish": True}).json() == {
            "status": "dpo_advice"
        }
        advice = {"opinion": "positive", "advice": "Akkoord."}
        assert client.post(f"{base}/advice", headers=login(client, "dora"), json=advice).status_code == 201
        assert client.get("/iama/public/demo").status_code == 404  # not approved yet
        headers = login(client, "carol")
        for position in (1, 2, 3):
            assert client.post(f"{base}/risks/{position}", headers=headers, json={"accept": True}).status_code == 200
        assert client.post(f"{base}/actions/approve", headers=headers, json={"reason": "ok"}).json() == {
            "status": "approved"
        }
        client.cookies.clear()
        page = client.get("/iama/public/demo")
    assert page.status_code == 200
    assert "Deel 5 – Afsluiting" in page.text and "sha256" in page.text
    assert not any(name in page.text for name in ("alice", "bob", "carol", "dora"))
    assert "Melding en routering" not in page.text
