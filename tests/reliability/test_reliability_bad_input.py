"""Bad input at the ingest, one table: every refusal is answered (or the connection refused), logged with its
reason and counted in /metrics, while a good camera beside it keeps being served without a single miss.

The table runs inside one platform per database backend; between rows the good camera must make progress,
so "the service keeps serving" is checked after every single bad input, not only at the end. Fuzzing of the
wire parser itself is in tests/core/test_wire_fuzz.py; the CURVE matrix in tests/platform/core.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import zmq
from fastapi.testclient import TestClient
from reliability_kit import record_figures, stored_alerts, wait_until  # type: ignore[import-not-found, unused-ignore]
from sqlalchemy.orm import Session, sessionmaker

from nitrosignal.wire import AckResult

GOOD_CAMERA = "cam-good"
BAD_CAMERA = "cam-bad"


class GoodTraffic(threading.Thread):
    """A well-behaved camera sending alerts stop-and-wait, at most 10 per second, until told to stop."""

    def __init__(self, wire: Any, socket: zmq.Socket[bytes]) -> None:
        super().__init__(daemon=True, name="good-camera")
        self.wire, self.socket = wire, socket
        self.acks: list[tuple[int, AckResult | None]] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        deadline = time.monotonic() + 240
        for seq in range(1, 3001):
            if self.stop_event.is_set() or time.monotonic() > deadline:
                return
            ack = self.wire.exchange(self.socket, self.wire.alert(GOOD_CAMERA, seq), timeout_ms=10_000)
            self.acks.append((seq, None if ack is None else ack.result))
            time.sleep(0.1)


@dataclass
class Attack:
    """What one row sends, and from where."""

    wire: Any
    endpoint: str
    server_public: bytes
    keys: dict[str, Any]
    next_seq: int = 1000

    def socket(self, who: str | None = BAD_CAMERA) -> zmq.Socket[bytes]:
        """A fresh DEALER as ``who`` (a camera id, 'stranger' for an unregistered key, None for no CURVE)."""
        socket: zmq.Socket[bytes] = self.wire.connect(
            self.endpoint, self.server_public, None if who is None else self.keys[who]
        )
        return socket

    def valid(self, camera_id: str = BAD_CAMERA, **fields: Any) -> bytes:
        """A valid alert as bytes, with a fresh, higher seq unless ``fields`` say otherwise."""
        self.next_seq += 1
        fields.setdefault("seq", self.next_seq)
        alert = self.wire.alert(camera_id, **fields)
        return bytes(alert.model_dump_json(by_alias=True).encode())

    def reply(self, socket: zmq.Socket[bytes], frames: list[bytes], timeout_ms: int = 3000) -> dict[str, Any] | None:
        """Send ``frames`` as one message; the decoded last reply frame, or None when nothing came back."""
        socket.send_multipart(frames)
        if not socket.poll(timeout_ms, zmq.POLLIN):
            return None
        answer: dict[str, Any] = json.loads(socket.recv_multipart()[-1])
        return answer


def _one(attack: Attack, payload: bytes, who: str | None = BAD_CAMERA, timeout_ms: int = 3000) -> list[Any]:
    return [attack.reply(attack.socket(who), [payload], timeout_ms)]


def _replay(attack: Attack) -> list[Any]:
    socket = attack.socket()
    first = attack.valid()
    seq = json.loads(first)["seq"]
    return [attack.reply(socket, [first]), attack.reply(socket, [attack.valid(seq=seq)])]


def _out_of_order(attack: Attack) -> list[Any]:
    socket = attack.socket()
    high = attack.valid()
    return [attack.reply(socket, [high]), attack.reply(socket, [attack.valid(seq=json.loads(high)["seq"] - 5)])]


def _with(attack: Attack, change: Callable[[dict[str, Any]], None]) -> list[Any]:
    body = json.loads(attack.valid())
    change(body)
    return _one(attack, json.dumps(body).encode())


def _flood(attack: Attack) -> list[Any]:
    # Pipelined, not stop-and-wait: 60 messages arrive faster than the bucket (burst 30) refills.
    socket = attack.socket("cam-flooder")
    for _ in range(60):
        socket.send(attack.valid("cam-flooder"))
    replies: list[Any] = []
    deadline = time.monotonic() + 30
    while len(replies) < 60 and time.monotonic() < deadline:
        if socket.poll(1000, zmq.POLLIN):
            replies.append(json.loads(socket.recv()))
    return replies


@dataclass(frozen=True)
class Row:
    """One bad input: how to send it, the refusal reason in the reply (None: no reply at all), the refused
    counter label that must grow (None: not counted), and how many of them."""

    name: str
    send: Callable[[Attack], list[Any]]
    reply_reason: str | None
    metric: str | None
    count: int = 1


TABLE: list[Row] = [
    Row("malformed_json", lambda a: _one(a, b'{"schema": "nitrosignal.alert/1", '), "malformed_json", "malformed_json"),
    Row("not_utf8", lambda a: _one(a, b'{"schema": "\xff\xfe"}'), "not_utf8", "not_utf8"),
    Row("not_an_object", lambda a: _one(a, b"[1, 2, 3]"), "not_an_object", "not_an_object"),
    Row("unknown_schema", lambda a: _one(a, b'{"schema": "nitrosignal.video/1"}'), "unknown_schema", "unknown_schema"),
    Row("wrong_type_seq", lambda a: _with(a, lambda b: b.update(seq="seven")), "invalid_field", "invalid_field"),
    Row(
        "wrong_type_confidence",
        lambda a: _with(a, lambda b: b.update(confidence=[0.9])),
        "invalid_field",
        "invalid_field",
    ),
    Row("unknown_field", lambda a: _with(a, lambda b: b.update(thumbnail="AAAA")), "unknown_field", "unknown_field"),
    Row("oversized", lambda a: _one(a, b"{" + b" " * 5000 + b"}"), "oversized", "oversized"),
    # Beyond the socket's MAXMSGSIZE libzmq drops the connection itself: no reply, and not counted.
    Row("oversized_beyond_socket_cap", lambda a: _one(a, b"{" + b" " * 70_000 + b"}", timeout_ms=1500), None, None),
    Row("multipart_flood", lambda a: [a.reply(a.socket(), [b"x"] * 500 + [a.valid()])], "multipart", "multipart"),
    Row("replayed_seq", _replay, "replay", "replay"),
    Row("out_of_order_seq", _out_of_order, "out_of_order", "out_of_order"),
    Row("other_cameras_id", lambda a: _one(a, a.valid(GOOD_CAMERA, seq=99_999)), "camera_mismatch", "camera_mismatch"),
    Row(
        "clock_far_ahead",
        lambda a: _with(a, lambda b: b.update(sent_at=(datetime.now(UTC) + timedelta(hours=2)).isoformat())),
        "clock_skew",
        "clock_skew",
    ),
    Row("unregistered_key", lambda a: _one(a, a.valid("cam-stranger"), "stranger", 1500), None, "unknown_key"),
    # A NULL-mechanism client fails the CURVE handshake inside libzmq, before ZAP: no reply, not counted.
    Row("null_mechanism_client", lambda a: _one(a, a.valid(), None, 1500), None, None),
    Row("flood", _flood, "flood", "flood", count=10),
]


def _refused(metrics: str) -> dict[str, float]:
    found = {}
    prefix = 'nitrosignal_ingest_refused_total{reason="'
    for line in metrics.splitlines():
        if line.startswith(prefix):
            reason, _, value = line[len(prefix) :].partition('"} ')
            found[reason] = float(value)
    return found


def test_each_refusal_is_logged_counted_and_the_good_camera_keeps_being_served(
    request: pytest.FixtureRequest,
    client_factory: Callable[..., TestClient],
    camera_factory: Callable[..., Any],
    wire: Any,
    server_keys: Any,
    session_factory: sessionmaker[Session],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The flooder gets a burst of 30; the good camera (at most 10/s) never comes near the limit.
    client = client_factory(with_ingest=True, flood_burst=30, flood_rate_per_s=20.0)
    ingest = client.app.state.runtime.ingest  # type: ignore[attr-defined]
    keys = {name: camera_factory(name).keypair for name in (GOOD_CAMERA, BAD_CAMERA, "cam-flooder")}
    keys["stranger"] = camera_factory("cam-stranger", register=False).keypair
    ingest.refresh_registry()
    attack = Attack(wire, ingest.endpoint, server_keys[1].public, keys)
    good = GoodTraffic(wire, wire.connect(ingest.endpoint, server_keys[1].public, keys[GOOD_CAMERA]))
    good.start()
    mismatches: list[str] = []
    try:
        assert wait_until(lambda: len(good.acks) >= 3, 30)
        for row in TABLE:
            before_metrics, before_good = _refused(client.get("/metrics").text), len(good.acks)
            caplog.clear()
            with caplog.at_level(logging.INFO):
                replies = row.send(attack)
                # Survival: the good camera is answered again after this bad input.
                if not wait_until(lambda: len(good.acks) >= before_good + 2, 30):  # noqa: B023 - used at once
                    mismatches.append(f"{row.name}: the good camera stalled")
            last = replies[-1]
            if row.reply_reason is None:
                if last is not None:
                    mismatches.append(f"{row.name}: expected no reply, got {last}")
            elif last is None or (last.get("result"), last.get("reason")) != ("refused", row.reply_reason):
                mismatches.append(f"{row.name}: expected refused/{row.reply_reason}, got {last}")
            elif last.get("camera_id") not in (BAD_CAMERA, "cam-flooder"):
                mismatches.append(f"{row.name}: the ack names {last.get('camera_id')}, not the authenticated camera")
            grown = _refused(client.get("/metrics").text)
            delta = {k: v - before_metrics.get(k, 0.0) for k, v in grown.items() if v != before_metrics.get(k, 0.0)}
            expected = {} if row.metric is None else {row.metric: float(row.count)}
            if row.metric == "flood":
                expected = {"flood": delta.get("flood", 0.0)} if delta.get("flood", 0.0) >= row.count else expected
            if delta != expected:
                mismatches.append(f"{row.name}: refused counters grew by {delta}, expected {expected}")
            if row.metric is not None and not any(row.metric in record.getMessage() for record in caplog.records):
                mismatches.append(f"{row.name}: no log line names the reason {row.metric}")
    finally:
        good.stop_event.set()
        good.join(timeout=30)
    assert not mismatches, "\n".join(mismatches)
    results = [result for _, result in good.acks]
    assert results and all(result is AckResult.STORED for result in results), results
    assert [seq for seq, _ in stored_alerts(session_factory, GOOD_CAMERA)] == [seq for seq, _ in good.acks]
    figures = {"bad_inputs": len(TABLE), "good_sent": len(results), "good_stored": len(results), "good_lost": 0}
    record_figures(request.node.name, figures | {"refused": _refused(client.get("/metrics").text)})


def test_a_req_socket_device_is_served_with_its_delimiter_envelope(
    running_platform: TestClient, camera_factory: Callable[..., Any], wire: Any, server_keys: Any
) -> None:
    """DESIGN allows REQ as well as DEALER devices: the multipart refusal must not catch REQ's empty delimiter."""
    ingest = running_platform.app.state.runtime.ingest  # type: ignore[attr-defined]
    camera = camera_factory("cam-req")
    ingest.refresh_registry()
    socket = wire.context.socket(zmq.REQ)
    socket.linger = 0
    socket.curve_secretkey, socket.curve_publickey = camera.keypair.secret, camera.keypair.public
    socket.curve_serverkey = server_keys[1].public
    socket.connect(ingest.endpoint)
    socket.send(wire.alert("cam-req", 1).model_dump_json(by_alias=True).encode())
    assert socket.poll(5000, zmq.POLLIN)
    reply = socket.recv_multipart()
    assert len(reply) == 1 and json.loads(reply[0])["result"] == "stored"
