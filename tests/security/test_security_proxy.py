"""Behind the shipped reverse proxy: Debian's Caddy runs ``deploy/platform/Caddyfile`` on loopback, in front of a
real uvicorn serving the platform.

Clients come from different loopback addresses (127.0.0.2 is the attacker, 127.0.0.3 the real admin), so the
proxy sees two clients, as on the internet. The platform trusts ``X-Forwarded-For`` from the proxy only
(``NITROSIGNAL_TRUSTED_PROXIES``), and failed logins slow down only the (client, username) pair and the client
they come from. Before, 20 failed logins with made-up names behind the proxy locked every user out for 15
minutes, and 5 failures locked a known username from anywhere. The proxy also caps request bodies at 1 MB, as the
app does itself.

Skipped where no ``caddy`` binary is installed (``make test`` installs Debian's).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from nitroplatform.auth.deps import Role
from nitroplatform.launcher import PlatformThread, free_tcp_port
from nitroplatform.people.config import PeopleSettings
from nitroplatform.people.service import create_user
from nitroplatform.settings import Settings

CADDY = shutil.which("caddy")
CADDYFILE = Path(__file__).resolve().parents[2] / "deploy" / "platform" / "Caddyfile"
PASSWORD = "correct horse battery staple"
ATTACKER, ADMIN = "127.0.0.2", "127.0.0.3"

pytestmark = pytest.mark.skipif(CADDY is None, reason="caddy is not installed (make test installs Debian's)")


@dataclass
class Proxied:
    """The platform behind Caddy: where each is, and clients from chosen loopback addresses."""

    proxy_url: str
    direct_url: str
    platform: PlatformThread

    def client(self, source: str, *, direct: bool = False) -> httpx.Client:
        transport = httpx.HTTPTransport(local_address=source, verify=False)
        return httpx.Client(base_url=self.direct_url if direct else self.proxy_url, transport=transport, timeout=30)


def _wait_for_proxy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"caddy exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/healthz", verify=False, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"caddy did not answer: {log.read_text()[-2000:]}")


@pytest.fixture
def proxied(
    settings_factory: Callable[..., Settings], session_factory: sessionmaker[Session], tmp_path: Path
) -> Iterator[Callable[..., Proxied]]:
    """``proxied(trusted_proxies="127.0.0.1", delay_base_s=60)``: the platform on loopback behind the shipped Caddyfile.

    The first delay is a minute by default, so that no delay runs out while a test is still looking at it on a
    slow machine; the test of growing delays asks for 1 s.
    """
    started: list[tuple[PlatformThread, subprocess.Popen[bytes]]] = []
    with session_factory() as db:
        create_user(db, username="admin", password=PASSWORD, roles=[Role.admin], actor="test")
        create_user(db, username="privacy", password=PASSWORD, roles=[Role.privacy_officer], actor="test")
        db.commit()

    def build(trusted_proxies: str = "127.0.0.1", delay_base_s: float = 60.0) -> Proxied:
        http_port = free_tcp_port()
        settings = settings_factory(http_port=http_port, trusted_proxies=trusted_proxies)
        platform = PlatformThread(settings, with_ingest=False)
        # Delays start after 3 failures per (client, username) and 10 per client, then double with each failure.
        platform.app.state.people_settings = PeopleSettings(
            login_free_failures=3, login_free_failures_client=10, login_delay_base_s=delay_base_s, cookie_secure=True
        )
        platform.start()
        https_port = free_tcp_port()
        env = os.environ | {
            "NITROSIGNAL_SITE_ADDRESS": "127.0.0.1",
            "NITROSIGNAL_UPSTREAM": f"127.0.0.1:{http_port}",
            "NITROSIGNAL_CADDY_ADMIN": "off",
            "NITROSIGNAL_CADDY_HTTP_PORT": str(free_tcp_port()),
            "NITROSIGNAL_CADDY_HTTPS_PORT": str(https_port),
            "XDG_DATA_HOME": str(tmp_path / "caddy-data"),
            "XDG_CONFIG_HOME": str(tmp_path / "caddy-config"),
        }
        log = tmp_path / f"caddy-{https_port}.log"
        with open(log, "wb") as output:
            process = subprocess.Popen(
                [str(CADDY), "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        started.append((platform, process))
        url = f"https://127.0.0.1:{https_port}"
        _wait_for_proxy(url, process, log)
        return Proxied(proxy_url=url, direct_url=platform.base_url, platform=platform)

    yield build
    for platform, process in started:
        process.terminate()
        process.wait(timeout=20)
        platform.stop()


def _login(client: httpx.Client, username: str, password: str, **headers: str) -> httpx.Response:
    return client.post("/api/v1/auth/login", json={"username": username, "password": password}, headers=headers)


def test_failed_logins_behind_the_proxy_do_not_keep_the_admin_out(proxied: Callable[..., Proxied]) -> None:
    setup = proxied()
    attacker, admin = setup.client(ATTACKER), setup.client(ADMIN)
    # Wrong passwords for the real admin account: (attacker, admin) is delayed after 3 failures ...
    guessed = [_login(attacker, "admin", "wrong password 123").status_code for _ in range(5)]
    assert guessed == [401] * 3 + [429] * 2, guessed
    # ... and the admin, from another address, is not delayed at all, right then.
    response = _login(admin, "admin", PASSWORD)
    assert response.status_code == 200, response.text
    # 20 logins with made-up names, as fast as possible: the attacker's address is delayed after 10 failures in all.
    made_up = [_login(attacker, f"nobody-{index}", "wrong password 123").status_code for index in range(20)]
    assert made_up == [401] * 7 + [429] * 13, made_up
    response = _login(admin, "admin", PASSWORD)
    assert response.status_code == 200, response.text
    # A forged X-Forwarded-For through the proxy changes nothing: Caddy replaces it with the real address.
    assert _login(attacker, "admin", PASSWORD, **{"X-Forwarded-For": ADMIN}).status_code == 429


def test_the_attackers_own_delays_grow(proxied: Callable[..., Proxied]) -> None:
    setup = proxied(delay_base_s=1.0)
    attacker = setup.client(ATTACKER)
    assert [_login(attacker, "admin", "wrong password 123").status_code for _ in range(3)] == [401] * 3
    waits = []
    for _ in range(3):
        refused = _login(attacker, "admin", "wrong password 123")
        assert refused.status_code == 429
        waits.append(int(refused.headers["Retry-After"]))
        time.sleep(waits[-1])
        assert _login(attacker, "admin", "wrong password 123").status_code == 401
    assert waits == [1, 2, 4], waits
    # The right password from the attacker's address waits like a wrong one: a delay is not a password oracle.
    assert _login(attacker, "admin", PASSWORD).status_code == 429
    assert _login(setup.client(ADMIN), "admin", PASSWORD).status_code == 200


def test_forwarded_headers_from_an_untrusted_peer_are_ignored(proxied: Callable[..., Proxied]) -> None:
    setup = proxied()
    direct = setup.client(ATTACKER, direct=True)  # straight to uvicorn: not a trusted proxy
    statuses = [
        _login(direct, "admin", "wrong password 123", **{"X-Forwarded-For": f"127.0.0.{10 + index}"}).status_code
        for index in range(5)
    ]
    assert statuses == [401, 401, 401, 429, 429], statuses  # one client, whatever the header claims
    assert _login(setup.client(ADMIN, direct=True), "admin", PASSWORD).status_code == 200


def test_without_a_trusted_proxy_every_client_shares_the_proxys_address(proxied: Callable[..., Proxied]) -> None:
    """What the setting prevents: with the proxy not trusted (the shipped compose file before it set
    NITROSIGNAL_TRUSTED_PROXIES), the attacker's failures delay every client behind the proxy."""
    setup = proxied(trusted_proxies="")
    attacker, admin = setup.client(ATTACKER), setup.client(ADMIN)
    assert [_login(attacker, f"nobody-{index}", "wrong password 123").status_code for index in range(11)][-1] == 429
    assert _login(admin, "admin", PASSWORD).status_code == 429


def test_the_proxy_and_the_app_both_refuse_a_5_mb_body(proxied: Callable[..., Proxied]) -> None:
    setup = proxied()
    body = {"body": "x" * 5_000_000, "question_id": ""}
    answered_by = {}
    for name, client in (("proxy", setup.client(ADMIN)), ("app", setup.client(ADMIN, direct=True))):
        token = _login(client, "privacy", PASSWORD).json()["csrf_token"]
        response = client.post("/api/v1/iama/records/1/comments", json=body, headers={"X-CSRF-Token": token})
        assert response.status_code == 413, (name, response.status_code, response.text[:200])
        answered_by[name] = "app" if response.headers.get("content-type") == "application/json" else "proxy"
    # Through the proxy the body never reaches the platform: Caddy itself answers.
    assert answered_by == {"proxy": "proxy", "app": "app"}
