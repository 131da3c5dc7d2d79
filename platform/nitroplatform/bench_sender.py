"""The simulated cameras of ``nitrosignal platform bench``: one process, many DEALER sockets, one poll loop.

Each camera sends alerts stop-and-wait like the device outbox (the next after the ack; the same message again
after a timeout) and heartbeats on an interval, with a real CURVE keypair per socket.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import zmq

RESEND_AFTER_S = 5.0
DRAIN_S = 10.0


@dataclass
class SenderStats:
    """What one sender process saw."""

    alerts_sent: int = 0
    alerts_resent: int = 0
    acks_stored: int = 0
    acks_duplicate: int = 0
    acks_refused: dict[str, int] = field(default_factory=dict)
    heartbeats_sent: int = 0
    heartbeat_acks: int = 0
    unacked_at_end: int = 0
    acked_in_window: int = 0
    rtt_ms: list[float] = field(default_factory=list)


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
class _Camera:
    camera_id: str
    socket: zmq.Socket[bytes]
    template: str
    seq: int = 0
    pending: bytes | None = None
    pending_seq: int = 0
    pending_since: float = 0.0
    first_sent: float = 0.0
    next_heartbeat: float = 0.0
    incident_id: str = ""
    incident_alerts: int = 0


def _new_alert(camera: _Camera, now: float, alerts_per_incident: int) -> bytes:
    """The camera's next alert: incidents of ``alerts_per_incident`` alerts (new, updates, end).

    The confidence moves with every alert, so every alert is a relevant change that reaches the SSE stream.
    """
    if camera.incident_alerts == 0 or camera.incident_alerts >= alerts_per_incident:
        camera.incident_id, camera.incident_alerts = str(uuid.uuid4()), 0
    camera.incident_alerts += 1
    if camera.incident_alerts == 1:
        phase = "new"
    else:
        phase = "end" if camera.incident_alerts == alerts_per_incident else "update"
    camera.seq += 1
    stamp = datetime.now(UTC)
    payload = (
        camera.template
        % (
            uuid.uuid4(),
            camera.seq,
            stamp.isoformat(),
            camera.incident_id,
            phase,
            stamp.replace(microsecond=0).isoformat(),
            0.5 + 0.01 * (camera.incident_alerts % 50),
            (stamp + timedelta(minutes=10)).isoformat(),
        )
    ).encode()
    camera.pending, camera.pending_seq = payload, camera.seq
    camera.pending_since = camera.first_sent = now
    return payload


def connect_cameras(
    args: dict[str, Any],
) -> tuple[zmq.Context[zmq.Socket[bytes]], zmq.Poller, list[tuple[str, zmq.Socket[bytes]]]]:
    """One CURVE DEALER per simulated camera in ``args["cameras"]``, all registered on one poller.

    Shared by the benchmark and the soak, so both drive the platform exactly as devices do. The caller
    destroys the returned context when done.
    """
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    context.set(zmq.MAX_SOCKETS, 65536)
    poller = zmq.Poller()
    sockets = []
    for camera_id, public, secret in args["cameras"]:
        socket = context.socket(zmq.DEALER)
        socket.linger = 0
        socket.curve_publickey, socket.curve_secretkey = public.encode(), secret.encode()
        socket.curve_serverkey = args["server_public"].encode()
        socket.connect(args["endpoint"])
        poller.register(socket, zmq.POLLIN)
        sockets.append((camera_id, socket))
    return context, poller, sockets


def run_sender(args: dict[str, Any], results: Any) -> None:
    """One sender process: many cameras, one poll loop; puts its SenderStats (as a dict) on ``results``."""
    stats = SenderStats()
    context, poller, sockets = connect_cameras(args)
    cameras = {socket: _Camera(camera_id, socket, _alert_template(camera_id)) for camera_id, socket in sockets}
    start, stop_at = args["start_at"], args["start_at"] + args["seconds"]
    interval = args["heartbeat_interval_s"]
    while time.time() < start:
        time.sleep(0.005)
    per_incident = args["alerts_per_incident"]
    now = time.monotonic()
    for index, camera in enumerate(cameras.values()):
        camera.next_heartbeat = now + interval * index / max(1, len(cameras))
        camera.socket.send(_new_alert(camera, now, per_incident))
        stats.alerts_sent += 1
    sending = True
    drain_until = 0.0
    next_housekeeping = 0.0
    while True:
        if sending and time.time() >= stop_at:
            sending = False
            drain_until = time.monotonic() + DRAIN_S
        if not sending and (time.monotonic() > drain_until or all(c.pending is None for c in cameras.values())):
            break
        for socket, _ in poller.poll(50):
            camera = cameras[socket]
            while True:
                try:
                    reply = json.loads(socket.recv(zmq.NOBLOCK))
                except zmq.Again:
                    break
                now = time.monotonic()
                if _on_reply(camera, reply, stats, sending, now) and sending:
                    # Stop-and-wait like the device outbox: the next alert goes out as soon as this one is acked.
                    socket.send(_new_alert(camera, now, per_incident))
                    stats.alerts_sent += 1
        now = time.monotonic()
        if now < next_housekeeping:
            continue
        next_housekeeping = now + 0.1
        for camera in cameras.values():
            if camera.pending is not None and now - camera.pending_since > RESEND_AFTER_S:
                camera.socket.send(camera.pending)  # the same message: the platform answers duplicate if stored
                camera.pending_since = now
                stats.alerts_resent += 1
            if sending and now >= camera.next_heartbeat:
                camera.seq += 1
                camera.socket.send(_heartbeat(camera.camera_id, camera.seq))
                camera.next_heartbeat = now + interval
                stats.heartbeats_sent += 1
    stats.unacked_at_end = sum(1 for c in cameras.values() if c.pending is not None)
    context.destroy(linger=0)
    stats.rtt_ms = stats.rtt_ms[:: max(1, len(stats.rtt_ms) // 20000)]
    results.put(asdict(stats))


def _on_reply(camera: _Camera, reply: dict[str, Any], stats: SenderStats, sending: bool, now: float) -> bool:
    """Account for one reply; True when it answered the pending alert."""
    if camera.pending is None or reply.get("seq") != camera.pending_seq:
        stats.heartbeat_acks += 1
        return False
    result = reply.get("result")
    if result == "stored":
        stats.acks_stored += 1
        stats.acked_in_window += 1 if sending else 0
    elif result == "duplicate":
        stats.acks_duplicate += 1
    else:
        reason = str(reply.get("reason"))
        stats.acks_refused[reason] = stats.acks_refused.get(reason, 0) + 1
    stats.rtt_ms.append((now - camera.first_sent) * 1000)
    camera.pending = None
    return True
