"""The device's only connection to the world: one ZeroMQ DEALER socket, CURVE always on, connecting out.

The socket itself is set up by :mod:`detector.link_socket`, which the device check shares.
Stop-and-wait: one message in flight, acked by the platform with the same ``seq``. Alerts come from the
durable outbox and are resent until acked (``stored``/``duplicate`` remove them, ``refused`` moves them
to the dead-letter table, loudly). Heartbeats are not durable: only the latest one waits, and one that
gets no ack is dropped. When an ack does not come in time the socket is closed and reopened with the same
keys (zguide's Lazy Pirate), and the next attempt waits an exponentially growing backoff. Every ack
carries the platform's ``gated`` flag, which is persisted in the outbox.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import zmq

from detector.link_socket import LinkSettings, new_link_socket
from detector.outbox import Outbox, PendingAlert
from nitrosignal.wire import AckResult, ContractError, Heartbeat, decode_reply, encode

logger = logging.getLogger(__name__)

MAX_RESEQUENCE = 32
"""Give up on an alert the platform keeps calling out of order after this many jumps (the last is years)."""

TraceStep = Literal["detected", "queued", "sent", "acked", "refused"]


@dataclass(frozen=True)
class AlertTrace:
    """One step on an alert's way out, for the demo's headless trace and for logs."""

    step: TraceStep
    seq: int | None
    incident_id: str
    phase: str
    detail: str = ""


TraceHook = Callable[[AlertTrace], None]


@dataclass(frozen=True)
class LinkStatus:
    """What the runtime and the heartbeat need to know about the link."""

    reachable: bool
    consecutive_failures: int
    last_ack_at: float | None
    alerts_acked: int
    alerts_refused: int
    heartbeats_dropped: int


@dataclass(frozen=True)
class _Outgoing:
    seq: int
    payload: bytes
    alert: PendingAlert | None


class Link:
    """Background sender of outbox alerts and heartbeats. Call :meth:`start`, then :meth:`stop`."""

    def __init__(self, settings: LinkSettings, outbox: Outbox, on_trace: TraceHook | None = None) -> None:
        self._settings = settings
        self._outbox = outbox
        self._on_trace = on_trace
        self._context = zmq.Context()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._heartbeat: Heartbeat | None = None
        self._thread: threading.Thread | None = None
        self._reachable = False
        self._failures = 0
        self._last_ack_at: float | None = None
        self._acked = 0
        self._refused = 0
        self._heartbeats_dropped = 0
        self._out_of_order = 0

    # -- public API -------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the sender thread."""
        self._thread = threading.Thread(target=self._run, name="nitrosignal-link", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the sender and close the socket; unacked alerts stay in the outbox for the next start."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self._context.term()

    def wake(self) -> None:
        """Tell the sender that the outbox has something new."""
        self._wake.set()

    def offer_heartbeat(self, heartbeat: Heartbeat) -> None:
        """Queue a heartbeat, replacing (and counting as dropped) one that has not gone out yet."""
        with self._lock:
            if self._heartbeat is not None:
                self._heartbeats_dropped += 1
            self._heartbeat = heartbeat
        self._wake.set()

    def status(self) -> LinkStatus:
        """A consistent snapshot of the link's health."""
        with self._lock:
            return LinkStatus(
                reachable=self._reachable,
                consecutive_failures=self._failures,
                last_ack_at=self._last_ack_at,
                alerts_acked=self._acked,
                alerts_refused=self._refused,
                heartbeats_dropped=self._heartbeats_dropped,
            )

    # -- sender thread ----------------------------------------------------------------------------------

    def _open_socket(self) -> zmq.Socket[bytes]:
        sock = new_link_socket(self._context, self._settings)
        sock.connect(self._settings.endpoint)
        return sock

    def _next_outgoing(self) -> _Outgoing | None:
        with self._lock:
            heartbeat, self._heartbeat = self._heartbeat, None
        if heartbeat is not None:
            # Heartbeats go first: they are small and they are how the platform knows we are alive.
            return _Outgoing(seq=heartbeat.seq, payload=encode(heartbeat), alert=None)
        alert = self._outbox.oldest()
        if alert is not None:
            return _Outgoing(seq=alert.seq, payload=alert.payload, alert=alert)
        return None

    def _run(self) -> None:
        sock = self._open_socket()
        backoff = self._settings.backoff_initial_s
        try:
            while not self._stop.is_set():
                outgoing = self._next_outgoing()
                if outgoing is None:
                    self._wake.wait(0.2)
                    self._wake.clear()
                    continue
                if self._exchange(sock, outgoing):
                    backoff = self._settings.backoff_initial_s
                    continue
                # Lazy Pirate: the socket may be stuck on a dead peer; a fresh one reconnects cleanly.
                sock.close(linger=0)
                sock = self._open_socket()
                with self._lock:
                    self._failures += 1
                    self._reachable = False
                    if outgoing.alert is None:
                        self._heartbeats_dropped += 1
                logger.warning(
                    "platform %s did not ack seq %d (attempt failure %d); retrying in %.1fs",
                    self._settings.endpoint,
                    outgoing.seq,
                    self._failures,
                    backoff,
                )
                self._stop.wait(backoff)
                backoff = min(backoff * 2.0, self._settings.backoff_max_s)
        finally:
            sock.close(linger=0)

    def _exchange(self, sock: zmq.Socket[bytes], outgoing: _Outgoing) -> bool:
        """Send one message and wait for its ack; True when the platform answered it."""
        deadline = time.monotonic() + self._settings.ack_timeout_s
        try:
            sock.send(outgoing.payload)
        except zmq.Again:
            return False
        if outgoing.alert is not None:
            self._trace("sent", outgoing.alert)
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        while not self._stop.is_set():
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            if remaining_ms <= 0:
                return False
            if not poller.poll(min(remaining_ms, 200)):
                continue
            raw = sock.recv()
            try:
                ack = decode_reply(raw)
            except ContractError as exc:
                logger.error("platform sent an invalid reply (%s); ignoring it", exc)
                continue
            if ack.seq != outgoing.seq or ack.camera_id != self._settings.camera_id:
                # A late ack for an earlier attempt; the current message is still in flight.
                continue
            self._handle_ack(outgoing, ack.result, ack.reason, ack.gated)
            return True
        return False

    def _handle_ack(self, outgoing: _Outgoing, result: AckResult, reason: str | None, gated: bool) -> None:
        if gated != self._outbox.gated:
            logger.warning("platform says this camera is %s", "GATED (no approved IAMA)" if gated else "not gated")
        self._outbox.set_gated(gated)
        with self._lock:
            self._reachable = True
            self._failures = 0
            self._last_ack_at = time.time()
        if result is not AckResult.REFUSED:
            self._out_of_order = 0
        alert = outgoing.alert
        if result is AckResult.REFUSED and reason == "out_of_order":
            self._overtake(outgoing)
            return
        if alert is None:
            if result is AckResult.REFUSED:
                logger.error("platform refused heartbeat seq %d: %s", outgoing.seq, reason)
            return
        if result is AckResult.REFUSED:
            self._outbox.move_to_dead_letter(alert.seq, reason or "unspecified")
            with self._lock:
                self._refused += 1
            logger.error(
                "PLATFORM REFUSED ALERT seq %d (incident %s, %s): %s; moved to the dead-letter table",
                alert.seq,
                alert.incident_id,
                alert.phase,
                reason,
            )
            self._trace("refused", alert, reason or "")
            return
        self._outbox.remove(alert.seq)
        with self._lock:
            self._acked += 1
        self._trace("acked", alert, result.value)

    def _overtake(self, outgoing: _Outgoing) -> None:
        """The platform has seen higher numbers for this camera: jump the counter past them and resend."""
        self._out_of_order += 1
        # Counters start at the wall clock in ms, and so does a device check: "now" overtakes what they used.
        # The platform does not say how far ahead it is, so each further refusal in a row jumps twice as far.
        self._outbox.advance_seq(1_000 * 2 ** (self._out_of_order - 1))
        alert = outgoing.alert
        if alert is None:
            logger.warning("platform said heartbeat seq %d is out of order; seq counter moved forward", outgoing.seq)
            return
        if self._out_of_order > MAX_RESEQUENCE:
            self._outbox.move_to_dead_letter(alert.seq, "out_of_order")
            with self._lock:
                self._refused += 1
            logger.error(
                "PLATFORM REFUSED ALERT seq %d as out of order %d times; dead-lettered", alert.seq, MAX_RESEQUENCE
            )
            self._trace("refused", alert, "out_of_order")
            return
        moved = self._outbox.resequence_pending()
        logger.warning(
            "platform said alert seq %d is out of order; renumbered %d pending alert(s) from seq %s on",
            alert.seq,
            len(moved),
            moved[0][1] if moved else "?",
        )

    def _trace(self, step: TraceStep, alert: PendingAlert, detail: str = "") -> None:
        if self._on_trace is not None:
            self._on_trace(AlertTrace(step, alert.seq, alert.incident_id, alert.phase, detail))
