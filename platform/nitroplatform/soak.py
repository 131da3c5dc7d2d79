"""``nitrosignal platform soak``: many cameras for a long time at a realistic mix, with a 10x burst.

Where ``bench`` pushes alerts as fast as the platform acks them, the soak runs the traffic a deployment
sees: every camera sends a heartbeat on an interval and alerts at random (a Poisson process, mean one per
``alert_interval_s``), grouped in incidents of new/update/end. For ``burst_s`` seconds in the middle the
alert rate is ``burst_factor`` times higher. Each camera behaves like the device: its alerts wait in a
queue (the outbox), go out one at a time, and are resent unchanged until acked.

It reports delivered, lost and duplicated alerts (checked against the database after the run), latency
percentiles (detection to ack, first send to ack, ingest to the SSE stream), the platform's RSS over time
and whether it stayed flat, and every refusal. The building blocks (camera registration, message templates,
the SSE reader, counting rows, throw-away PostgreSQL schemas, the platform child process) are ``bench``'s
and ``bench_sender``'s.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import subprocess
import tempfile
import threading
import time
import uuid
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
import zmq

from nitroplatform.bench import (
    PG_ENV,
    _count_stored,
    _drop_pg_schema,
    _percentiles,
    _scrape_ingest_metrics,
    _SseReader,
    _throwaway_pg_schema,
    prepare_platform,
)
from nitroplatform.bench_sender import _alert_template, _heartbeat, connect_cameras
from nitroplatform.launcher import start_subprocess, wait_ready

RESEND_AFTER_S = 5.0
DRAIN_S = 30.0
PHASES = ("new", "update", "update", "end")


@dataclass(frozen=True)
class SoakConfig:
    """What to run. The defaults are the issue's: 1,000 cameras for 10 minutes with a 10x burst."""

    cameras: int = 1000
    seconds: float = 600.0
    alert_interval_s: float = 60.0
    heartbeat_interval_s: float = 10.0
    burst_factor: float = 10.0
    burst_s: float = 60.0
    burst_at_s: float | None = None
    rss_interval_s: float = 5.0
    sender_processes: int = 1
    seed: int = 8

    @property
    def burst_start_s(self) -> float:
        """When the burst begins (the middle of the run unless set)."""
        return self.burst_at_s if self.burst_at_s is not None else max(0.0, (self.seconds - self.burst_s) / 2)


@dataclass
class _Outgoing:
    seq: int
    payload: bytes
    detected: float
    first_sent: float = 0.0
    last_sent: float = 0.0


@dataclass
class _Camera:
    camera_id: str
    socket: zmq.Socket[bytes]
    template: str
    seq: int = 0
    queue: deque[_Outgoing] = field(default_factory=deque)
    next_alert: float = 0.0
    next_heartbeat: float = 0.0
    incident_id: str = ""
    phase_index: int = 0


@dataclass
class _SenderStats:
    generated: int = 0
    generated_in_burst: int = 0
    sends: int = 0
    resends: int = 0
    stored: int = 0
    duplicate: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    heartbeats_sent: int = 0
    heartbeats_acked: int = 0
    unacked_at_end: int = 0
    detect_to_ack_ms: list[float] = field(default_factory=list)
    send_to_ack_ms: list[float] = field(default_factory=list)
    per_camera_generated: dict[str, int] = field(default_factory=dict)


def _next_alert_payload(camera: _Camera) -> tuple[int, bytes]:
    if camera.phase_index % len(PHASES) == 0:
        camera.incident_id = str(uuid.uuid4())
    phase = PHASES[camera.phase_index % len(PHASES)]
    camera.phase_index += 1
    camera.seq += 1
    stamp = datetime.now(UTC)
    payload = camera.template % (
        uuid.uuid4(),
        camera.seq,
        stamp.isoformat(),
        camera.incident_id,
        phase,
        stamp.replace(microsecond=0).isoformat(),
        0.5 + 0.01 * (camera.phase_index % 40),
        (stamp + timedelta(minutes=10)).isoformat(),
    )
    return camera.seq, payload.encode()


def _send_head(camera: _Camera, now: float, stats: _SenderStats) -> None:
    head = camera.queue[0]
    camera.socket.send(head.payload)
    if head.first_sent:
        stats.resends += 1
    else:
        head.first_sent = now
        stats.sends += 1
    head.last_sent = now


