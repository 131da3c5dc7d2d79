"""Fault tests with real processes and sockets: long platform outage, SIGKILL of the device while sending,
SIGKILL of the platform mid-stream, the database unavailable, a dropped and a slow network, clock jumps.

Each test compares, message by message, what the device queued in its durable outbox with the alert rows
the platform stored: the promise is *exactly once* (every queued ``(seq, message_id)`` stored once, nothing
else stored). Disk-full and corrupt-outbox faults are covered in tests/detector/runtime (test_device_outbox,
test_device_runtime) and are not repeated here.
"""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from reliability_kit import (  # type: ignore[import-not-found, unused-ignore]
    ChaosProxy,
    Device,
    PlatformProcess,
    alert_for,
    delivery_figures,
    queued_identity,
    record_figures,
    stored_alerts,
    wait_until,
)
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from detector.outbox import Outbox
from nitrosignal.wire import encode

DELIVERY_TIMEOUT_S = 90.0


def _metric(text: str, name: str) -> float:
    """The value of one sample line of a Prometheus text page (0 when absent)."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def _report(
    request: pytest.FixtureRequest, factory: sessionmaker[Session], queued: dict[str, Any], **extra: object
) -> None:
    """Check exactly-once over every camera of the test and record the figures for docs/RELIABILITY.md."""
    figures = delivery_figures(factory, queued, **extra)
    assert (figures["lost"], figures["duplicated"], figures["unexpected"]) == (0, 0, 0), figures
    record_figures(request.node.name, figures)


def _assert_exactly_once(device: Device, factory: sessionmaker[Session]) -> None:
    assert wait_until(lambda: device.outbox.depth() == 0, DELIVERY_TIMEOUT_S), (
        f"{device.outbox.depth()} alert(s) still unacked on {device.camera_id}"
    )
    assert device.outbox.dead_letters() == []
    assert stored_alerts(factory, device.camera_id) == queued_identity(device.queued)


@pytest.mark.slow
def test_long_platform_outage_the_outbox_holds_everything_then_exactly_once(
    request: pytest.FixtureRequest,
    platform_process: PlatformProcess,
    camera_factory: Callable[..., Any],
    server_keys: Any,
    device_factory: Callable[..., Device],
    session_factory: sessionmaker[Session],
) -> None:
    """The platform is down while the detector keeps detecting; after recovery everything arrives once."""
    camera = camera_factory("cam-outage")
    device = device_factory(camera, platform_process.endpoint, server_keys[1].public)
    outage_s, bursts = 8.0, 16
    for _ in range(bursts):  # detections keep coming during the outage
        device.detect(5)
        time.sleep(outage_s / bursts)
    assert device.outbox.depth() == 5 * bursts, "the outbox must hold every alert while the platform is down"
    assert stored_alerts(session_factory, "cam-outage") == []
    assert device.link.status().consecutive_failures >= 3
    started = time.monotonic()
    platform_process.start()
    _assert_exactly_once(device, session_factory)
    assert device.link.status().reachable
    _report(
        request,
        session_factory,
        {device.camera_id: device.queued},
        outage_s=outage_s,
        recovered_s=round(time.monotonic() - started, 1),
    )


_DEVICE_CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from detector.link import Link
    from detector.link_socket import LinkSettings
    from detector.outbox import Outbox
    from nitrosignal.keys import KeyPair

    path, endpoint, server, camera_id, public, secret = sys.argv[1:7]
    outbox = Outbox.open(Path(path))
    link = Link(
        LinkSettings(endpoint=endpoint, server_public_key=server.encode(), camera_id=camera_id,
                     camera_keys=KeyPair(public=public.encode(), secret=secret.encode()),
                     ack_timeout_s=1.0, backoff_initial_s=0.05, backoff_max_s=0.5),
        outbox,
    )
    link.start()
    deadline = time.monotonic() + 120
    while outbox.depth() and time.monotonic() < deadline:
        time.sleep(0.05)
    link.stop()
    sys.exit(0 if outbox.depth() == 0 else 3)
    """
)


