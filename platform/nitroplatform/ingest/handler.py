"""Validate, store and acknowledge one drained batch of device messages.

Every check that needs no database runs first, message by message (``ingest/precheck.py``): a message that
fails there is refused on its own and never enters the transaction. The rest of the batch is one database
transaction, and every reply (stored, duplicate or refused) is produced only after that transaction committed,
so a ``stored`` ack always means the alert is durable.

If the commit fails because the database is unreachable, nothing is acked and the devices resend from their
outboxes; idempotency on ``(camera_id, seq)`` makes that exactly-once. If it fails for any other reason, the batch
is retried one message per transaction: the messages that store are acked, so one message never fails another. A
message that still fails alone is refused (``unstorable``) only when the database said its data cannot be stored (a
data or integrity error); any other failure (a missing table, a bug) leaves it unacked, so a platform fault never
makes devices drop valid alerts.

Per-camera sequence state (highest alert seq, last heartbeat) is kept in memory for speed and loaded from
the database for cameras not seen yet; it changes only after a successful commit.
"""

from __future__ import annotations

import logging
import sqlite3
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import exc as sa_exc
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from nitroplatform.db.bulk import BulkWriter
from nitroplatform.db.models import Alert as AlertRow
from nitroplatform.db.models import Camera, alert_table, camera_table, utcnow
from nitroplatform.gating import GateDecision, GatePolicy
from nitroplatform.incidents.publish import IncidentPublisher
from nitroplatform.incidents.service import AlertFacts, apply_alerts
from nitroplatform.ingest.auth import CameraKeyCache
from nitroplatform.ingest.flood import FloodGuard
from nitroplatform.ingest.metrics import PlatformMetrics
from nitroplatform.ingest.precheck import UNKNOWN_CAMERA, Checked, Inbound, MessageCheck, Refusal
from nitroplatform.ingest.refusal_log import SampledLog
from nitroplatform.settings import Settings
from nitrosignal.wire import AckResult, Alert, Heartbeat
from nitrosignal.wire.messages import ACK_SCHEMA

logger = logging.getLogger(__name__)

__all__ = ["UNKNOWN_CAMERA", "Inbound", "IngestHandler", "Outbound", "Refusal", "ack_bytes"]

# Errors that say the database is not there, busy or not answering, as opposed to a message it cannot take. The
# driver's own classes are listed too: the PostgreSQL COPY of the hot path raises them unwrapped.
_DATABASE_UNAVAILABLE = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
    sqlite3.OperationalError,
    sqlite3.InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)
# Errors that say this message's data cannot be stored: refused, so its device stops resending it.
_DATA_REFUSED = (
    sa_exc.DataError,
    sa_exc.IntegrityError,
    sqlite3.DataError,
    sqlite3.IntegrityError,
    psycopg.DataError,
    psycopg.IntegrityError,
    OverflowError,
)


@dataclass(slots=True)
class Outbound:
    """One reply to send back along ``envelope``."""

    envelope: list[bytes]
    reply: bytes


@dataclass(slots=True)
class _SeqState:
    last_alert_seq: int
    last_heartbeat_seq: int
    last_heartbeat_message_id: str | None


@dataclass
class _Batch:
    """What one batch accepted so far (nothing is visible outside until the commit)."""

    alerts: list[Alert] = field(default_factory=list)
    alert_ids: dict[tuple[str, int], str] = field(default_factory=dict)
    max_alert_seq: dict[str, int] = field(default_factory=dict)
    heartbeats: dict[str, tuple[Heartbeat, bool]] = field(default_factory=dict)
    # (envelope, kind, camera, seq, result, refusal or None, gated), turned into replies after the commit.
    outcomes: list[tuple[list[bytes], str, str, int, AckResult, Refusal | None, bool]] = field(default_factory=list)
    # One gate decision per camera per batch: every message of a batch is judged at the same ``now``.
    gates: dict[str, GateDecision] = field(default_factory=dict)


