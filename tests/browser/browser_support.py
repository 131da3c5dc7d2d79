"""Fixtures for the officer web app tests: a REAL platform server and Debian's headless Chromium.

Each test gets its own platform: a fresh SQLite file in tmp_path, migrated; ``create_app(settings)`` served
by uvicorn in a thread on an ephemeral port; the ZeroMQ ingest on an ephemeral localhost port with the
platform's own CURVE keys. State is built through the platform's service layer (users, teams, areas,
cameras with fresh keypairs) and incidents arrive the way they do in the field: as ``nitrosignal.wire.Alert``
messages sent by a DEALER socket over CURVE to the ingest. Nothing of the backend is mocked.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import zmq
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, ViewportSize, sync_playwright
from sqlalchemy.orm import Session, sessionmaker

from nitroplatform.api.app import create_app
from nitroplatform.auth.deps import Role
from nitroplatform.cameras import CameraProfile, register_camera
from nitroplatform.db.engine import make_engine
from nitroplatform.db.migrate import upgrade
from nitroplatform.db.models_registry import load_all_models
from nitroplatform.people import service as people
from nitroplatform.people.config import PeopleSettings
from nitroplatform.settings import Settings
from nitrosignal.keys import KeyPair, generate_keypair, load_secret
from nitrosignal.wire import Ack, Alert, Heartbeat, decode_reply, encode

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("NITROSIGNAL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE: ViewportSize = {"width": 390, "height": 844}
PASSWORD = "correct horse battery staple"
A11Y_SCRIPT = (Path(__file__).parent / "a11y.js").read_text(encoding="utf-8")
MODEL = {"id": "balloon-at-mouth", "version": "0.3.1", "sha256": "c" * 64}

# The Scheveningen boulevard demo site: real coordinates of public places, no people.
SITE = "Boulevard Scheveningen"
CAMERAS: dict[str, dict[str, Any]] = {
    "boulevard-noord": {"name": "Boulevard noord", "latitude": 52.11331, "longitude": 4.27997, "zones": ["trap-pier"]},
    "boulevard-midden": {
        "name": "Boulevard midden",
        "latitude": 52.11045,
        "longitude": 4.27614,
        "zones": ["strandopgang"],
    },
    "boulevard-zuid": {
        "name": "Boulevard zuid",
        "latitude": 52.10784,
        "longitude": 4.27216,
        "zones": ["kurhaus-plein"],
    },
    "haven-kade": {
        "name": "Havenkade",
        "site": "Haven Scheveningen",
        "latitude": 52.09890,
        "longitude": 4.26410,
        "zones": ["vismarkt"],
    },
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip browser tests cleanly where no Chromium is installed (``make browser`` installs it)."""
    if shutil.which(CHROMIUM) or Path(CHROMIUM).exists():
        return
    skip = pytest.mark.skip(reason=f"Chromium not found at {CHROMIUM}; run `make browser`")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@dataclass
class Camera:
    """A registered camera with its own CURVE keypair and a seq counter, as a device would keep."""

    camera_id: str
    keypair: KeyPair
    seq: int = 0


