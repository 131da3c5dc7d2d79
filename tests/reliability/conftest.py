"""Fixtures for the reliability tests: the platform fixtures (reused, not copied), a platform child process
that can be SIGKILLed and restarted, devices (real ``Link`` + ``Outbox``) fed with synthetic alerts, and a
loopback TCP proxy that drops connections or delays bytes. The helpers themselves live in ``reliability_kit``.

The platform fixtures live in ``tests/platform/conftest.py``; they are loaded here under a unique module
name so that their database cleanup (fresh SQLite file, or a throw-away PostgreSQL schema dropped after the
test) applies to these tests too.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from reliability_kit import (  # type: ignore[import-not-found, unused-ignore]
    ChaosProxy,
    Device,
    PlatformProcess,
    link_settings,
)

from detector.link import Link
from detector.outbox import Outbox
from nitroplatform.launcher import free_tcp_port
from nitroplatform.settings import Settings


def _load_platform_fixtures() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "platform" / "conftest.py"
    spec = importlib.util.spec_from_file_location("nitrosignal_platform_fixtures", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered first: dataclasses (and pickling) look the module up by name while it executes.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_platform = _load_platform_fixtures()
# Re-exported under their own names so pytest registers them for this directory.
database_url = _platform.database_url
migrated_database_url = _platform.migrated_database_url
session_factory = _platform.session_factory
server_keys = _platform.server_keys
settings_factory = _platform.settings_factory
app_factory = _platform.app_factory
client_factory = _platform.client_factory
camera_factory = _platform.camera_factory
token_factory = _platform.token_factory
wire = _platform.wire
running_platform = _platform.running_platform
CameraIdentity = _platform.CameraIdentity
WireKit = _platform.WireKit


@pytest.fixture
def device_factory(tmp_path: Path) -> Iterator[Callable[..., Device]]:
    """``device_factory(camera, endpoint, server_public)`` starts a Link on a fresh outbox; stopped after."""
    devices: list[Device] = []

    def build(camera: Any, endpoint: str, server_public: bytes) -> Device:
        outbox = Outbox.open(tmp_path / "device" / camera.camera_id / "outbox.sqlite3")
        link = Link(link_settings(camera.camera_id, camera.keypair, endpoint, server_public), outbox)
        link.start()
        device = Device(camera.camera_id, outbox, link)
        devices.append(device)
        return device

    yield build
    for device in devices:
        device.close()


@pytest.fixture
def platform_process(settings_factory: Callable[..., Settings], tmp_path: Path) -> Iterator[PlatformProcess]:
    """A platform child (not started yet) on fixed free ports, gating open; stopped after the test."""
    settings = settings_factory(
        ingest_bind=f"tcp://127.0.0.1:{free_tcp_port()}",
        http_port=free_tcp_port(),
        log_level="INFO",
        flood_rate_per_s=1000.0,
        flood_burst=2000,
    )
    handle = PlatformProcess(settings=settings, log_path=tmp_path / "platform.log")
    yield handle
    handle.stop()


@pytest.fixture
def chaos_proxy_factory() -> Iterator[Callable[[str], ChaosProxy]]:
    """``chaos_proxy_factory("tcp://127.0.0.1:port")`` starts a proxy in front of that endpoint; closed after."""
    proxies: list[ChaosProxy] = []

    def build(endpoint: str) -> ChaosProxy:
        host, port = endpoint.removeprefix("tcp://").rsplit(":", 1)
        proxy = ChaosProxy(host, int(port))
        proxies.append(proxy)
        return proxy

    yield build
    for proxy in proxies:
        proxy.close()