class IngestHandler:
    """Turns batches of raw messages into stored rows and replies."""

    def __init__(
        self,
        *,
        settings: Settings,
        factory: sessionmaker[Session],
        key_cache: CameraKeyCache,
        gate: GatePolicy,
        publisher: IncidentPublisher,
        metrics: PlatformMetrics,
    ) -> None:
        """Args: the platform's settings, session factory, key cache, gate policy, publisher and metrics."""
        self._settings = settings
        self._factory = factory
        self._keys = key_cache
        self._gate = gate
        self._publisher = publisher
        self._metrics = metrics
        self._check = MessageCheck(
            flood=FloodGuard(rate_per_s=settings.flood_rate_per_s, burst=settings.flood_burst),
            flood_rate_per_s=settings.flood_rate_per_s,
            skew=timedelta(seconds=settings.clock_skew_tolerance_s),
        )
        self.log = SampledLog(
            logger, per_reason=settings.ingest_log_lines_per_reason, interval_s=settings.ingest_log_interval_s
        )
        self._state: dict[str, _SeqState] = {}
        self._writer: BulkWriter | None = None
        self._counters: dict[tuple[str, str], Any] = {}

    def _count(self, kind: str, result: str) -> None:
        # Cache the labelled children: .labels() per message costs more than the increment.
        counter = self._counters.get((kind, result))
        if counter is None:
            counter = self._counters[(kind, result)] = self._metrics.messages.labels(kind, result)
        counter.inc()

    def handle(self, messages: Sequence[Inbound]) -> list[Outbound]:
        """Check ``messages``, store the valid ones in one transaction; return the replies to send after it.

        Messages refused before the transaction are answered in any case. The others are answered only once
        their transaction committed; none of them is answered while the database is unavailable (devices resend).
        """
        started = time.perf_counter()
        for camera_id in self._keys.take_changed():
            self.forget(camera_id)
        now = utcnow()
        monotonic = time.monotonic()
        # Registry look-ups once per message and batch (one lock), not once per use.
        camera_ids = self._keys.cameras_for([message.user_id for message in messages])
        checked = [
            self._check.check(message, camera_id, now, monotonic)
            for message, camera_id in zip(messages, camera_ids, strict=True)
        ]
        # Replies keep the order of the messages: a device may match them to its sends by position.
        slots: list[Outbound | None] = [
            None if item.refusal is None else self._refuse(item, item.refusal) for item in checked
        ]
        positions = [index for index, item in enumerate(checked) if item.refusal is None]
        if positions:
            valid = [checked[index] for index in positions]
            try:
                stored: list[Outbound | None] = list(self._transaction(valid, now))
            except Exception as exc:
                self._state.clear()  # re-read from the database: the failed batch changed nothing there
                self._metrics.storage_errors.inc()
                if isinstance(exc, _DATABASE_UNAVAILABLE):
                    self.log.log(
                        logging.ERROR,
                        "batch_failed",
                        "ingest batch of %d messages failed; nothing acked (database unavailable), devices will resend",
                        len(valid),
                        exc_info=True,
                    )
                    stored = [None] * len(valid)
                else:
                    stored = self._one_by_one(valid, now)
            for index, reply in zip(positions, stored, strict=True):
                slots[index] = reply
        self._metrics.batch_seconds.observe(time.perf_counter() - started)
        self._metrics.batch_size.observe(len(messages))
        return [reply for reply in slots if reply is not None]

    def _one_by_one(self, valid: Sequence[Checked], now: datetime) -> list[Outbound | None]:
        """After a batch failed for a reason other than the database: one transaction per message.

        Returns one entry per message: its reply, or None when the database became unavailable (not acked).
        """
        self.log.log(
            logging.ERROR,
            "batch_failed",
            "ingest batch of %d messages failed; storing them one by one to find the message at fault",
            len(valid),
            exc_info=True,
        )
        replies: list[Outbound | None] = []
        for item in valid:
            try:
                replies.extend(self._transaction([item], now))
            except _DATABASE_UNAVAILABLE:
                self._state.clear()
                replies.extend([None] * (len(valid) - len(replies)))  # not acked: devices resend
                break
            except _DATA_REFUSED as exc:
                self._state.clear()
                self._metrics.storage_errors.inc()
                detail = f"the database refused it: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
                replies.append(self._refuse(item, Refusal("unstorable", detail)))
            except Exception:
                self._state.clear()
                self._metrics.storage_errors.inc()
                self.log.log(
                    logging.ERROR,
                    "message_failed",
                    "storing seq %d of camera %s failed alone; not acked, the device will resend",
                    item.seq,
                    item.camera_id,
                    exc_info=True,
                )
                replies.append(None)
        return replies

    def _transaction(self, valid: Sequence[Checked], now: datetime) -> list[Outbound]:
        batch = _Batch()
        with self._factory() as session:
            self._load_state(session, [item.camera_id for item in valid])
            for item in valid:
                self._accept(session, item, batch, now)
            drafts, changes = self._store(session, batch, now)
            session.commit()
        self._commit_state(batch)
        failures = self._publisher.deliver(drafts, changes)
        if failures:
            self._metrics.listener_errors.inc(failures)
        for change in changes:
            self._metrics.incident_changes.labels(change.kind).inc()
        replies = []
        for envelope, kind, camera_id, seq, result, refusal, gated in batch.outcomes:
            if refusal is not None:
                self._log_refusal(kind, camera_id, seq, refusal, gated)
            else:
                self._count(kind, str(result))
            reason = refusal.reason if refusal is not None else None
            replies.append(Outbound(envelope, ack_bytes(camera_id, seq, result, reason=reason, gated=gated)))
        return replies

    def _refuse(self, item: Checked, refusal: Refusal) -> Outbound:
        self._log_refusal(item.kind, item.camera_id, item.seq, refusal, gated=False)
        reply = ack_bytes(item.camera_id, item.seq, AckResult.REFUSED, reason=refusal.reason)
        return Outbound(item.inbound.envelope, reply)

    def _log_refusal(self, kind: str, camera_id: str, seq: int, refusal: Refusal, gated: bool) -> None:
        self.log.log(
            logging.INFO if gated else logging.WARNING,
            refusal.reason,
            "refused %s from camera %s seq %d: %s (%s)",
            kind,
            camera_id,
            seq,
            refusal.reason,
            refusal.detail,
        )
        self._metrics.refused.labels(refusal.reason).inc()
        self._count(kind, "refused")

    def _load_state(self, session: Session, camera_ids: Sequence[str]) -> None:
        missing: set[str] = set(camera_ids) - self._state.keys()
        if not missing:
            return
        rows = session.execute(
            select(Camera.id, Camera.last_alert_seq, Camera.last_heartbeat_seq, Camera.last_heartbeat_message_id).where(
                Camera.id.in_(missing)
            )
        )
        for camera_id, alert_seq, heartbeat_seq, heartbeat_message_id in rows:
            self._state[camera_id] = _SeqState(alert_seq, heartbeat_seq, heartbeat_message_id)

    def _accept(self, session: Session, item: Checked, batch: _Batch, now: datetime) -> None:
        camera_id, decoded = item.camera_id, item.message
        assert decoded is not None  # only checked messages come here
        gated = False
        try:
            if camera_id not in self._state:
                camera_id = UNKNOWN_CAMERA
                raise Refusal("unknown_camera", f"key {str(item.inbound.user_id)[:8]}... is no longer registered")
            decision = batch.gates.get(camera_id)
            if decision is None:
                decision = batch.gates[camera_id] = self._gate.is_gated(session, camera_id, now)
            gated = decision.gated
            if isinstance(decoded, Alert):
                if decision.gated:
                    raise _GatedRefusal(decision.reason)
                result = self._accept_alert(session, decoded, batch)
            else:
                result = self._accept_heartbeat(decoded, batch, decision.gated)
            batch.outcomes.append((item.inbound.envelope, item.kind, camera_id, item.seq, result, None, gated))
        except Refusal as refusal:
            gated = isinstance(refusal, _GatedRefusal)
            outcome = (item.inbound.envelope, item.kind, camera_id, item.seq, AckResult.REFUSED, refusal, gated)
            batch.outcomes.append(outcome)

    def _accept_alert(self, session: Session, alert: Alert, batch: _Batch) -> AckResult:
        camera_id, seq, message_id = alert.camera_id, alert.seq, str(alert.message_id)
        committed = self._state[camera_id].last_alert_seq
        running = batch.max_alert_seq.get(camera_id, committed)
        if seq > running:
            batch.alerts.append(alert)
            batch.alert_ids[(camera_id, seq)] = message_id
            batch.max_alert_seq[camera_id] = seq
            return AckResult.STORED
        stored_id = batch.alert_ids.get((camera_id, seq))
        if stored_id is None and seq <= committed:
            stored_id = session.scalar(
                select(AlertRow.message_id).where(AlertRow.camera_id == camera_id, AlertRow.seq == seq)
            )
        if stored_id is None:
            raise Refusal("out_of_order", f"seq {seq} is below the highest stored alert seq {running}")
        if stored_id != message_id:
            raise Refusal("replay", f"seq {seq} was already used by another message")
        return AckResult.DUPLICATE

    def _accept_heartbeat(self, heartbeat: Heartbeat, batch: _Batch, gated: bool) -> AckResult:
        camera_id, seq, message_id = heartbeat.camera_id, heartbeat.seq, str(heartbeat.message_id)
        state = self._state[camera_id]
        pending = batch.heartbeats.get(camera_id)
        last_seq, last_id = (
            (pending[0].seq, str(pending[0].message_id))
            if pending
            else (state.last_heartbeat_seq, state.last_heartbeat_message_id)
        )
        if seq == last_seq and message_id == last_id:
            return AckResult.DUPLICATE
        if seq <= last_seq:
            raise Refusal("out_of_order", f"heartbeat seq {seq} is not above the last heartbeat seq {last_seq}")
        batch.heartbeats[camera_id] = (heartbeat, gated)
        return AckResult.STORED

    def _store(self, session: Session, batch: _Batch, now: datetime) -> tuple[Any, Any]:
        writer = self._writer or BulkWriter(session.get_bind().dialect.name)
        self._writer = writer
        grouping = apply_alerts(session, alerts=[_facts(alert) for alert in batch.alerts], now=now, writer=writer)
        connection = session.connection()
        received = writer.time(now)
        alert_rows = [
            _alert_row(writer, alert, incident_id, received)
            for alert, incident_id in zip(batch.alerts, grouping.incident_ids, strict=True)
        ]
        writer.insert(connection, alert_table, ALERT_COLUMNS, alert_rows)
        seq_rows = [(seq, camera) for camera, seq in batch.max_alert_seq.items()]
        writer.update(connection, camera_table, ("last_alert_seq",), ("id",), seq_rows)
        heartbeat_rows = [_heartbeat_row(writer, hb, gated, received) for hb, gated in batch.heartbeats.values()]
        writer.update(connection, camera_table, HEARTBEAT_COLUMNS, ("id",), heartbeat_rows)
        drafts = self._publisher.stage(session, grouping.changed)
        return drafts, grouping.changed

    def _commit_state(self, batch: _Batch) -> None:
        for camera_id, seq in batch.max_alert_seq.items():
            self._state[camera_id].last_alert_seq = seq
        for camera_id, (heartbeat, _) in batch.heartbeats.items():
            state = self._state[camera_id]
            state.last_heartbeat_seq = heartbeat.seq
            state.last_heartbeat_message_id = str(heartbeat.message_id)

    def forget(self, camera_id: str) -> None:
        """Drop cached sequence state for a camera (after it was removed or re-registered)."""
        self._state.pop(camera_id, None)


