"""The CURVE link against a real ZeroMQ ROUTER: acks, resends, an outage, refusals, wrong keys."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import zmq
from device_harness import Keys, TestPlatform, alert_builder  # type: ignore[import-not-found]

from detector.link import AlertTrace, Link
from detector.link_socket import LinkSettings
from detector.outbox import Outbox
from nitrosignal.wire import AckResult, Alert, DeviceState, Heartbeat, decode


def _settings(keys: Keys, endpoint: str, server_public: bytes | None = None) -> LinkSettings:
    return LinkSettings(
        endpoint=endpoint,
        server_public_key=server_public or keys.platform.public,
        camera_keys=keys.camera,
        camera_id="cam-1",
        ack_timeout_s=0.5,
        backoff_initial_s=0.05,
        backoff_max_s=0.4,
    )


def _heartbeat(seq: int) -> Heartbeat:
    return Heartbeat(
        message_id=uuid.uuid4(),
        camera_id="cam-1",
        seq=seq,
        sent_at=datetime.now(UTC),
        state=DeviceState.ACTIVE,
        fps_in=10.0,
        fps_processed=10.0,
        dropped_frames=0,
        outbox_depth=0,
        uptime_s=1,
        config_hash="b" * 64,
    )


class Running:
    """A started link with a trace recorder."""

    def __init__(self, settings: LinkSettings, outbox: Outbox) -> None:
        self.traces: list[AlertTrace] = []
        self._lock = threading.Lock()
        self.link = Link(settings, outbox, on_trace=self._record)
        self.link.start()

    def _record(self, trace: AlertTrace) -> None:
        with self._lock:
            self.traces.append(trace)

    def steps(self, seq: int) -> list[str]:
        with self._lock:
            return [t.step for t in self.traces if t.seq == seq]


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    box = Outbox.open(tmp_path / "outbox.sqlite3")
    yield box
    box.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_alerts_are_sent_in_order_and_removed_when_acked(
    keys: Keys, platform_server: TestPlatform, outbox: Outbox
) -> None:
    queued = [outbox.add_alert(alert_builder()) for _ in range(3)]
    running = Running(_settings(keys, platform_server.endpoint), outbox)
    try:
        assert platform_server.wait_for(lambda: outbox.depth() == 0, 10)
        assert [a.seq for a in platform_server.alerts()] == [q.seq for q in queued]
        assert [decode(raw).seq for raw in platform_server.raw] == [q.seq for q in queued]
        assert all(running.steps(q.seq) == ["sent", "acked"] for q in queued)
        assert outbox.gated is False  # the platform's acks said: not gated
        assert running.link.status().alerts_acked == 3
    finally:
        running.link.stop()


@pytest.mark.parametrize("lost_acks", [1, 3])
def test_unacked_alert_is_resent_byte_identical_until_acked(
    keys: Keys, platform_server: TestPlatform, outbox: Outbox, lost_acks: int
) -> None:
    platform_server.silent_first = lost_acks
    pending = outbox.add_alert(alert_builder())
    running = Running(_settings(keys, platform_server.endpoint), outbox)
    try:
        assert platform_server.wait_for(lambda: outbox.depth() == 0, 15)
        assert platform_server.raw == [pending.payload] * (lost_acks + 1)
        results = [a.result for a in platform_server.answers]
        assert results == [AckResult.DUPLICATE]  # the first copies were stored, their acks lost
        assert len(platform_server.alerts()) == 1
        assert running.steps(pending.seq).count("sent") == lost_acks + 1
    finally:
        running.link.stop()


def test_platform_outage_loses_nothing_and_duplicates_nothing(keys: Keys, outbox: Outbox) -> None:
    server = TestPlatform(server=keys.platform).start()
    running = Running(_settings(keys, server.endpoint), outbox)
    try:
        before = [outbox.add_alert(alert_builder()) for _ in range(2)]
        running.link.wake()
        assert server.wait_for(lambda: outbox.depth() == 0, 10)
        server.stop()
        during = [outbox.add_alert(alert_builder()) for _ in range(3)]
        running.link.wake()
        assert server.wait_for(lambda: running.link.status().consecutive_failures >= 3, 10)
        assert outbox.depth() == 3  # kept while the platform is away
        server.start()  # same port, same stored data: the platform came back
        assert server.wait_for(lambda: outbox.depth() == 0, 15)
        stored_seqs = sorted(a.seq for a in server.alerts())
        assert stored_seqs == [a.seq for a in before + during]
        stored_answers = [a.seq for a in server.answers if a.result is AckResult.STORED]
        assert sorted(stored_answers) == stored_seqs  # each stored exactly once
        assert running.link.status().reachable
    finally:
        running.link.stop()
        server.stop()


def test_refused_alert_goes_to_the_dead_letter_table(
    keys: Keys, platform_server: TestPlatform, outbox: Outbox, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse_first(message: Alert | Heartbeat) -> tuple[AckResult, str | None]:
        if message.seq == refused.seq:
            return AckResult.REFUSED, "camera_id_mismatch"
        return AckResult.STORED, None

    refused = outbox.add_alert(alert_builder())
    accepted = outbox.add_alert(alert_builder())
    platform_server.decide = refuse_first
    running = Running(_settings(keys, platform_server.endpoint), outbox)
    try:
        assert platform_server.wait_for(lambda: outbox.depth() == 0, 10)
        [dead] = outbox.dead_letters()
        assert (dead.seq, dead.reason) == (refused.seq, "camera_id_mismatch")
        assert running.steps(refused.seq) == ["sent", "refused"]
        assert running.steps(accepted.seq) == ["sent", "acked"]
        assert running.link.status().alerts_refused == 1
        assert "PLATFORM REFUSED ALERT" in caplog.text
    finally:
        running.link.stop()


@pytest.mark.parametrize("gated", [True, False])
def test_gated_flag_from_acks_is_persisted(
    keys: Keys, platform_server: TestPlatform, outbox: Outbox, gated: bool
) -> None:
    platform_server.gated = gated
    outbox.set_gated(not gated)
    running = Running(_settings(keys, platform_server.endpoint), outbox)
    try:
        running.link.offer_heartbeat(_heartbeat(outbox.next_seq()))
        assert platform_server.wait_for(lambda: outbox.gated is gated, 10)
        assert [h.state for h in platform_server.heartbeats()] == [DeviceState.ACTIVE]
    finally:
        running.link.stop()


@pytest.mark.parametrize(
    "server_key",
    [
        pytest.param("wrong", id="wrong-server-key"),
        pytest.param("nobody", id="nobody-listening"),
    ],
)
def test_unreachable_platform_keeps_alerts_and_drops_heartbeats(keys: Keys, outbox: Outbox, server_key: str) -> None:
    if server_key == "wrong":
        server = TestPlatform(server=keys.platform).start()
        endpoint, public = server.endpoint, zmq.curve_keypair()[0]
    else:
        server, endpoint, public = None, f"tcp://127.0.0.1:{_free_port()}", keys.platform.public
    pending = outbox.add_alert(alert_builder())
    running = Running(_settings(keys, endpoint, public), outbox)
    try:
        running.link.offer_heartbeat(_heartbeat(outbox.next_seq()))
        deadline = time.monotonic() + 10
        while running.link.status().consecutive_failures < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        status = running.link.status()
        assert status.consecutive_failures >= 2 and not status.reachable
        assert status.heartbeats_dropped == 1
        assert outbox.oldest() == pending
        assert "acked" not in running.steps(pending.seq)
        if server is not None:
            assert server.raw == []  # the CURVE handshake failed: not a byte of content got through
    finally:
        running.link.stop()
        if server is not None:
            server.stop()


def test_out_of_order_refusal_moves_the_counter_past_the_platform(
    keys: Keys, platform_server: TestPlatform, outbox: Outbox
) -> None:
    """Another process (a device check, an older outbox) used higher numbers: overtake them, lose nothing."""
    pending = [outbox.add_alert(alert_builder()) for _ in range(5)]
    floor = outbox.next_seq() + 1_000  # the platform has already seen this camera up to here

    def platform_floor(message: Alert | Heartbeat) -> tuple[AckResult, str | None]:
        if message.seq <= floor:
            return AckResult.REFUSED, "out_of_order"
        return AckResult.STORED, None

    platform_server.decide = platform_floor
    running = Running(_settings(keys, platform_server.endpoint), outbox)
    try:
        running.link.offer_heartbeat(_heartbeat(floor - 1))
        assert platform_server.wait_for(lambda: outbox.depth() == 0, 10)
        stored = platform_server.alerts()
        originals = [decode(p.payload) for p in pending]
        assert [a.incident_id for a in stored] == [o.incident_id for o in originals if isinstance(o, Alert)]
        assert [a.message_id for a in stored] == [o.message_id for o in originals]  # the same alerts, in order
        assert all(a.seq > floor for a in stored) and [a.seq for a in stored] == sorted(a.seq for a in stored)
        assert outbox.dead_letters() == []
        assert outbox.next_seq() > stored[-1].seq
    finally:
        running.link.stop()


def test_device_check_and_detector_take_turns_without_losing_anything(
    tmp_path: Path, keys: Keys, platform_server: TestPlatform, outbox: Outbox
) -> None:
    """`nitrosignal detector check` sends one heartbeat numbered by the clock; the detector overtakes it."""
    from device_harness import camera_config_dict, write_yaml

    from detector.check import check_device

    platform_server.monotonic = True
    source = {"type": "rtsp", "url": "rtsp://127.0.0.1/none"}
    config = write_yaml(
        tmp_path / "camera.yaml", camera_config_dict(keys, platform_server.endpoint, source, outbox.path)
    )
    earlier = outbox.add_alert(alert_builder())  # queued before the check ran
    time.sleep(0.01)
    assert check_device(config, timeout_s=10).ok
    running = Running(_settings(keys, platform_server.endpoint), outbox)
    try:
        running.link.offer_heartbeat(_heartbeat(outbox.next_seq()))  # numbered before the check: refused
        assert platform_server.wait_for(lambda: any(a.reason == "out_of_order" for a in platform_server.answers), 10)
        running.link.offer_heartbeat(_heartbeat(outbox.next_seq()))  # the counter has overtaken the check
        assert platform_server.wait_for(lambda: outbox.depth() == 0 and len(platform_server.heartbeats()) == 2, 10)
        assert [a.message_id for a in platform_server.alerts()] == [decode(earlier.payload).message_id]
        assert outbox.dead_letters() == []
    finally:
        running.link.stop()
    assert check_device(config, timeout_s=10).ok  # and a check after the detector is fine too
