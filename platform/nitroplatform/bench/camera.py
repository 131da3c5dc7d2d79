"""The simulated camera of the bench and the soak: many in one process, one DEALER each, one poll loop.

Each camera behaves like the device: confirmed alerts wait in a queue (the outbox) and go out one at a
time, the next after the ack, the same bytes again after a timeout; heartbeats go out on an interval,
share the camera's ``seq`` counter and are neither queued nor resent. Every camera has a real CURVE
keypair. What differs between the bench and the soak is only *when* alerts are confirmed, a
:class:`Traffic`: as fast as the platform acks them (the bench), or at random (the soak).
"""

from __future__ import annotations

import json
import multiprocessing
import time
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import zmq

RESEND_AFTER_S = 5.0
MAX_SAMPLES = 50_000
"""Latency samples a sender process returns per list (evenly thinned), so the figures stay cheap to ship."""


@dataclass
class CameraStats:
    """What the cameras of one sender process saw; :meth:`merge` adds up several processes."""

    generated: int = 0
    generated_in_burst: int = 0
    sends: int = 0
    resends: int = 0
    stored: int = 0
    stored_while_sending: int = 0
    duplicate: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    heartbeats_sent: int = 0
    heartbeats_acked: int = 0
    unacked_at_end: int = 0
    detect_to_ack_ms: list[float] = field(default_factory=list)
    send_to_ack_ms: list[float] = field(default_factory=list)

    @classmethod
    def merge(cls, parts: Sequence[CameraStats]) -> CameraStats:
        """The sum of several processes' figures: counts added, refusals per reason, samples joined."""
        total = cls()
        for part in parts:
            for item in fields(cls):
                mine, theirs = getattr(total, item.name), getattr(part, item.name)
                if isinstance(mine, dict):
                    for reason, count in theirs.items():
                        mine[reason] = mine.get(reason, 0) + count
                else:
                    setattr(total, item.name, mine + theirs)
        return total


def _alert_template(camera_id: str) -> str:
    # Built by hand: pydantic per message would make the simulator, not the platform, the bottleneck.
    return (
        '{"schema":"nitrosignal.alert/1","message_id":"%s","camera_id":"' + camera_id + '","seq":%d,'
        '"sent_at":"%s","incident_id":"%s","phase":"%s","occurred_at":"%s","zone":"plein","confidence":%.2f,'
        '"people_involved":"2-4","model":{"id":"balloon-at-mouth","version":"bench","sha256":"' + "e" * 64 + '"},'
        '"expires_at":"%s"}'
    )


def _heartbeat(camera_id: str, seq: int) -> bytes:
    return json.dumps(
        {
            "schema": "nitrosignal.heartbeat/1",
            "message_id": str(uuid.uuid4()),
            "camera_id": camera_id,
            "seq": seq,
            "sent_at": datetime.now(UTC).isoformat(),
            "state": "active",
            "fps_in": 10.0,
            "fps_processed": 10.0,
            "dropped_frames": 0,
            "outbox_depth": 0,
            "model_version": "bench",
            "uptime_s": 1,
            "config_hash": "f" * 64,
        }
    ).encode()


@dataclass
class _Outgoing:
    seq: int
    payload: bytes
    detected: float
    first_sent: float = 0.0
    last_sent: float = 0.0


class SimulatedCamera:
    """One camera: an outbox-like queue sent stop-and-wait, and heartbeats on an interval."""

    def __init__(self, camera_id: str, socket: zmq.Socket[bytes], stats: CameraStats, alerts_per_incident: int) -> None:
        self.camera_id = camera_id
        self.socket = socket
        self.next_heartbeat = 0.0
        self.stats = stats
        self._alerts_per_incident = alerts_per_incident
        self._template = _alert_template(camera_id)
        self._queue: deque[_Outgoing] = deque()
        self._seq = 0
        self._incident_id = ""
        self._incident_alerts = 0

    @property
    def unacked(self) -> int:
        """Alerts waiting for their ack (the one in flight included)."""
        return len(self._queue)

    def detect(self, detected: float, now: float) -> None:
        """An alert is confirmed at ``detected``: it joins the queue and goes out now if nothing is in flight."""
        self._seq += 1
        self._queue.append(_Outgoing(self._seq, self._next_alert(), detected))
        self.stats.generated += 1
        if len(self._queue) == 1:
            self._send_head(now)

    def _next_alert(self) -> bytes:
        """The next alert of incidents of ``alerts_per_incident`` alerts: new, updates, end.

        The confidence moves with every alert, so every alert is a relevant change that reaches the SSE stream.
        """
        if self._incident_alerts == 0 or self._incident_alerts >= self._alerts_per_incident:
            self._incident_id, self._incident_alerts = str(uuid.uuid4()), 0
        self._incident_alerts += 1
        if self._incident_alerts == 1:
            phase = "new"
        else:
            phase = "end" if self._incident_alerts == self._alerts_per_incident else "update"
        stamp = datetime.now(UTC)
        return (
            self._template
            % (
                uuid.uuid4(),
                self._seq,
                stamp.isoformat(),
                self._incident_id,
                phase,
                stamp.replace(microsecond=0).isoformat(),
                0.5 + 0.01 * (self._incident_alerts % 50),
                (stamp + timedelta(minutes=10)).isoformat(),
            )
        ).encode()

    def _send_head(self, now: float) -> None:
        head = self._queue[0]
        self.socket.send(head.payload)
        if head.first_sent:
            self.stats.resends += 1
        else:
            head.first_sent = now
            self.stats.sends += 1
        head.last_sent = now

    def on_reply(self, reply: dict[str, Any], now: float, *, sending: bool) -> bool:
        """Account for one reply; True when it answered the alert in flight (the next one then goes out)."""
        head = self._queue[0] if self._queue else None
        if head is None or reply.get("seq") != head.seq:
            self.stats.heartbeats_acked += 1
            return False
        stats = self.stats
        result = reply.get("result")
        if result == "stored":
            stats.stored += 1
            stats.stored_while_sending += 1 if sending else 0
        elif result == "duplicate":
            stats.duplicate += 1
        else:
            reason = str(reply.get("reason"))
            stats.refused[reason] = stats.refused.get(reason, 0) + 1
        stats.detect_to_ack_ms.append((now - head.detected) * 1000)
        stats.send_to_ack_ms.append((now - head.first_sent) * 1000)
        self._queue.popleft()
        if self._queue:
            self._send_head(now)
        return True

    def housekeeping(self, now: float, *, sending: bool, heartbeat_interval_s: float) -> None:
        """Resend the alert in flight after a timeout; send a heartbeat when one is due (while sending)."""
        if self._queue and now - self._queue[0].last_sent > RESEND_AFTER_S:
            self._send_head(now)  # the same bytes: the platform answers duplicate if it stored them
        if sending and now >= self.next_heartbeat:
            self._seq += 1
            self.socket.send(_heartbeat(self.camera_id, self._seq))
            self.next_heartbeat = now + heartbeat_interval_s
            self.stats.heartbeats_sent += 1