class _GatedRefusal(Refusal):
    def __init__(self, why: str) -> None:
        super().__init__("gated", why)


def _whole_second(value: datetime) -> datetime:
    """A device-derived time as stored: truncated to the whole second, as ``occurred_at`` already arrives.

    Sub-second precision of a device's clock carries nothing the platform needs, and can tell apart events or
    devices that should look alike (DESIGN.md §3).
    """
    return value.replace(microsecond=0) if value.microsecond else value


def _facts(alert: Alert) -> AlertFacts:
    return AlertFacts(
        camera_id=alert.camera_id,
        device_incident_id=alert.incident_id,
        phase=alert.phase.value,
        zone=alert.zone,
        confidence=alert.confidence,
        people_involved=alert.people_involved.value,
        model_id=alert.model.id,
        model_version=alert.model.version,
        model_sha256=alert.model.sha256,
        expires_at=_whole_second(alert.expires_at),
    )


ALERT_COLUMNS = (
    "camera_id",
    "seq",
    "message_id",
    "received_at",
    "sent_at",
    "incident_id",
    "device_incident_id",
    "phase",
    "occurred_at",
    "zone",
    "confidence",
    "people_involved",
    "model_id",
    "model_version",
    "model_sha256",
    "expires_at",
)
HEARTBEAT_COLUMNS = (
    "last_heartbeat_at",
    "last_heartbeat_seq",
    "last_heartbeat_message_id",
    "last_state",
    "last_reason",
    "fps_in",
    "fps_processed",
    "dropped_frames",
    "outbox_depth",
    "model_version",
    "uptime_s",
    "config_hash",
    "gated",
)


