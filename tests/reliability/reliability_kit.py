"""Helpers for the reliability tests (a uniquely named module, so it never clashes with a conftest): synthetic
alerts, a device made of the real ``Link`` + ``Outbox``, the platform as a child process that can be SIGKILLed,
and a loopback TCP proxy that drops connections or delays bytes. Every loop is bounded in count and time.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from detector.link import Link
from detector.link_socket import LinkSettings
from detector.outbox import Outbox, PendingAlert
from nitroplatform.db.models import Alert as AlertRow
from nitroplatform.launcher import start_subprocess, wait_ready
from nitroplatform.settings import Settings
from nitrosignal.keys import KeyPair
from nitrosignal.wire import Alert, AlertPhase, ModelRef, PeopleBucket, decode

# -- synthetic alerts ------------------------------------------------------------------------------------


def alert_for(camera_id: str, seq: int, *, sent_at: datetime | None = None) -> Alert:
    """A valid contract alert with ``seq``; each alert opens its own incident (no grouping surprises)."""
    now = sent_at or datetime.now(UTC)
    return Alert(
        message_id=uuid.uuid4(),
        camera_id=camera_id,
        seq=seq,
        sent_at=now,
        incident_id=uuid.uuid4(),
        phase=AlertPhase.NEW,
        occurred_at=now.replace(microsecond=0),
        zone=None,
        confidence=0.9,
        people_involved=PeopleBucket.ONE,
        model=ModelRef(id="balloon-at-mouth", version="0.1.0", sha256="a" * 64),
        expires_at=now + timedelta(minutes=10),
    )


def stored_alerts(factory: sessionmaker[Session], camera_id: str) -> list[tuple[int, str]]:
    """(seq, message_id) of every alert row the platform stored for ``camera_id``, in seq order."""
    with factory() as session:
        rows = session.execute(
            select(AlertRow.seq, AlertRow.message_id).where(AlertRow.camera_id == camera_id).order_by(AlertRow.seq)
        ).all()
    return [(int(seq), str(message_id)) for seq, message_id in rows]


def queued_identity(pending: list[PendingAlert]) -> list[tuple[int, str]]:
    """(seq, message_id) of what the device queued, read from the exact payloads it keeps."""
    return [(item.seq, str(decode(item.payload).message_id)) for item in pending]


def wait_until(condition: Callable[[], bool], timeout_s: float, interval_s: float = 0.1) -> bool:
    """Poll ``condition`` until it holds or ``timeout_s`` passes; True when it held."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval_s)
    return condition()


# -- the device: a real Link and Outbox ---------------------------------------------------------------------


@dataclass
class Device:
    """A camera's link and outbox, driven with synthetic alerts (no video needed)."""

    camera_id: str
    outbox: Outbox
    link: Link
    queued: list[PendingAlert] = field(default_factory=list)

    def detect(self, count: int = 1) -> None:
        """Queue ``count`` alerts in the durable outbox, as the runtime does after a confirmation."""
        for _ in range(count):
            self.queued.append(self.outbox.add_alert(lambda seq: alert_for(self.camera_id, seq)))
        self.link.wake()

    def close(self) -> None:
        """Stop the link and close the outbox."""
        self.link.stop()
        self.outbox.close()


def link_settings(camera_id: str, keys: KeyPair, endpoint: str, server_public: bytes) -> LinkSettings:
    """Impatient link settings: a test's outage lasts seconds, not the real minute of backoff."""
    return LinkSettings(
        endpoint=endpoint,
        server_public_key=server_public,
        camera_keys=keys,
        camera_id=camera_id,
        ack_timeout_s=1.0,
        backoff_initial_s=0.05,
        backoff_max_s=0.5,
    )


# -- the platform as a child process ---------------------------------------------------------------------