def _on_reply(camera: _Camera, reply: dict[str, Any], stats: _SenderStats, now: float) -> None:
    head = camera.queue[0] if camera.queue else None
    if head is None or reply.get("seq") != head.seq:
        stats.heartbeats_acked += 1
        return
    result = reply.get("result")
    if result == "stored":
        stats.stored += 1
    elif result == "duplicate":
        stats.duplicate += 1
    else:
        reason = str(reply.get("reason"))
        stats.refused[reason] = stats.refused.get(reason, 0) + 1
    stats.detect_to_ack_ms.append((now - head.detected) * 1000)
    stats.send_to_ack_ms.append((now - head.first_sent) * 1000)
    camera.queue.popleft()
    if camera.queue:
        _send_head(camera, now, stats)


def _sender(args: dict[str, Any], results: Any) -> None:
    """One sender process: many cameras in one poll loop, each with an outbox-like queue."""
    rng = random.Random(args["seed"])
    stats = _SenderStats()
    context, poller, sockets = connect_cameras(args)
    cameras = {socket: _Camera(camera_id, socket, _alert_template(camera_id)) for camera_id, socket in sockets}
    while time.time() < args["start_at"]:
        time.sleep(0.01)
    base_rate = 1.0 / args["alert_interval_s"]
    start = time.monotonic()
    stop_at = start + args["seconds"]
    burst_from, burst_to = start + args["burst_start_s"], start + args["burst_start_s"] + args["burst_s"]
    for index, camera in enumerate(cameras.values()):
        camera.next_heartbeat = start + args["heartbeat_interval_s"] * index / max(1, len(cameras))
        camera.next_alert = start + rng.expovariate(base_rate)
    drain_until = stop_at + args["drain_s"]
    next_housekeeping = 0.0
    was_in_burst = False
    while True:
        now = time.monotonic()
        sending = now < stop_at
        if not sending and (now > drain_until or all(not c.queue for c in cameras.values())):
            break
        for socket, _ in poller.poll(20):
            camera = cameras[socket]
            for _ in range(64):  # bounded per wake-up, so one chatty socket cannot starve the loop
                try:
                    reply = json.loads(socket.recv(zmq.NOBLOCK))
                except zmq.Again:
                    break
                _on_reply(camera, reply, stats, time.monotonic())
        now = time.monotonic()
        if now < next_housekeeping:
            continue
        next_housekeeping = now + 0.05
        in_burst = burst_from <= now < burst_to
        rate = base_rate * (args["burst_factor"] if in_burst else 1.0)
        if in_burst != was_in_burst:
            # Poisson arrivals are memoryless: redrawing every camera's next alert at the new rate is exact.
            was_in_burst = in_burst
            for camera in cameras.values():
                camera.next_alert = now + rng.expovariate(rate)
        for camera in cameras.values():
            while sending and now >= camera.next_alert:
                seq, payload = _next_alert_payload(camera)
                camera.queue.append(_Outgoing(seq, payload, detected=camera.next_alert))
                stats.generated += 1
                stats.generated_in_burst += 1 if in_burst else 0
                stats.per_camera_generated[camera.camera_id] = camera.seq
                camera.next_alert += rng.expovariate(rate)
                if len(camera.queue) == 1:
                    _send_head(camera, now, stats)
            if camera.queue and camera.queue[0].first_sent and now - camera.queue[0].last_sent > RESEND_AFTER_S:
                _send_head(camera, now, stats)  # the same bytes: the platform answers duplicate if stored
            if sending and now >= camera.next_heartbeat:
                # Heartbeats share the camera's seq counter, as on the device; they are not queued or resent.
                camera.seq += 1
                camera.socket.send(_heartbeat(camera.camera_id, camera.seq))
                camera.next_heartbeat = now + args["heartbeat_interval_s"]
                stats.heartbeats_sent += 1
    stats.unacked_at_end = sum(len(c.queue) for c in cameras.values())
    context.destroy(linger=0)
    for name in ("detect_to_ack_ms", "send_to_ack_ms"):
        values = getattr(stats, name)
        setattr(stats, name, values[:: max(1, len(values) // 50_000)])
    results.put(asdict(stats))


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


class _RssSampler(threading.Thread):
    """Samples the platform's resident memory every ``interval_s`` seconds."""

    def __init__(self, pid: int, interval_s: float, started: float) -> None:
        super().__init__(daemon=True, name="soak-rss")
        self.pid, self.interval_s, self.started = pid, interval_s, started
        self.samples: list[tuple[float, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.interval_s):
            rss = _rss_mb(self.pid)
            if rss is not None:
                self.samples.append((round(time.time() - self.started, 1), rss))


def rss_verdict(samples: list[tuple[float, float]], tolerance: float = 0.10) -> dict[str, Any]:
    """Whether memory stayed flat: the last quarter's median within ``tolerance`` of the second quarter's.

    The first quarter is warm-up (caches, connection state for every camera, SQLite page cache).
    """
    values = [rss for _, rss in samples]
    if len(values) < 8:
        return {"flat": None, "why": f"only {len(values)} samples"}
    quarter = len(values) // 4
    second = sorted(values[quarter : 2 * quarter])[quarter // 2]
    last = sorted(values[-quarter:])[quarter // 2]
    growth = (last - second) / second
    return {
        "flat": growth <= tolerance,
        "second_quarter_median_mb": second,
        "last_quarter_median_mb": last,
        "growth": round(growth, 3),
        "max_mb": max(values),
    }


def soak_one(url: str, config: SoakConfig) -> dict[str, Any]:
    """Run the soak against one empty database URL and return the figures."""
    with tempfile.TemporaryDirectory(prefix="nitrosignal-soak-") as tmp:
        workdir = Path(tmp)
        prepared = prepare_platform(url, workdir, config.cameras)
        settings, cameras, token = prepared.settings, prepared.cameras, prepared.token
        base_url = f"http://127.0.0.1:{settings.http_port}"
        process = start_subprocess(settings, log_path=str(workdir / "platform.log"))
        try:
            wait_ready(base_url, timeout_s=120, process=process)
            reader = _SseReader(base_url, token)
            reader.start()
            reader.connected.wait(10)
            start_at = time.time() + 3.0 + config.cameras / 300  # time for every CURVE handshake
            rss = _RssSampler(process.pid, config.rss_interval_s, start_at)
            rss.start()
            context = multiprocessing.get_context("spawn")
            results: Any = context.Queue()
            senders = []
            for index in range(config.sender_processes):
                args = {
                    **asdict(config),
                    "cameras": cameras[index :: config.sender_processes],
                    "endpoint": prepared.ingest_endpoint,
                    "server_public": prepared.server_public,
                    "start_at": start_at,
                    "burst_start_s": config.burst_start_s,
                    "drain_s": DRAIN_S,
                    "seed": config.seed + index,
                }
                sender = context.Process(target=_sender, args=(args, results))
                sender.start()
                senders.append(sender)
            timeout = start_at - time.time() + config.seconds + DRAIN_S + 120
            collected = [results.get(timeout=timeout) for _ in senders]
            for sender in senders:
                sender.join(timeout=10)
            time.sleep(0.5)
            reader.stop.set()
            rss.stop.set()
            ingest = _scrape_ingest_metrics(base_url)
            refused_metrics = _refused_from_metrics(base_url)
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                # An open SSE stream can hold uvicorn's graceful shutdown; the figures are already taken.
                process.kill()
                process.wait(timeout=30)
        rows, distinct = _count_stored(url)
    return _summarise(url, config, collected, reader, rss.samples, rows, distinct) | {
        "ingest": ingest,
        "refused_by_platform": refused_metrics,
    }


def _refused_from_metrics(base_url: str) -> dict[str, float]:
    import httpx

    found: dict[str, float] = {}
    prefix = 'nitrosignal_ingest_refused_total{reason="'
    for line in httpx.get(f"{base_url}/metrics", timeout=10).text.splitlines():
        if line.startswith(prefix):
            reason, _, value = line[len(prefix) :].partition('"} ')
            found[reason] = float(value)
    return found


def _summarise(
    url: str,
    config: SoakConfig,
    collected: list[dict[str, Any]],
    reader: _SseReader,
    rss_samples: list[tuple[float, float]],
    rows: int,
    distinct: int,
) -> dict[str, Any]:
    def total(key: str) -> int:
        return sum(int(item[key]) for item in collected)

    refused: dict[str, int] = {}
    for item in collected:
        for reason, count in item["refused"].items():
            refused[reason] = refused.get(reason, 0) + count
    generated = total("generated")
    acked = total("stored") + total("duplicate")
    unacked = total("unacked_at_end")
    return {
        "database": "postgresql" if url.startswith("postgresql") else "sqlite",
        "config": asdict(config) | {"burst_start_s": config.burst_start_s},
        "generated": generated,
        "generated_in_burst": total("generated_in_burst"),
        "alerts_per_s_normal": round(config.cameras / config.alert_interval_s, 1),
        "alerts_per_s_burst": round(config.cameras * config.burst_factor / config.alert_interval_s, 1),
        "heartbeats_sent": total("heartbeats_sent"),
        "heartbeats_acked": total("heartbeats_acked"),
        "sends": total("sends"),
        "resends": total("resends"),
        "delivered": acked,
        "acked_stored": total("stored"),
        "acked_duplicate": total("duplicate"),
        "refused": refused,
        "unacked_at_end": unacked,
        "stored_rows": rows,
        # Every generated alert must be stored once: what is not stored (and not merely still queued) is lost.
        "lost": max(0, generated - distinct - unacked),
        "duplicated": rows - distinct,
        "detect_to_ack_ms": _percentiles([v for item in collected for v in item["detect_to_ack_ms"]]),
        "send_to_ack_ms": _percentiles([v for item in collected for v in item["send_to_ack_ms"]]),
        "ingest_to_sse_ms": _percentiles(reader.latencies_ms),
        "sse_events": reader.events,
        "rss_mb": {"samples": rss_samples, **rss_verdict(rss_samples)},
        "load_average": [round(value, 2) for value in os.getloadavg()],
        "cpu_count": os.cpu_count(),
    }


def run_soak(database_urls: list[str], config: SoakConfig) -> dict[str, Any]:
    """Soak each URL (default: a fresh SQLite file, plus PostgreSQL from NITROSIGNAL_TEST_DATABASE_URL)."""
    targets = list(database_urls) or ["sqlite", *([os.environ[PG_ENV]] if os.environ.get(PG_ENV) else [])]
    results = []
    load_before = [round(value, 2) for value in os.getloadavg()]
    for target in targets:
        if target.startswith("sqlite"):
            with tempfile.TemporaryDirectory(prefix="nitrosignal-soak-db-") as tmp:
                url = target if target.startswith("sqlite:///") else f"sqlite:///{Path(tmp) / 'soak.sqlite3'}"
                results.append(soak_one(url, config))
        else:
            url, schema = _throwaway_pg_schema(target)
            try:
                results.append(soak_one(url, config))
            finally:
                _drop_pg_schema(target, schema)
    return {"load_average_before": load_before, "results": results}


soak_app = typer.Typer(help="Soak the platform: many cameras for a long time at a realistic mix, with a burst.")


@soak_app.callback(invoke_without_command=True)
def soak(
    cameras: Annotated[int, typer.Option(min=1, help="Simulated cameras (real CURVE keys).")] = 1000,
    seconds: Annotated[float, typer.Option(min=1, help="Duration of the sending phase.")] = 600.0,
    alert_interval_s: Annotated[float, typer.Option(min=0.1, help="Mean seconds between alerts per camera.")] = 60.0,
    heartbeat_interval_s: Annotated[float, typer.Option(min=0.5, help="Seconds between heartbeats.")] = 10.0,
    burst_factor: Annotated[float, typer.Option(min=1, help="Alert rate multiplier during the burst.")] = 10.0,
    burst_s: Annotated[float, typer.Option(min=0, help="Length of the burst in seconds.")] = 60.0,
    sender_processes: Annotated[int, typer.Option(min=1, help="Processes simulating the cameras.")] = 1,
    rss_interval_s: Annotated[float, typer.Option(min=0.1, help="Seconds between RSS samples.")] = 5.0,
    database: Annotated[
        list[str] | None, typer.Option("--database", help="'sqlite' or a PostgreSQL URL; repeatable.")
    ] = None,
    output: Annotated[Path | None, typer.Option(help="Also write the JSON report to this file.")] = None,
) -> None:
    """Run the soak and print a JSON report (delivered, lost, duplicated, latencies, RSS over time)."""
    config = SoakConfig(
        cameras=cameras,
        seconds=seconds,
        alert_interval_s=alert_interval_s,
        heartbeat_interval_s=heartbeat_interval_s,
        burst_factor=burst_factor,
        burst_s=min(burst_s, seconds),
        sender_processes=sender_processes,
        rss_interval_s=rss_interval_s,
    )
    report = run_soak(database or [], config)
    text = json.dumps(report, indent=2)
    if output is not None:
        output.write_text(text + "\n")
    typer.echo(text)
