"""Ingest rules over real CURVE sockets: idempotency, replay, ordering, clock skew, flood, size and parse
refusals (logged with their reason and counted), gating, and acks only after the commit."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from nitroplatform.db.engine import make_engine
from nitroplatform.db.models import Alert, Camera
from nitrosignal.wire import AckResult

FIXED_ID = uuid.UUID("5e0c8f5a-2b8e-4c5b-9a43-1f2d3c4b5a61")
OTHER_ID = uuid.UUID("0f9d7c1e-3a2b-4e6f-8d9c-0b1a2c3d4e5f")


def _ingest(client: TestClient) -> Any:
    return client.app.state.runtime.ingest  # type: ignore[attr-defined]


@pytest.fixture
def device(running_platform: TestClient, camera_factory: Callable[..., Any], wire: Any, server_keys: Any) -> Any:
    """A registered camera 'cam-1' with a connected DEALER."""
    camera = camera_factory("cam-1")
    _ingest(running_platform).refresh_registry()
    return wire.connect(_ingest(running_platform).endpoint, server_keys[1].public, camera.keypair)


# Each row: messages sent in order (kind, seq, message_id or None for fresh, extra fields); the result and
# reason of the LAST message; and how many alert rows are stored in the end.
SEQUENCE_TABLE = [
    pytest.param([("alert", 1, None, {})], AckResult.STORED, None, 1, id="first-alert-stored"),
    pytest.param(
        [("alert", 5, FIXED_ID, {}), ("alert", 5, FIXED_ID, {})],
        AckResult.DUPLICATE,
        None,
        1,
        id="same-message-again-is-duplicate",
    ),
    pytest.param(
        [("alert", 5, FIXED_ID, {}), ("alert", 5, OTHER_ID, {})],
        AckResult.REFUSED,
        "replay",
        1,
        id="same-seq-other-message-is-replay",
    ),
    pytest.param(
        [("alert", 5, None, {}), ("alert", 3, None, {})],
        AckResult.REFUSED,
        "out_of_order",
        1,
        id="alert-below-highest-seq",
    ),
    pytest.param([("alert", 5, None, {}), ("alert", 6, None, {})], AckResult.STORED, None, 2, id="next-seq-stored"),
    pytest.param(
        [("heartbeat", 4, None, {}), ("heartbeat", 4, None, {})],
        AckResult.REFUSED,
        "out_of_order",
        0,
        id="heartbeat-same-seq-new-message",
    ),
    pytest.param(
        [("heartbeat", 4, FIXED_ID, {}), ("heartbeat", 4, FIXED_ID, {})],
        AckResult.DUPLICATE,
        None,
        0,
        id="heartbeat-resent",
    ),
    pytest.param(
        [("heartbeat", 4, None, {}), ("heartbeat", 2, None, {})],
        AckResult.REFUSED,
        "out_of_order",
        0,
        id="heartbeat-older",
    ),
    pytest.param(
        [("alert", 1, None, {"sent_at": datetime.now(UTC) + timedelta(hours=1)})],
        AckResult.REFUSED,
        "clock_skew",
        0,
        id="sent-in-the-future",
    ),
    pytest.param(
        [("alert", 1, None, {"sent_at": datetime.now(UTC) - timedelta(hours=6)})],
        AckResult.STORED,
        None,
        1,
        id="old-resend-from-outbox-is-fine",
    ),
]


@pytest.mark.parametrize(("sequence", "expected", "reason", "stored"), SEQUENCE_TABLE)
def test_sequence_rules(
    sequence: list[Any],
    expected: AckResult,
    reason: str | None,
    stored: int,
    device: Any,
    wire: Any,
    session_factory: sessionmaker[Session],
) -> None:
    ack = None
    for kind, seq, message_id, extra in sequence:
        fields = {**extra, **({"message_id": message_id} if message_id else {})}
        if kind == "alert":
            fields.setdefault("incident_id", FIXED_ID)
            message = wire.alert("cam-1", seq, **fields)
        else:
            message = wire.heartbeat("cam-1", seq, **fields)
        ack = wire.exchange(device, message)
        assert ack is not None
    assert ack is not None and (ack.result, ack.reason) == (expected, reason)
    assert ack.seq == sequence[-1][1]
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == stored


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        pytest.param(b"{" + b" " * 5000 + b"}", "oversized", id="oversized"),
        pytest.param(b'{"schema": "nitrosignal.alert/1", ', "malformed_json", id="malformed"),
        pytest.param(b'{"schema": "nitrosignal.video/1"}', "unknown_schema", id="unknown-schema"),
        pytest.param(b"[1, 2]", "not_an_object", id="not-an-object"),
    ],
)
def test_bad_payloads_are_refused_logged_and_counted(
    payload: bytes, reason: str, device: Any, wire: Any, running_platform: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="nitroplatform.ingest.handler"):
        ack = wire.exchange(device, payload)
    assert ack is not None and ack.result == AckResult.REFUSED and ack.reason == reason
    assert ack.camera_id == "cam-1"
    assert any(reason in record.getMessage() for record in caplog.records)
    metrics = running_platform.get("/metrics").text
    assert f'nitrosignal_ingest_refused_total{{reason="{reason}"}} 1.0' in metrics
    # The server keeps serving after the refusal.
    good = wire.exchange(device, wire.alert("cam-1", 1))
    assert good is not None and good.result == AckResult.STORED


def test_unknown_and_invalid_fields_are_refused(device: Any, wire: Any) -> None:
    valid = wire.alert("cam-1", 1).model_dump_json(by_alias=True)
    with_extra = valid[:-1] + ', "thumbnail": "AAAA"}'
    ack = wire.exchange(device, with_extra.encode())
    assert ack is not None and (ack.result, ack.reason) == (AckResult.REFUSED, "unknown_field")
    invalid = valid.replace('"phase":"new"', '"phase":"maybe"')
    ack = wire.exchange(device, invalid.encode())
    assert ack is not None and (ack.result, ack.reason) == (AckResult.REFUSED, "invalid_field")


def test_flood_guard_refuses_beyond_the_burst(
    client_factory: Callable[..., TestClient], camera_factory: Callable[..., Any], wire: Any, server_keys: Any
) -> None:
    client = client_factory(with_ingest=True, flood_burst=3, flood_rate_per_s=0.01)
    camera = camera_factory("cam-flood")
    _ingest(client).refresh_registry()
    socket = wire.connect(_ingest(client).endpoint, server_keys[1].public, camera.keypair)
    results = [wire.exchange(socket, wire.alert("cam-flood", seq)) for seq in range(1, 6)]
    assert [(ack.result, ack.reason) for ack in results if ack] == [(AckResult.STORED, None)] * 3 + [
        (AckResult.REFUSED, "flood")
    ] * 2
    assert 'nitrosignal_ingest_refused_total{reason="flood"} 2.0' in client.get("/metrics").text


def test_gated_camera_alerts_dropped_heartbeat_told(
    client_factory: Callable[..., TestClient],
    camera_factory: Callable[..., Any],
    wire: Any,
    server_keys: Any,
    session_factory: sessionmaker[Session],
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = client_factory(with_ingest=True, gating_mode="iama")
    camera = camera_factory("cam-gated")  # no deployment, so no approved IAMA
    _ingest(client).refresh_registry()
    socket = wire.connect(_ingest(client).endpoint, server_keys[1].public, camera.keypair)
    with caplog.at_level(logging.INFO, logger="nitroplatform.ingest.handler"):
        ack = wire.exchange(socket, wire.alert("cam-gated", 1))
    assert ack is not None and (ack.result, ack.reason, ack.gated) == (AckResult.REFUSED, "gated", True)
    assert any("gated" in record.getMessage() and "no_deployment" in record.getMessage() for record in caplog.records)
    heartbeat_ack = wire.exchange(socket, wire.heartbeat("cam-gated", 2))
    assert heartbeat_ack is not None and (heartbeat_ack.result, heartbeat_ack.gated) == (AckResult.STORED, True)
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 0
        stored = session.get(Camera, "cam-gated")
        assert stored is not None and stored.gated and stored.last_state == "active"


def test_ack_only_after_commit(
    device: Any, wire: Any, migrated_database_url: str, session_factory: sessionmaker[Session]
) -> None:
    """While another transaction holds the write lock, no ack comes; after it ends, the ack comes with the row."""
    engine = make_engine(migrated_database_url)
    blocker = engine.connect()
    try:
        if engine.dialect.name == "sqlite":
            blocker.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            blocker.execute(text("LOCK TABLE alerts IN EXCLUSIVE MODE"))
        device.send(wire.alert("cam-1", 1).model_dump_json(by_alias=True).encode())
        assert device.poll(1500) == 0, "the platform acked before it could commit"
    finally:
        blocker.rollback()
        blocker.close()
        engine.dispose()
    assert device.poll(10_000) != 0
    from nitrosignal.wire import decode_reply

    ack = decode_reply(device.recv())
    assert ack.result == AckResult.STORED
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Alert).where(Alert.seq == 1)) == 1


@pytest.mark.parametrize(
    ("heartbeat_state", "offline_after_s", "wait_s", "expected_status"),
    [
        ("active", 60.0, 0.0, "active"),
        ("degraded", 60.0, 0.0, "degraded"),
        ("inactive_schedule", 60.0, 0.0, "inactive_schedule"),
        ("active", 0.5, 1.0, "offline"),
    ],
)
def test_camera_status_from_heartbeats(
    heartbeat_state: str,
    offline_after_s: float,
    wait_s: float,
    expected_status: str,
    client_factory: Callable[..., TestClient],
    camera_factory: Callable[..., Any],
    wire: Any,
    server_keys: Any,
    token_factory: Callable[..., dict[str, str]],
) -> None:
    import time

    from nitroplatform.auth.deps import Role

    client = client_factory(with_ingest=True, offline_after_s=offline_after_s)
    camera = camera_factory("cam-status")
    _ingest(client).refresh_registry()
    socket = wire.connect(_ingest(client).endpoint, server_keys[1].public, camera.keypair)
    reason = None if heartbeat_state == "active" else "low_fps"
    ack = wire.exchange(socket, wire.heartbeat("cam-status", 1, state=heartbeat_state, reason=reason, outbox_depth=3))
    assert ack is not None and ack.result == AckResult.STORED
    time.sleep(wait_s)
    body = client.get("/api/v1/cameras/cam-status", headers=token_factory("coord", roles=[Role.coordinator])).json()
    assert body["status"] == expected_status
    assert (body["outbox_depth"], body["last_reason"]) == (3, reason)


def test_reregistered_camera_starts_a_new_sequence(
    running_platform: TestClient,
    camera_factory: Callable[..., Any],
    wire: Any,
    server_keys: Any,
    session_factory: sessionmaker[Session],
) -> None:
    from nitroplatform.cameras import remove_camera

    old = camera_factory("cam-swap")
    _ingest(running_platform).refresh_registry()
    socket = wire.connect(_ingest(running_platform).endpoint, server_keys[1].public, old.keypair)
    assert wire.exchange(socket, wire.alert("cam-swap", 500)).result == AckResult.STORED
    with session_factory() as session:
        remove_camera(session, camera_id="cam-swap")
        session.commit()
    _ingest(running_platform).refresh_registry()
    new = camera_factory("cam-swap")  # replaced device, new key, counting from 1 again
    _ingest(running_platform).refresh_registry()
    fresh = wire.connect(_ingest(running_platform).endpoint, server_keys[1].public, new.keypair)
    ack = wire.exchange(fresh, wire.alert("cam-swap", 1))
    assert ack is not None and (ack.result, ack.reason) == (AckResult.STORED, None)