@pytest.mark.slow
def test_device_killed_while_sending_loses_and_duplicates_nothing(
    request: pytest.FixtureRequest,
    platform_process: PlatformProcess,
    camera_factory: Callable[..., Any],
    server_keys: Any,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    """SIGKILL the device process in the middle of sending; the restarted device finishes exactly once."""
    camera = camera_factory("cam-killed")
    outbox_path = tmp_path / "killed" / "outbox.sqlite3"
    outbox = Outbox.open(outbox_path)
    queued = [outbox.add_alert(lambda seq: alert_for("cam-killed", seq)) for _ in range(300)]
    outbox.close()
    platform_process.start()
    argv = [
        sys.executable,
        "-c",
        _DEVICE_CHILD,
        str(outbox_path),
        platform_process.endpoint,
        server_keys[1].public.decode(),
        "cam-killed",
        camera.keypair.public.decode(),
        camera.keypair.secret.decode(),
    ]
    child = subprocess.Popen(argv)
    try:
        assert wait_until(lambda: len(stored_alerts(session_factory, "cam-killed")) >= 40, 60, 0.02)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
    stored_at_kill = len(stored_alerts(session_factory, "cam-killed"))
    assert 0 < stored_at_kill < len(queued), "the kill must land in the middle of sending"
    restarted = subprocess.run(argv, timeout=150, check=False)
    assert restarted.returncode == 0
    assert stored_alerts(session_factory, "cam-killed") == queued_identity(queued)
    _report(request, session_factory, {"cam-killed": queued}, stored_at_kill=stored_at_kill)


@pytest.mark.slow
def test_platform_killed_mid_stream_is_exactly_once_after_restart(
    request: pytest.FixtureRequest,
    platform_process: PlatformProcess,
    camera_factory: Callable[..., Any],
    server_keys: Any,
    device_factory: Callable[..., Device],
    session_factory: sessionmaker[Session],
) -> None:
    """Five devices stream into the platform; SIGKILL it while batches are in flight, restart, compare."""
    platform_process.start()
    devices = [
        device_factory(camera_factory(f"cam-pk-{index}"), platform_process.endpoint, server_keys[1].public)
        for index in range(5)
    ]
    for device in devices:
        device.detect(120)

    def stored_total() -> int:
        return sum(len(stored_alerts(session_factory, device.camera_id)) for device in devices)

    assert wait_until(lambda: stored_total() >= 60, 60, 0.02)
    platform_process.kill()
    stored_at_kill = stored_total()
    assert stored_at_kill < 600, "the kill must land in the middle of the stream"
    for device in devices:
        device.detect(10)  # detections during the downtime
    platform_process.start()
    for device in devices:
        _assert_exactly_once(device, session_factory)
    queued = {device.camera_id: device.queued for device in devices}
    _report(request, session_factory, queued, stored_at_kill=stored_at_kill, devices=len(devices))


def _with_application_name(url: str, name: str) -> str:
    return make_url(url).update_query_dict({"application_name": name}).render_as_string(hide_password=False)


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.mark.slow
def test_database_unavailable_nothing_acked_until_committed_then_recovers(
    request: pytest.FixtureRequest,
    client_factory: Callable[..., TestClient],
    migrated_database_url: str,
    camera_factory: Callable[..., Any],
    server_keys: Any,
    device_factory: Callable[..., Device],
    session_factory: sessionmaker[Session],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """SQLite: another connection holds an exclusive lock past the busy timeout. PostgreSQL: every connection
    of this platform is terminated repeatedly. Either way batches fail, nothing is acked, and afterwards every
    queued alert is stored exactly once."""
    is_sqlite = migrated_database_url.startswith("sqlite")
    app_name = f"nitrosignal-rel-{os.getpid()}-{time.monotonic_ns()}"
    url = migrated_database_url if is_sqlite else _with_application_name(migrated_database_url, app_name)
    client = client_factory(with_ingest=True, database_url=url)
    ingest = client.app.state.runtime.ingest  # type: ignore[attr-defined]
    camera = camera_factory("cam-db")
    ingest.refresh_registry()
    device = device_factory(camera, ingest.endpoint, server_keys[1].public)
    device.detect(3)
    assert wait_until(lambda: device.outbox.depth() == 0, 30)

    with caplog.at_level(logging.ERROR, logger="nitroplatform.ingest.handler"):
        if is_sqlite:
            database = make_url(migrated_database_url).database
            assert database is not None
            blocker = sqlite3.connect(database, timeout=1, isolation_level=None)
            blocker.execute("BEGIN EXCLUSIVE")
            try:
                device.detect(20)
                # The ingest waits out its 10 s busy timeout, then the batch fails and nothing is acked.
                assert wait_until(lambda: "failed; nothing acked" in caplog.text, 30)
                assert device.outbox.depth() == 20
            finally:
                blocker.rollback()
                blocker.close()
        else:
            stop = threading.Event()

            def terminate_ours() -> None:
                with psycopg.connect(_libpq(migrated_database_url), autocommit=True) as admin:
                    deadline = time.monotonic() + 15
                    while not stop.is_set() and time.monotonic() < deadline:
                        admin.execute(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                            (app_name,),
                        )
                        time.sleep(0.02)

            killer = threading.Thread(target=terminate_ours, daemon=True)
            killer.start()
            try:
                device.detect(20)
                assert wait_until(lambda: "failed; nothing acked" in caplog.text, 30)
            finally:
                stop.set()
                killer.join(timeout=20)
    _assert_exactly_once(device, session_factory)
    errors = _metric(client.get("/metrics").text, "nitrosignal_ingest_storage_errors_total")
    assert errors >= 1
    _report(request, session_factory, {device.camera_id: device.queued}, failed_batches=errors)


@pytest.mark.slow
def test_network_drop_and_slow_link_through_a_loopback_proxy(
    request: pytest.FixtureRequest,
    running_platform: TestClient,
    camera_factory: Callable[..., Any],
    server_keys: Any,
    device_factory: Callable[..., Device],
    session_factory: sessionmaker[Session],
    chaos_proxy_factory: Callable[[str], ChaosProxy],
) -> None:
    """Connections cut for a while, then every byte delayed (below and above the device's ack timeout)."""
    ingest = running_platform.app.state.runtime.ingest  # type: ignore[attr-defined]
    camera = camera_factory("cam-net")
    ingest.refresh_registry()
    proxy = chaos_proxy_factory(ingest.endpoint)
    device = device_factory(camera, proxy.endpoint, server_keys[1].public)
    device.detect(10)
    assert wait_until(lambda: device.outbox.depth() == 0, 30)

    proxy.drop()
    device.detect(10)
    time.sleep(2.0)
    assert device.outbox.depth() == 10, "nothing can be acked through a dropped network"
    proxy.restore()
    assert wait_until(lambda: device.outbox.depth() == 0, 60)

    proxy.delay_s = 0.2  # slow, but the CURVE handshake and a round trip still fit in the 1 s ack timeout
    device.detect(5)
    assert wait_until(lambda: device.outbox.depth() == 0, 60)
    # Beyond the ack timeout: every attempt times out, the device reconnects (a fresh CURVE handshake, itself
    # several delayed round trips) and resends. Nothing may be lost or doubled while that goes on, and all of
    # it arrives once the link is usable again.
    proxy.delay_s = 0.7
    device.detect(3)
    time.sleep(4.0)
    assert device.outbox.depth() + len(stored_alerts(session_factory, "cam-net")) >= 28
    proxy.delay_s = 0.0
    _assert_exactly_once(device, session_factory)
    _report(request, session_factory, {device.camera_id: device.queued}, proxy_bytes=proxy.bytes_forwarded)


# (device clock offset, what the platform does with the alert, dead-lettered on the device)
CLOCK_TABLE = [
    pytest.param(timedelta(hours=1), "clock_skew", True, id="device-clock-far-ahead-refused"),
    pytest.param(timedelta(seconds=60), None, False, id="ahead-within-tolerance-accepted"),
    pytest.param(timedelta(days=-1), None, False, id="device-clock-behind-accepted"),
    pytest.param(timedelta(days=-400), None, False, id="device-clock-a-year-behind-accepted"),
]


@pytest.mark.parametrize(("offset", "refusal", "dead_lettered"), CLOCK_TABLE)
def test_clock_jump(
    offset: timedelta,
    refusal: str | None,
    dead_lettered: bool,
    running_platform: TestClient,
    camera_factory: Callable[..., Any],
    server_keys: Any,
    device_factory: Callable[..., Device],
    session_factory: sessionmaker[Session],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A device whose clock jumped sends an alert; ahead beyond the tolerance is refused, logged and counted,
    and the next alert with a sane clock is still stored."""
    ingest = running_platform.app.state.runtime.ingest  # type: ignore[attr-defined]
    camera = camera_factory("cam-clock")
    ingest.refresh_registry()
    device = device_factory(camera, ingest.endpoint, server_keys[1].public)
    with caplog.at_level(logging.WARNING, logger="nitroplatform.ingest.handler"):
        jumped = device.outbox.add_alert(lambda seq: alert_for("cam-clock", seq, sent_at=datetime.now(UTC) + offset))
        device.link.wake()
        assert wait_until(lambda: device.outbox.depth() == 0, 30)
    device.detect(1)
    assert wait_until(lambda: device.outbox.depth() == 0, 30)
    dead = device.outbox.dead_letters()
    stored = stored_alerts(session_factory, "cam-clock")
    metrics = running_platform.get("/metrics").text
    if dead_lettered:
        assert [(letter.seq, letter.reason) for letter in dead] == [(jumped.seq, refusal)]
        assert stored == queued_identity(device.queued)
        assert any(f"{refusal}" in record.getMessage() for record in caplog.records)
        assert _metric(metrics, f'nitrosignal_ingest_refused_total{{reason="{refusal}"}}') == 1
    else:
        assert dead == []
        assert stored == queued_identity([jumped, *device.queued])
        assert "nitrosignal_ingest_refused_total{" not in metrics


def test_resent_payload_is_byte_identical(tmp_path: Path) -> None:
    """The resend after any of these faults is the very payload stored at detection time (same message_id),
    which is what lets the platform answer ``duplicate`` instead of storing twice."""
    outbox = Outbox.open(tmp_path / "outbox.sqlite3")
    pending = outbox.add_alert(lambda seq: alert_for("cam-x", seq))
    outbox.close()
    reopened = Outbox.open(tmp_path / "outbox.sqlite3")
    try:
        oldest = reopened.oldest()
        assert oldest is not None and oldest.payload == pending.payload
        assert encode(alert_for("cam-x", pending.seq)) != pending.payload
    finally:
        reopened.close()
