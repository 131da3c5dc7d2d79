"""The wire contract as a table of valid and invalid messages."""

from __future__ import annotations

import contextlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from nitrosignal.wire import (
    MAX_MESSAGE_BYTES,
    Ack,
    AckResult,
    Alert,
    ContractError,
    Heartbeat,
    decode,
    decode_reply,
    encode,
    people_bucket,
)

NOW = datetime(2026, 7, 4, 14, 30, 12, tzinfo=UTC)


def alert_dict(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "schema": "nitrosignal.alert/1",
        "message_id": str(uuid.uuid4()),
        "camera_id": "scheveningen-01",
        "seq": 7,
        "sent_at": NOW.isoformat(),
        "incident_id": str(uuid.uuid4()),
        "phase": "new",
        "occurred_at": NOW.isoformat(),
        "zone": "boulevard-north",
        "confidence": 0.87,
        "people_involved": "2-4",
        "model": {"id": "balloon-at-mouth", "version": "1.0.0", "sha256": "a" * 64},
        "expires_at": (NOW + timedelta(minutes=5)).isoformat(),
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not ...}


def heartbeat_dict(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "schema": "nitrosignal.heartbeat/1",
        "message_id": str(uuid.uuid4()),
        "camera_id": "scheveningen-01",
        "seq": 8,
        "sent_at": NOW.isoformat(),
        "state": "active",
        "fps_in": 25.0,
        "fps_processed": 12.5,
        "dropped_frames": 3,
        "outbox_depth": 0,
        "model_version": "1.0.0",
        "uptime_s": 3600,
        "config_hash": "b" * 64,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not ...}


def raw(obj: object) -> bytes:
    return json.dumps(obj).encode()


@pytest.mark.parametrize(
    ("payload", "expected_type", "expectation"),
    [
        (raw(alert_dict()), Alert, contextlib.nullcontext()),
        (raw(alert_dict(zone=None)), Alert, contextlib.nullcontext()),
        (raw(alert_dict(zone=...)), Alert, contextlib.nullcontext()),
        (raw(alert_dict(phase="end", people_involved="5+")), Alert, contextlib.nullcontext()),
        (raw(heartbeat_dict()), Heartbeat, contextlib.nullcontext()),
        (
            raw(heartbeat_dict(state="degraded", reason="camera_feed_lost")),
            Heartbeat,
            contextlib.nullcontext(),
        ),
        # refusals, each with the reason code the receiver logs and counts
        (b"{not json", None, pytest.raises(ContractError, match="malformed_json")),
        (b"\xff\xfe", None, pytest.raises(ContractError, match="not_utf8")),
        (b"[1, 2]", None, pytest.raises(ContractError, match="not_an_object")),
        (
            raw(alert_dict(schema="nitrosignal.alert/2")),
            None,
            pytest.raises(ContractError, match="unknown_schema"),
        ),
        (raw(alert_dict(schema=...)), None, pytest.raises(ContractError, match="unknown_schema")),
        (raw(alert_dict(bbox=[1, 2, 3, 4])), None, pytest.raises(ContractError, match="unknown_field")),
        (raw(alert_dict(thumbnail="aGVsbG8=")), None, pytest.raises(ContractError, match="unknown_field")),
        (raw(alert_dict(track_id=12)), None, pytest.raises(ContractError, match="unknown_field")),
        (raw(heartbeat_dict(frame="...")), None, pytest.raises(ContractError, match="unknown_field")),
        (raw(alert_dict(seq=0)), None, pytest.raises(ContractError, match="invalid_field")),
        (raw(alert_dict(seq="7")), Alert, contextlib.nullcontext()),
        (raw(alert_dict(confidence=0.873)), None, pytest.raises(ContractError, match="two decimals")),
        (raw(alert_dict(confidence=1.5)), None, pytest.raises(ContractError, match="invalid_field")),
        (raw(alert_dict(people_involved="3")), None, pytest.raises(ContractError, match="invalid_field")),
        (raw(alert_dict(phase="maybe")), None, pytest.raises(ContractError, match="invalid_field")),
        (
            raw(alert_dict(message_id=str(uuid.uuid1()))),
            None,
            pytest.raises(ContractError, match="version-4"),
        ),
        (
            raw(alert_dict(sent_at="2026-07-04T14:30:12")),
            None,
            pytest.raises(ContractError, match="timezone"),
        ),
        (
            raw(alert_dict(occurred_at="2026-07-04T14:30:12.5+00:00")),
            None,
            pytest.raises(ContractError, match="whole second"),
        ),
        (raw(alert_dict(camera_id="Camera 1")), None, pytest.raises(ContractError, match="invalid_field")),
        (raw(alert_dict(zone="x" * 49)), None, pytest.raises(ContractError, match="invalid_field")),
        (
            raw(alert_dict(zone="5,12 near the pier")),
            None,
            pytest.raises(ContractError, match="invalid_field"),
        ),
        (
            raw(alert_dict(model={"id": "m", "version": "1", "sha256": "zz"})),
            None,
            pytest.raises(ContractError),
        ),
        (
            raw(heartbeat_dict(reason="a person in a red coat was seen")),
            None,
            pytest.raises(ContractError, match="invalid_field"),
        ),
        (raw(heartbeat_dict(state="sleeping")), None, pytest.raises(ContractError, match="invalid_field")),
        (raw(heartbeat_dict(dropped_frames=-1)), None, pytest.raises(ContractError, match="invalid_field")),
        (
            raw(alert_dict(padding="x" * MAX_MESSAGE_BYTES)),
            None,
            pytest.raises(ContractError, match="oversized"),
        ),
    ],
)
def test_decode_table(payload: bytes, expected_type: type | None, expectation: Any) -> None:
    with expectation:
        message = decode(payload)
        assert isinstance(message, expected_type)  # type: ignore[arg-type]


