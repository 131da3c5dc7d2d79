"""One camera must never stop ingest for the others: poison messages through the real ingest handler.

Each poison message is sent in the same batch as a good camera's alert and heartbeat, so a failure that escaped
its own message would fail the good ones too (on the old code it did: ``RecursionError`` or a column overflow
failed the whole batch and nothing was acked for anyone). The handler, its flood guard, its refusal log and the
database (SQLite and PostgreSQL) are the real ones; only the socket is left out, so that the batch composition
is exact. The same attack over a real CURVE socket, with hypothesis choosing the payloads, is in
``test_security_ingest_fuzz.py``.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from nitroplatform.db.models import Alert as AlertRow
from nitroplatform.db.models import Camera, Incident
from nitroplatform.gating import OpenGatePolicy
from nitroplatform.incidents.publish import IncidentPublisher
from nitroplatform.ingest.auth import CameraKeyCache
from nitroplatform.ingest.handler import Inbound, IngestHandler
from nitroplatform.ingest.handler import logger as handler_logger
from nitroplatform.ingest.metrics import PlatformMetrics
from nitroplatform.ingest.refusal_log import SampledLog
from nitroplatform.live.bus import LiveBus
from nitroplatform.settings import Settings
from nitrosignal.wire import Ack, decode_reply

GOOD, BAD = "cam-good", "cam-bad"
KEYS = {GOOD: "g" * 40, BAD: "b" * 40}


@dataclass
class Kit:
    """A real ingest handler on the test database, and the means to build messages for it."""

    factory: sessionmaker[Session]
    keys: CameraKeyCache
    data_dir: Path
    metrics: PlatformMetrics = field(default_factory=PlatformMetrics)
    handler: IngestHandler = field(init=False)
    seq: int = 0

    def __post_init__(self) -> None:
        self.use(flood_burst=10**6)

    def use(self, **settings: Any) -> None:
        """A fresh handler (same database, keys and metrics) with these settings."""
        self.handler = IngestHandler(
            settings=Settings(environment="development", data_dir=self.data_dir, gating_mode="open", **settings),
            factory=self.factory,
            key_cache=self.keys,
            gate=OpenGatePolicy(),
            metrics=self.metrics,
            publisher=IncidentPublisher(bus=LiveBus(buffer_size=64)),
        )

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def inbound(self, camera_id: str, payload: bytes) -> Inbound:
        return Inbound(envelope=[camera_id.encode()], payload=payload, user_id=KEYS[camera_id])

    def send(self, *messages: Inbound) -> list[Ack]:
        return [decode_reply(reply.reply) for reply in self.handler.handle(list(messages))]

    def refused(self, reason: str) -> float:
        value = self.metrics.registry.get_sample_value("nitrosignal_ingest_refused_total", {"reason": reason})
        return value or 0.0


def alert_body(camera_id: str, seq: int, **fields: Any) -> dict[str, Any]:
    """A valid alert as a JSON-ready dict; ``fields`` override."""
    now = datetime.now(UTC)
    body: dict[str, Any] = {
        "schema": "nitrosignal.alert/1",
        "message_id": str(uuid.uuid4()),
        "camera_id": camera_id,
        "seq": seq,
        "sent_at": now.isoformat(),
        "incident_id": str(uuid.uuid4()),
        "phase": "new",
        "occurred_at": now.replace(microsecond=0).isoformat(),
        "confidence": 0.91,
        "people_involved": "1",
        "model": {"id": "balloon-at-mouth", "version": "0.1.0", "sha256": "a" * 64},
        "expires_at": (now + timedelta(minutes=5)).isoformat(),
    }
    return body | fields


def heartbeat_body(camera_id: str, seq: int, **fields: Any) -> dict[str, Any]:
    """A valid heartbeat as a JSON-ready dict; ``fields`` override."""
    body: dict[str, Any] = {
        "schema": "nitrosignal.heartbeat/1",
        "message_id": str(uuid.uuid4()),
        "camera_id": camera_id,
        "seq": seq,
        "sent_at": datetime.now(UTC).isoformat(),
        "state": "active",
        "fps_in": 10.0,
        "fps_processed": 9.5,
        "dropped_frames": 0,
        "outbox_depth": 0,
        "uptime_s": 12,
        "config_hash": "c" * 64,
    }
    return body | fields


def raw(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


@pytest.fixture
def kit(session_factory: sessionmaker[Session], tmp_path: Path) -> Iterator[Kit]:
    with session_factory.begin() as db:
        for camera_id, key in KEYS.items():
            db.add(Camera(id=camera_id, public_key=key, name=camera_id, zones=["plein", "poison-zone"]))
    keys = CameraKeyCache(session_factory)
    keys.reload()
    yield Kit(session_factory, keys, tmp_path)


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


# (name, the poison payload for camera seq, the result it gets, the refusal reason or None when it is stored)
POISON: list[tuple[str, Callable[[int], bytes], str, str | None]] = [
    ("nested-brackets-2000", lambda seq: _nested(2000), "refused", "too_nested"),
    ("nested-objects", lambda seq: b'{"a":' * 600 + b"1" + b"}" * 600, "refused", "too_nested"),
    ("dropped-frames-10e30", lambda seq: raw(heartbeat_body(BAD, seq, dropped_frames=10**30)), "refused",
     "invalid_field"),
    ("outbox-depth-2e63", lambda seq: raw(heartbeat_body(BAD, seq, outbox_depth=2**63)), "refused", "invalid_field"),
    ("uptime-negative", lambda seq: raw(heartbeat_body(BAD, seq, uptime_s=-1)), "refused", "invalid_field"),
    ("seq-2e63", lambda seq: raw(alert_body(BAD, 2**63)), "refused", "invalid_field"),
    ("fps-nan", lambda seq: raw(heartbeat_body(BAD, seq)).replace(b'"fps_in": 10.0', b'"fps_in": NaN'), "refused",
     "malformed_json"),
    ("confidence-1e400", lambda seq: raw(alert_body(BAD, seq)).replace(b"0.91", b"1e400"), "refused", "invalid_field"),
    ("sent-at-beyond-utc", lambda seq: raw(alert_body(BAD, seq, sent_at="9999-12-31T23:59:59-01:00")), "refused",
     "invalid_field"),
    ("sent-at-before-year-1", lambda seq: raw(alert_body(BAD, seq, sent_at="0001-01-01T00:00:00+01:00")), "refused",
     "invalid_field"),
    ("counter-of-3500-digits", lambda seq: raw(heartbeat_body(BAD, seq)).replace(b'"uptime_s": 12', b'"uptime_s": '
     + b"9" * 3500), "refused", "invalid_field"),
    ("unicode-camera-id", lambda seq: raw(alert_body("cam-b\u0430d", seq)), "refused", "invalid_field"),
    # Values at the very top of the range are valid, and the columns must hold them (2**31 overflowed
    # PostgreSQL's INTEGER before; the largest 64-bit value is the wire's bound now).
    ("outbox-depth-2e31", lambda seq: raw(heartbeat_body(BAD, seq, outbox_depth=2**31)), "stored", None),
    ("every-counter-at-int64-max", lambda seq: raw(heartbeat_body(
        BAD, seq, dropped_frames=2**63 - 1, outbox_depth=2**63 - 1, uptime_s=2**63 - 1)), "stored", None),
    ("expires-at-year-9999", lambda seq: raw(alert_body(BAD, seq, expires_at="9999-12-31T23:59:59+00:00")), "stored",
     None),
]  # fmt: skip


@pytest.mark.parametrize(("name", "poison", "result", "reason"), POISON, ids=[row[0] for row in POISON])
def test_a_poison_message_fails_only_itself(
    kit: Kit, name: str, poison: Callable[[int], bytes], result: str, reason: str | None
) -> None:
    good_alert, good_heartbeat = kit.next_seq(), kit.next_seq()
    before = kit.refused(reason) if reason else 0.0
    acks = kit.send(
        kit.inbound(GOOD, raw(alert_body(GOOD, good_alert))),
        kit.inbound(BAD, poison(kit.next_seq())),
        kit.inbound(GOOD, raw(heartbeat_body(GOOD, good_heartbeat))),
    )
    assert [(ack.camera_id, ack.result) for ack in acks] == [(GOOD, "stored"), (BAD, result), (GOOD, "stored")]
    assert acks[1].reason == reason
    if reason is not None:
        assert kit.refused(reason) == before + 1
    with kit.factory() as db:
        assert db.scalars(select(AlertRow.seq).where(AlertRow.camera_id == GOOD)).all() == [good_alert]
        assert db.get(Camera, GOOD).last_heartbeat_seq == good_heartbeat  # type: ignore[union-attr]
        if name == "every-counter-at-int64-max":
            stored = db.get(Camera, BAD)
            assert stored is not None and stored.outbox_depth == stored.dropped_frames == 2**63 - 1


def _reject_zone_in_database(factory: sessionmaker[Session], zone: str) -> None:
    """A real database rule the wire schema knows nothing of: the stand-in for any store-time failure."""
    with factory.begin() as db:
        if db.get_bind().dialect.name == "sqlite":
            db.execute(
                text(
                    "CREATE TRIGGER reject_zone BEFORE INSERT ON alerts "
                    f"WHEN NEW.zone = '{zone}' BEGIN SELECT RAISE(ABORT, 'zone refused by the database'); END"
                )
            )
        else:
            db.execute(text(f"ALTER TABLE alerts ADD CONSTRAINT reject_zone CHECK (zone IS DISTINCT FROM '{zone}')"))


def test_a_message_the_database_refuses_fails_only_itself(kit: Kit) -> None:
    """Past every check, the database still refuses one alert: the batch is stored one message at a time, the
    others are acked stored, and that one is refused ``unstorable`` (before: the batch failed, nothing acked)."""
    _reject_zone_in_database(kit.factory, "poison-zone")
    first, poisoned, last = kit.next_seq(), kit.next_seq(), kit.next_seq()
    acks = kit.send(
        kit.inbound(GOOD, raw(alert_body(GOOD, first))),
        kit.inbound(BAD, raw(alert_body(BAD, poisoned, zone="poison-zone"))),
        kit.inbound(GOOD, raw(alert_body(GOOD, last, zone="plein"))),
    )
    assert [(ack.camera_id, ack.result, ack.reason) for ack in acks] == [
        (GOOD, "stored", None),
        (BAD, "refused", "unstorable"),
        (GOOD, "stored", None),
    ]
    assert kit.refused("unstorable") == 1
    with kit.factory() as db:
        assert db.scalars(select(AlertRow.seq).where(AlertRow.camera_id == GOOD).order_by(AlertRow.seq)).all() == [
            first,
            last,
        ]
        assert db.scalars(select(AlertRow.seq).where(AlertRow.camera_id == BAD)).all() == []
    # The camera's next alert is stored again: the refused seq left no trace in the sequence state.
    assert kit.send(kit.inbound(BAD, raw(alert_body(BAD, kit.next_seq()))))[0].result == "stored"


def test_the_flood_guard_charges_garbage_before_decoding_it(kit: Kit) -> None:
    """Malformed messages cost the sender its tokens like valid ones: after its burst the key is refused ``flood``
    without its payload being parsed, and its next valid alert too (before: garbage was never charged)."""
    kit.use(flood_burst=20, flood_rate_per_s=0.01)
    garbage = kit.send(*[kit.inbound(BAD, _nested(2000)) for _ in range(50)])
    assert [ack.reason for ack in garbage] == ["too_nested"] * 20 + ["flood"] * 30
    assert kit.send(kit.inbound(BAD, raw(alert_body(BAD, kit.next_seq()))))[0].reason == "flood"
    # Another camera has its own bucket.
    assert kit.send(kit.inbound(GOOD, raw(alert_body(GOOD, kit.next_seq()))))[0].result == "stored"


def test_refusal_logs_are_sampled_and_every_refusal_is_counted(kit: Kit, caplog: pytest.LogCaptureFixture) -> None:
    """5,000 refusals write at most ``ingest_log_lines_per_reason`` lines per reason per interval and one summary
    line with the rest; the metrics count all 5,000 (before: one WARNING line per refusal)."""
    clock = [0.0]
    # The window closes when the test says so.
    kit.handler.log = SampledLog(handler_logger, per_reason=5, interval_s=10.0, clock=lambda: clock[0])
    with caplog.at_level(logging.INFO, logger="nitroplatform.ingest.handler"):
        for _ in range(10):
            kit.send(*[kit.inbound(BAD, b"{not json") for _ in range(250)])
            kit.send(*[kit.inbound(BAD, _nested(100)) for _ in range(250)])
        clock[0] = 11.0
        kit.handler.log.roll()
    lines = [record.getMessage() for record in caplog.records if record.name == "nitroplatform.ingest.handler"]
    assert kit.refused("malformed_json") == 2500 and kit.refused("too_nested") == 2500
    refusal_lines = [line for line in lines if line.startswith("refused ")]
    assert len(refusal_lines) == 2 * 5, lines[:20]
    summaries = [line for line in lines if "refusal lines left out" in line]
    assert summaries == [summaries[0]] and "malformed_json=2495" in summaries[0] and "too_nested=2495" in summaries[0]


def test_device_times_are_stored_in_whole_seconds(kit: Kit) -> None:
    """``sent_at`` and ``expires_at`` arrive with microseconds; the platform stores every device-derived time
    truncated to the second (``occurred_at`` already arrives so)."""
    sent = datetime(2026, 11, 22, 10, 30, 15, 987654, tzinfo=UTC)
    body = alert_body(
        GOOD,
        kit.next_seq(),
        sent_at=sent.isoformat(),
        occurred_at=sent.replace(microsecond=0).isoformat(),
        expires_at=(sent + timedelta(minutes=5)).isoformat(),
    )
    assert kit.send(kit.inbound(GOOD, raw(body)))[0].result == "stored"
    with kit.factory() as db:
        row = db.scalars(select(AlertRow).where(AlertRow.camera_id == GOOD)).one()
        incident = db.get(Incident, row.incident_id)
        assert incident is not None
        stored = {
            "alerts.sent_at": row.sent_at,
            "alerts.occurred_at": row.occurred_at,
            "alerts.expires_at": row.expires_at,
            "incidents.expires_at": incident.expires_at,
        }
    assert {name: value.microsecond for name, value in stored.items()} == dict.fromkeys(stored, 0)
    assert stored["alerts.sent_at"] == sent.replace(microsecond=0)
    assert stored["incidents.expires_at"] == (sent + timedelta(minutes=5)).replace(microsecond=0)