@dataclass
class LivePlatform:
    """A running platform: HTTP base URL, database sessions, the ingest endpoint and the platform key."""

    base_url: str
    factory: sessionmaker[Session]
    ingest_endpoint: str
    server_public: bytes
    key_dir: Path
    context: zmq.Context[zmq.Socket[bytes]]
    cameras: dict[str, Camera] = field(default_factory=dict)

    def add_camera(self, camera_id: str, **profile: Any) -> Camera:
        """Register a camera with fresh keys through the platform's service layer."""
        files = generate_keypair(self.key_dir, camera_id)
        keypair = load_secret(files.secret_path)
        with self.factory() as session:
            register_camera(
                session, camera_id=camera_id, public_key=keypair.public.decode(), profile=CameraProfile(**profile)
            )
            session.commit()
        camera = Camera(camera_id=camera_id, keypair=keypair)
        self.cameras[camera_id] = camera
        return camera

    def add_demo_cameras(self) -> None:
        """The four demo cameras of the boulevard and the harbour."""
        for camera_id, profile in CAMERAS.items():
            self.add_camera(camera_id, **{"site": SITE, **profile})

    def add_team(self, name: str, *, cameras: list[str], area: str, shifts: bool = True) -> int:
        """A team with one area; with ``shifts`` it is on duty around the clock every day."""
        with self.factory() as session:
            team = people.create_team(session, name=name, description=f"Handhaving {area}", actor="test")
            people.add_area(session, team_id=team.id, name=area, camera_ids=cameras, actor="test")
            if shifts:
                people.add_shift(
                    session,
                    team_id=team.id,
                    weekdays=[1, 2, 3, 4, 5, 6, 7],
                    start_minute=0,
                    end_minute=1439,
                    actor="test",
                )
            session.commit()
            return team.id

    def add_user(self, username: str, *, roles: list[Role], team_id: int | None = None, display_name: str = "") -> str:
        """A user with a password; returns the username."""
        with self.factory() as session:
            people.create_user(
                session, username=username, password=PASSWORD, roles=roles, display_name=display_name, actor="test"
            )
            if team_id is not None:
                people.add_member(session, team_id=team_id, username=username, actor="test")
            session.commit()
        return username

    def _exchange(self, camera: Camera, message: Alert | Heartbeat) -> Ack:
        """Send like a device: resend the same (camera, seq) until acked, as the outbox does.

        A camera registered a moment ago may be refused until the ingest reloads its key registry
        (``registry_refresh_s``); the resend is idempotent on the platform side.
        """
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            socket = self.context.socket(zmq.DEALER)
            socket.linger = 0
            socket.curve_secretkey = camera.keypair.secret
            socket.curve_publickey = camera.keypair.public
            socket.curve_serverkey = self.server_public
            socket.connect(self.ingest_endpoint)
            try:
                socket.send(encode(message))
                if socket.poll(500, zmq.POLLIN):
                    return decode_reply(socket.recv())
            finally:
                socket.close(linger=0)
        raise AssertionError(f"no ack from the ingest for {camera.camera_id} seq {message.seq}")

    def send_alert(
        self,
        camera_id: str,
        *,
        incident_id: uuid.UUID | None = None,
        phase: str = "new",
        confidence: float = 0.87,
        people_involved: str = "2-4",
        zone: str | None = None,
    ) -> uuid.UUID:
        """Send one Alert from the camera over CURVE, like a device; returns the device incident id."""
        camera = self.cameras[camera_id]
        camera.seq += 1
        now = datetime.now(UTC)
        device_incident = incident_id or uuid.uuid4()
        alert = Alert.model_validate(
            {
                "message_id": uuid.uuid4(),
                "camera_id": camera_id,
                "seq": camera.seq,
                "sent_at": now,
                "incident_id": device_incident,
                "phase": phase,
                "occurred_at": now.replace(microsecond=0),
                "zone": zone if zone is not None else CAMERAS.get(camera_id, {}).get("zones", [None])[0],
                "confidence": confidence,
                "people_involved": people_involved,
                "model": MODEL,
                "expires_at": now + timedelta(minutes=15),
            }
        )
        ack = self._exchange(camera, alert)
        assert ack.result.value in ("stored", "duplicate"), f"ingest refused the alert: {ack}"
        return device_incident

    def send_heartbeat(self, camera_id: str, *, state: str = "active", reason: str | None = None) -> None:
        """Send one Heartbeat, so the camera has a status."""
        camera = self.cameras[camera_id]
        camera.seq += 1
        heartbeat = Heartbeat.model_validate(
            {
                "message_id": uuid.uuid4(),
                "camera_id": camera_id,
                "seq": camera.seq,
                "sent_at": datetime.now(UTC),
                "state": state,
                "reason": reason,
                "fps_in": 10.0,
                "fps_processed": 9.0,
                "dropped_frames": 0,
                "outbox_depth": 0,
                "model_version": MODEL["version"],
                "uptime_s": 3600,
                "config_hash": "d" * 64,
            }
        )
        self._exchange(camera, heartbeat)

    def officer_client(self, username: str) -> httpx.Client:
        """An HTTP client signed in as ``username`` through POST /api/v1/auth/login, sending the CSRF header."""
        client = httpx.Client(base_url=self.base_url, timeout=10)
        response = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
        response.raise_for_status()
        client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
        return client

    def handle(self, client: httpx.Client, incident_id: str, *, until: str = "outcome", **outcome: Any) -> None:
        """Claim, arrive and record an outcome through the platform's HTTP API (stop early with ``until``)."""
        for step in ("claim", "arrive", "outcome"):
            body = outcome if step == "outcome" else {}
            client.post(f"/api/v1/incidents/{incident_id}/{step}", json=body).raise_for_status()
            if step == until:
                return

    def incident_id_for(self, device_incident: uuid.UUID, timeout_s: float = 5.0) -> str:
        """The platform's incident id for a device incident id (the ingest commits before it acks)."""
        from sqlalchemy import select

        from nitroplatform.db.models import Incident

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.factory() as session:
                found = session.scalar(select(Incident.id).where(Incident.device_incident_id == device_incident))
            if found is not None:
                return str(found)
            time.sleep(0.05)
        raise AssertionError(f"no incident for device incident {device_incident}")