@dataclass
class PlatformProcess:
    """``nitrosignal platform serve`` as a child process on fixed loopback ports, so devices can reconnect."""

    settings: Settings
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:port of the HTTP side."""
        return f"http://127.0.0.1:{self.settings.http_port}"

    @property
    def endpoint(self) -> str:
        """The ingest endpoint devices connect to."""
        return self.settings.ingest_bind

    def start(self) -> PlatformProcess:
        """Start the child and wait until /readyz answers."""
        self.process = start_subprocess(self.settings, log_path=str(self.log_path))
        wait_ready(self.base_url, timeout_s=60, process=self.process)
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a power cut."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=20)
        self.process = None

    def stop(self) -> None:
        """Graceful stop (SIGTERM), used at the end of a test."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None

    def log(self) -> str:
        """Everything the child wrote so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


# -- a loopback TCP proxy that misbehaves on request ------------------------------------------------------


class ChaosProxy:
    """A TCP proxy on 127.0.0.1 in front of ``target``; it can drop every connection or delay every chunk.

    ``drop()`` closes all open connections and refuses new ones until ``restore()``; ``delay_s`` holds every
    chunk in both directions for that long (a slow link). Only loopback addresses are ever used.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.delay_s = 0.0
        self.bytes_forwarded = 0
        self._dropping = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._connections: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = int(self._listener.getsockname()[1])
        self._thread = threading.Thread(target=self._accept_loop, name="chaos-proxy", daemon=True)
        self._thread.start()

    @property
    def endpoint(self) -> str:
        """The ZeroMQ endpoint of the proxy."""
        return f"tcp://127.0.0.1:{self.port}"

    def drop(self) -> None:
        """Cut every open connection and refuse new ones (a network outage)."""
        self._dropping.set()
        with self._lock:
            for conn in self._connections:
                _close_quietly(conn)
            self._connections.clear()

    def restore(self) -> None:
        """Let connections through again."""
        self._dropping.clear()

    def close(self) -> None:
        """Stop the proxy."""
        self._stop.set()
        self.drop()
        self._thread.join(timeout=5)
        self._listener.close()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self._dropping.is_set():
                _close_quietly(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=2)
            except OSError:
                _close_quietly(client)
                continue
            with self._lock:
                self._connections.extend([client, upstream])
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        source.settimeout(0.2)
        try:
            while not self._stop.is_set() and not self._dropping.is_set():
                try:
                    chunk = source.recv(65536)
                except TimeoutError:
                    continue
                if not chunk:
                    break
                if self.delay_s:
                    time.sleep(self.delay_s)
                sink.sendall(chunk)
                self.bytes_forwarded += len(chunk)
        except OSError:
            pass
        finally:
            _close_quietly(source)
            _close_quietly(sink)


def _close_quietly(conn: socket.socket) -> None:
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    conn.close()


# -- figures for docs/RELIABILITY.md -----------------------------------------------------------------------

REPORT_ENV = "NITROSIGNAL_RELIABILITY_REPORT"


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def delivery_figures(
    factory: sessionmaker[Session], queued: dict[str, list[PendingAlert]], **extra: object
) -> dict[str, object]:
    """Queued vs stored per message, and detection-to-stored latency (``received_at - sent_at``; ``sent_at`` is
    fixed in the payload at detection time and survives resends)."""
    import statistics

    expected = {(camera, seq, message) for camera, items in queued.items() for seq, message in queued_identity(items)}
    with factory() as session:
        rows = session.execute(
            select(AlertRow.camera_id, AlertRow.seq, AlertRow.message_id, AlertRow.sent_at, AlertRow.received_at).where(
                AlertRow.camera_id.in_(list(queued))
            )
        ).all()
    stored = [(str(camera), int(seq), str(message)) for camera, seq, message, _, _ in rows]
    latencies = sorted((_aware(received) - _aware(sent)).total_seconds() * 1000 for _, _, _, sent, received in rows)
    cuts = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) >= 2 else None
    return {
        "queued": len(expected),
        "stored": len(stored),
        "lost": len(expected - set(stored)),
        "duplicated": len(stored) - len(set(stored)),
        "unexpected": len(set(stored) - expected),
        "detect_to_stored_ms": None
        if cuts is None
        else {"p50": round(cuts[49]), "p95": round(cuts[94]), "p99": round(cuts[98]), "max": round(latencies[-1])},
        **extra,
    }


def record_figures(test_name: str, figures: dict[str, object]) -> None:
    """Append ``figures`` as one JSON line to $NITROSIGNAL_RELIABILITY_REPORT, when it is set."""
    import json

    target = os.environ.get(REPORT_ENV)
    if target:
        load = [round(value, 2) for value in os.getloadavg()]
        with open(target, "a", encoding="utf-8") as report:
            report.write(json.dumps({"test": test_name, "load_average": load, **figures}) + "\n")