@pytest.mark.parametrize("factory", [alert_dict, heartbeat_dict])
def test_round_trip_is_lossless_and_small(factory: Any) -> None:
    message = decode(raw(factory()))
    encoded = encode(message)
    assert decode(encoded) == message
    assert len(encoded) < 1024


def test_alert_only_has_allow_listed_fields() -> None:
    encoded = json.loads(encode(decode(raw(alert_dict()))))
    assert set(encoded) == {
        "schema", "message_id", "camera_id", "seq", "sent_at", "incident_id", "phase", "occurred_at",
        "zone", "confidence", "people_involved", "model", "expires_at",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("count", "bucket", "expectation"),
    [
        (1, "1", contextlib.nullcontext()),
        (2, "2-4", contextlib.nullcontext()),
        (4, "2-4", contextlib.nullcontext()),
        (5, "5+", contextlib.nullcontext()),
        (40, "5+", contextlib.nullcontext()),
        (0, None, pytest.raises(ValueError, match="at least 1")),
    ],
)
def test_people_bucket(count: int, bucket: str | None, expectation: Any) -> None:
    with expectation:
        assert people_bucket(count).value == bucket


@pytest.mark.parametrize(
    ("payload", "expectation"),
    [
        (
            raw({"schema": "nitrosignal.ack/1", "camera_id": "c1", "seq": 3, "result": "stored"}),
            contextlib.nullcontext(),
        ),
        (
            raw(
                {
                    "schema": "nitrosignal.ack/1",
                    "camera_id": "c1",
                    "seq": 3,
                    "result": "refused",
                    "reason": "gated",
                }
            ),
            contextlib.nullcontext(),
        ),
        (
            raw({"schema": "nitrosignal.ack/1", "camera_id": "c1", "seq": 3, "result": "ok"}),
            pytest.raises(ContractError),
        ),
        (raw({"schema": "nitrosignal.ack/1", "seq": 3, "result": "stored"}), pytest.raises(ContractError)),
        (b"nope", pytest.raises(ContractError, match="malformed_json")),
    ],
)
def test_decode_reply_table(payload: bytes, expectation: Any) -> None:
    with expectation:
        assert isinstance(decode_reply(payload), Ack)


def test_encode_refuses_oversized_ack() -> None:
    ack = Ack(camera_id="c1", seq=1, result=AckResult.STORED)
    assert len(encode(ack)) < MAX_MESSAGE_BYTES


@pytest.mark.parametrize("name", ["alert.schema.json", "heartbeat.schema.json", "ack.schema.json"])
def test_committed_json_schemas_match_the_models(name: str) -> None:
    from pathlib import Path

    from nitrosignal.wire.schemas import SCHEMA_FILES, render

    committed = Path(__file__).resolve().parents[2] / "docs" / "schemas" / name
    assert committed.read_text() == render(SCHEMA_FILES[name]), (
        "docs/schemas is stale: run python -m nitrosignal.wire.schemas docs/schemas"
    )