class _ThreadedServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the test process keeps its own signal handling
        pass


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[LivePlatform]:
    """A real platform (HTTP + ingest + sweeper) on a fresh, migrated SQLite database."""
    database_url = f"sqlite:///{tmp_path / 'platform.sqlite3'}"
    upgrade(database_url)
    engine = make_engine(database_url)
    load_all_models().create_all(engine, checkfirst=True)  # components whose migration is still on its way
    engine.dispose()
    server_files = generate_keypair(tmp_path / "server-keys", "platform")
    settings = Settings(
        environment="development",
        data_dir=tmp_path / "data",
        database_url=database_url,
        ingest_bind="tcp://127.0.0.1:0",
        server_secret_key_file=server_files.secret_path,
        http_host="127.0.0.1",
        http_port=0,
        gating_mode="open",
        registry_refresh_s=0.2,
        sweeper_interval_s=0.5,
    )
    app = create_app(settings, with_ingest=True)
    # Plain HTTP on 127.0.0.1 in tests: cookies must not be Secure-only.
    app.state.people_settings = PeopleSettings(cookie_secure=False, push_cooldown_camera_s=0)
    server = _ThreadedServer(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="platform-http", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the platform did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    endpoint = app.state.runtime.ingest.endpoint
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    live = LivePlatform(
        base_url=f"http://127.0.0.1:{port}",
        factory=app.state.sessionmaker,
        ingest_endpoint=endpoint,
        server_public=load_secret(server_files.secret_path).public,
        key_dir=tmp_path / "camera-keys",
        context=context,
    )
    try:
        yield live
    finally:
        context.destroy(linger=0)
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def playwright_instance() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, headless; one browser for the session, a fresh context per test."""
    launched = playwright_instance.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture
def context(browser: Browser, platform: LivePlatform) -> Iterator[BrowserContext]:
    """A phone-sized browser context on the test platform, in Dutch unless a test switches."""
    ctx = browser.new_context(
        viewport=PHONE, base_url=platform.base_url, locale="nl-NL", timezone_id="Europe/Amsterdam"
    )
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A page that fails the test on any uncaught script error."""
    errors: list[str] = []
    new_page = context.new_page()
    new_page.on("pageerror", lambda error: errors.append(str(error)))
    yield new_page
    assert not errors, f"script errors in the page: {errors}"


def login(page: Page, username: str, path: str = "/app/") -> None:
    """Sign in through the login form and wait for the app to settle."""
    page.goto(path)
    page.get_by_label("Gebruikersnaam").or_(page.get_by_label("Username")).fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("#password").press("Enter")
    page.wait_for_selector("#mainnav:not([hidden])")


def screenshot(page: Page, name: str) -> Path:
    """Save a 390×844 screenshot under test-artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.wait_for_timeout(350)  # let the arrival animation settle
    page.screenshot(path=str(path))
    return path


def accessibility_report(page: Page) -> dict[str, list[dict[str, Any]]]:
    """Contrast of every visible text against its effective background, labels of controls, target sizes."""
    result: dict[str, list[dict[str, Any]]] = page.evaluate(A11Y_SCRIPT)
    return result