class Traffic(Protocol):
    """When the cameras confirm alerts."""

    def begin(self, cameras: Sequence[SimulatedCamera], now: float) -> None:
        """The sending phase starts at ``now``."""

    def after_ack(self, camera: SimulatedCamera, now: float) -> None:
        """``camera``'s alert in flight was answered (only called while sending)."""

    def tick(self, cameras: Sequence[SimulatedCamera], now: float) -> None:
        """A housekeeping round while sending (every 50 ms)."""


@dataclass(frozen=True)
class SenderPlan:
    """One sender process's share: its cameras ``(camera_id, public, secret)``, the platform, the timing and
    the traffic its cameras make."""

    cameras: list[tuple[str, str, str]]
    endpoint: str
    server_public: str
    start_at: float
    seconds: float
    heartbeat_interval_s: float
    drain_s: float
    alerts_per_incident: int
    traffic: Traffic


def connect_cameras(
    plan: SenderPlan,
) -> tuple[zmq.Context[zmq.Socket[bytes]], zmq.Poller, list[tuple[str, zmq.Socket[bytes]]]]:
    """One CURVE DEALER per simulated camera of the plan, all registered on one poller.

    The caller destroys the returned context when done.
    """
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    context.set(zmq.MAX_SOCKETS, 65536)
    poller = zmq.Poller()
    sockets = []
    for camera_id, public, secret in plan.cameras:
        socket = context.socket(zmq.DEALER)
        socket.linger = 0
        socket.curve_publickey, socket.curve_secretkey = public.encode(), secret.encode()
        socket.curve_serverkey = plan.server_public.encode()
        socket.connect(plan.endpoint)
        poller.register(socket, zmq.POLLIN)
        sockets.append((camera_id, socket))
    return context, poller, sockets


def run_cameras(plan: SenderPlan, results: Any) -> None:
    """One sender process: its cameras in one poll loop; puts its :class:`CameraStats` on ``results``."""
    stats = CameraStats()
    context, poller, sockets = connect_cameras(plan)
    cameras = {socket: SimulatedCamera(name, socket, stats, plan.alerts_per_incident) for name, socket in sockets}
    everyone = list(cameras.values())
    while time.time() < plan.start_at:
        time.sleep(0.005)
    start = time.monotonic()
    stop_at, drain_until = start + plan.seconds, start + plan.seconds + plan.drain_s
    for index, camera in enumerate(everyone):
        camera.next_heartbeat = start + plan.heartbeat_interval_s * index / max(1, len(everyone))
    traffic = plan.traffic
    traffic.begin(everyone, start)
    next_housekeeping = 0.0
    while True:
        now = time.monotonic()
        sending = now < stop_at
        if not sending and (now > drain_until or all(camera.unacked == 0 for camera in everyone)):
            break
        for socket, _ in poller.poll(20):
            camera = cameras[socket]
            for _ in range(64):  # bounded per wake-up, so one chatty socket cannot starve the loop
                try:
                    reply = json.loads(socket.recv(zmq.NOBLOCK))
                except zmq.Again:
                    break
                now = time.monotonic()
                if camera.on_reply(reply, now, sending=sending) and sending:
                    traffic.after_ack(camera, now)
        now = time.monotonic()
        if now < next_housekeeping:
            continue
        next_housekeeping = now + 0.05
        if sending:
            traffic.tick(everyone, now)
        for camera in everyone:
            camera.housekeeping(now, sending=sending, heartbeat_interval_s=plan.heartbeat_interval_s)
    stats.unacked_at_end = sum(camera.unacked for camera in everyone)
    context.destroy(linger=0)
    for samples in (stats.detect_to_ack_ms, stats.send_to_ack_ms):
        samples[:] = samples[:: max(1, len(samples) // MAX_SAMPLES)]
    results.put(stats)


class Senders:
    """Sender processes (spawned), one per plan."""

    def __init__(self, plans: Sequence[SenderPlan]) -> None:
        context = multiprocessing.get_context("spawn")
        self._results: Any = context.Queue()
        self._processes = [context.Process(target=run_cameras, args=(plan, self._results)) for plan in plans]
        for process in self._processes:
            process.start()

    def results(self, timeout_s: float) -> CameraStats:
        """Wait for every process's figures (each within ``timeout_s``) and add them up."""
        collected = [self._results.get(timeout=timeout_s) for _ in self._processes]
        for process in self._processes:
            process.join(timeout=10)
        return CameraStats.merge(collected)