def _alert_row(writer: BulkWriter, alert: Alert, incident_id: uuid.UUID, received: Any) -> tuple[Any, ...]:
    return (
        alert.camera_id,
        alert.seq,
        str(alert.message_id),
        received,
        writer.time(_whole_second(alert.sent_at)),
        writer.uuid(incident_id),
        writer.uuid(alert.incident_id),
        str(alert.phase),
        writer.time(alert.occurred_at),
        alert.zone,
        alert.confidence,
        str(alert.people_involved),
        alert.model.id,
        alert.model.version,
        alert.model.sha256,
        writer.time(_whole_second(alert.expires_at)),
    )


def _heartbeat_row(writer: BulkWriter, heartbeat: Heartbeat, gated: bool, received: Any) -> tuple[Any, ...]:
    return (
        received,
        heartbeat.seq,
        str(heartbeat.message_id),
        str(heartbeat.state),
        heartbeat.reason,
        heartbeat.fps_in,
        heartbeat.fps_processed,
        heartbeat.dropped_frames,
        heartbeat.outbox_depth,
        heartbeat.model_version,
        heartbeat.uptime_s,
        heartbeat.config_hash,
        writer.flag(gated),
        heartbeat.camera_id,
    )


def ack_bytes(camera_id: str, seq: int, result: AckResult, reason: str | None = None, gated: bool = False) -> bytes:
    """The encoded Ack, byte-identical to ``encode(Ack(...))`` but without a model per message (hot path).

    Formatting by hand is safe here: ``camera_id`` comes from the registry (or is ``unknown``) and ``reason``
    from our own machine vocabulary, so neither can contain characters that need JSON escaping;
    ``test_platform_bulk`` checks the equivalence with the model.
    """
    reason_part = f',"reason":"{reason}"' if reason is not None else ""
    return (
        f'{{"schema":"{ACK_SCHEMA}","camera_id":"{camera_id}","seq":{seq},"result":"{result.value}"'
        f'{reason_part},"gated":{"true" if gated else "false"}}}'
    ).encode()
