"""``nitrosignal platform bench``: sustained ingest, ingest-to-SSE latency, and lost/duplicated counts.

For each database the bench registers N simulated cameras with real CURVE keys, starts the platform as a
child process (HTTP + ingest, exactly as ``serve`` runs it), and drives the cameras from a few sender
processes, each running many DEALER sockets in one poll loop. Every camera sends alerts stop-and-wait (the
next one after the ack, resending the same message after a timeout, like the device outbox) and heartbeats
on an interval. Each alert opens a new incident, so every alert also becomes an SSE event: the worst case
for the live stream. A reader follows ``/api/v1/stream`` and measures ``receive time - updated_at`` (the
platform's ingest time). With ``restart_at`` the platform is killed (SIGKILL) mid-run and restarted, and the
counts show whether anything was lost or duplicated.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import zmq
from sqlalchemy import func, select, text

from nitroplatform.bench_sender import DRAIN_S, run_sender
from nitroplatform.cameras import CameraProfile, register_camera
from nitroplatform.db.engine import is_postgres, make_engine
from nitroplatform.db.migrate import upgrade
from nitroplatform.db.models import Alert
from nitroplatform.db.session import make_sessionmaker
from nitroplatform.launcher import free_tcp_port, start_subprocess, wait_ready
from nitroplatform.settings import Settings
from nitrosignal.keys import generate_keypair, load_secret

PG_ENV = "NITROSIGNAL_TEST_DATABASE_URL"


@dataclass(frozen=True)
class BenchConfig:
    """What to run: duration, cameras, heartbeat interval, sender processes, optional mid-run restart."""

    seconds: float = 10.0
    cameras: int = 1000
    heartbeat_interval_s: float = 5.0
    sender_processes: int = 1
    restart_at_s: float | None = None
    alerts_per_incident: int = 10
    split: bool = False


class _SseReader(threading.Thread):
    """Follows the SSE stream and records ingest-to-stream latency per incident event."""

    def __init__(self, base_url: str, token: str) -> None:
        super().__init__(daemon=True, name="bench-sse")
        self.base_url, self.token = base_url, token
        self.latencies_ms: list[float] = []
        self.events = 0
        self.connected = threading.Event()
        self.stop = threading.Event()

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        last_id: str | None = None
        while not self.stop.is_set():
            try:
                with httpx.stream(
                    "GET",
                    f"{self.base_url}/api/v1/stream",
                    timeout=None,
                    headers={**headers, **({"Last-Event-ID": last_id} if last_id else {})},
                ) as resp:
                    self.connected.set()
                    for line in resp.iter_lines():
                        if line.startswith("id: "):
                            last_id = line[4:]
                        elif line.startswith('data: {"id"'):
                            received = time.time()
                            updated = datetime.fromisoformat(json.loads(line[6:])["updated_at"]).timestamp()
                            self.latencies_ms.append((received - updated) * 1000)
                            self.events += 1
                        if self.stop.is_set():
                            return
            except httpx.HTTPError:
                time.sleep(0.2)  # platform restarting


def _scrape_ingest_metrics(base_url: str) -> dict[str, float]:
    """Batch figures from the platform's /metrics: how busy the ingest thread was, and batch sizes."""
    wanted = {
        "nitrosignal_ingest_batch_seconds_sum": "busy_s",
        "nitrosignal_ingest_batch_seconds_count": "batches",
        "nitrosignal_ingest_batch_messages_sum": "messages",
    }
    found: dict[str, float] = {}
    for line in httpx.get(f"{base_url}/metrics", timeout=10).text.splitlines():
        name, _, value = line.partition(" ")
        if name in wanted:
            found[wanted[name]] = float(value)
    if found.get("batches"):
        found["mean_batch_messages"] = round(found.get("messages", 0.0) / found["batches"], 1)
        found["mean_batch_ms"] = round(1000 * found.get("busy_s", 0.0) / found["batches"], 1)
    return found


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_total(processes: list[subprocess.Popen[bytes] | None]) -> float | None:
    total = 0.0
    for process in processes:
        if process is not None:
            seconds = _cpu_seconds(process.pid)
            if seconds is None:
                return None
            total += seconds
    return total


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if len(values) < 2:
        return {"p50": None, "p95": None, "p99": None}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": round(cuts[49], 1), "p95": round(cuts[94], 1), "p99": round(cuts[98], 1)}


def _prepare_database(url: str, workdir: Path, count: int) -> tuple[list[tuple[str, str, str]], str]:
    """Migrate, register cameras with fresh CURVE keys, and create a coordinator token for the SSE reader."""
    from nitroplatform.auth.deps import Role
    from nitroplatform.auth.tokens import issue_token
    from nitroplatform.people.service import create_user

    upgrade(url)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    cameras = []
    with factory() as session:
        for index in range(count):
            public, secret = zmq.curve_keypair()
            camera_id = f"bench-{index:05d}"
            register_camera(
                session,
                camera_id=camera_id,
                public_key=public.decode(),
                profile=CameraProfile(site="bench", zones=("plein",)),
            )
            cameras.append((camera_id, public.decode(), secret.decode()))
        user = create_user(session, username="bench", password=None, roles=[Role.coordinator], actor="bench")
        token = issue_token(session, user_id=user.id, name="bench").raw
        session.commit()
    engine.dispose()
    return cameras, token


def _count_stored(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(func.count()).select_from(Alert.__table__)).scalar_one()
            distinct = connection.execute(
                select(func.count()).select_from(select(Alert.camera_id, Alert.seq).distinct().subquery())
            ).scalar_one()
    finally:
        engine.dispose()
    return int(rows), int(distinct)


@dataclass(frozen=True)
class BenchPlatform:
    """A prepared platform for a benchmark or soak: migrated database, cameras, token, keys and settings."""

    settings: Settings
    cameras: list[tuple[str, str, str]]
    token: str
    ingest_endpoint: str
    server_public: str


def prepare_platform(url: str, workdir: Path, count: int, **overrides: Any) -> BenchPlatform:
    """Migrate ``url``, register ``count`` cameras, create the platform keys and the settings to serve with.

    ``overrides`` are extra :class:`Settings` fields (flood limits, live relay, ...).
    """
    cameras, token = _prepare_database(url, workdir, count)
    key_files = generate_keypair(workdir / "keys", "platform")
    server = load_secret(key_files.secret_path)
    ingest_endpoint = f"tcp://127.0.0.1:{free_tcp_port()}"
    settings = Settings(
        data_dir=workdir,
        database_url=url,
        ingest_bind=ingest_endpoint,
        server_secret_key_file=key_files.secret_path,
        http_port=free_tcp_port(),
        gating_mode="open",
        log_level="WARNING",
        **overrides,
    )
    return BenchPlatform(settings, cameras, token, ingest_endpoint, server.public.decode())


def bench_one(url: str, config: BenchConfig) -> dict[str, Any]:
    """Run the benchmark against one (empty) database URL and return the figures."""
    with tempfile.TemporaryDirectory(prefix="nitrosignal-bench-") as tmp:
        workdir = Path(tmp)
        prepared = prepare_platform(
            url,
            workdir,
            config.cameras,
            flood_rate_per_s=1000.0,
            flood_burst=2000,
            live_relay=f"ipc://{workdir}/live.sock" if config.split else None,
        )
        settings, cameras, token = prepared.settings, prepared.cameras, prepared.token
        base_url = ingest_url = f"http://127.0.0.1:{settings.http_port}"
        log_path = str(workdir / "platform.log")
        process = start_subprocess(settings, log_path=log_path)
        web: subprocess.Popen[bytes] | None = None
        try:
            wait_ready(base_url, timeout_s=60, process=process)
            if config.split:
                # A web-only worker serves the SSE stream; the ingest process relays its events to it.
                web_settings = settings.model_copy(
                    update={"ingest_enabled": False, "sweeper_enabled": False, "http_port": free_tcp_port()}
                )
                web = start_subprocess(web_settings, log_path=str(workdir / "web.log"))
                base_url = f"http://127.0.0.1:{web_settings.http_port}"
                wait_ready(base_url, timeout_s=60, process=web)
            reader = _SseReader(base_url, token)
            reader.start()
            reader.connected.wait(10)
            start_at = time.time() + 3.0 + config.cameras / 500  # time for every CURVE handshake
            results: Any = multiprocessing.get_context("spawn").Queue()
            senders = []
            shares = [cameras[i :: config.sender_processes] for i in range(config.sender_processes)]
            for share in shares:
                args = {
                    "cameras": share,
                    "endpoint": prepared.ingest_endpoint,
                    "server_public": prepared.server_public,
                    "start_at": start_at,
                    "seconds": config.seconds,
                    "heartbeat_interval_s": config.heartbeat_interval_s,
                    "alerts_per_incident": config.alerts_per_incident,
                }
                sender = multiprocessing.get_context("spawn").Process(target=run_sender, args=(args, results))
                sender.start()
                senders.append(sender)
            cpu_start = None
            if config.restart_at_s is None:
                time.sleep(max(0.0, start_at - time.time()))
                cpu_start = _cpu_total([process, web])
                time.sleep(config.seconds)
                cpu_end = _cpu_total([process, web])
                platform_cpu = None if cpu_start is None or cpu_end is None else cpu_end - cpu_start
            else:
                platform_cpu = None
            if config.restart_at_s is not None:
                time.sleep(max(0.0, start_at + config.restart_at_s - time.time()))
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
                process = start_subprocess(settings, log_path=log_path)
                wait_ready(base_url, timeout_s=60, process=process)
            collected = [results.get(timeout=config.seconds + DRAIN_S + 120) for _ in senders]
            for sender in senders:
                sender.join(timeout=10)
            time.sleep(0.5)
            reader.stop.set()
            ingest_stats = _scrape_ingest_metrics(ingest_url)
        finally:
            for child in (process, web):
                if child is not None:
                    child.terminate()
                    child.wait(timeout=20)
        rows, distinct = _count_stored(url)
    summary = _summarise(url, config, collected, reader, rows, distinct)
    summary["ingest"] = ingest_stats
    if platform_cpu:
        # Contention-independent figure: alerts the platform process handles per second of its own CPU time.
        summary["platform_cpu_s"] = round(platform_cpu, 2)
        summary["alerts_per_platform_cpu_s"] = round(summary["alerts_per_s_acked"] * config.seconds / platform_cpu, 1)
    return summary


def _summarise(
    url: str, config: BenchConfig, collected: list[dict[str, Any]], reader: _SseReader, rows: int, distinct: int
) -> dict[str, Any]:
    total: dict[str, Any] = {
        key: sum(item[key] for item in collected)
        for key in (
            "alerts_sent",
            "alerts_resent",
            "acks_stored",
            "acks_duplicate",
            "heartbeats_sent",
            "heartbeat_acks",
            "unacked_at_end",
            "acked_in_window",
        )
    }
    refused: dict[str, int] = {}
    for item in collected:
        for reason, count in item["acks_refused"].items():
            refused[reason] = refused.get(reason, 0) + count
    rtts = [value for item in collected for value in item["rtt_ms"]]
    acked = total["acks_stored"] + total["acks_duplicate"]
    return {
        "database": "postgresql" if is_postgres(url) else "sqlite",
        "cameras": config.cameras,
        "seconds": config.seconds,
        "sender_processes": config.sender_processes,
        "restart_at_s": config.restart_at_s,
        "alerts_per_incident": config.alerts_per_incident,
        "split_ingest_and_web": config.split,
        "alerts_per_s_acked": round(total["acked_in_window"] / config.seconds, 1),
        "heartbeats_per_s": round(total["heartbeats_sent"] / config.seconds, 1),
        "ack_rtt_ms": _percentiles(rtts),
        "ingest_to_sse_ms": _percentiles(reader.latencies_ms),
        "sse_events": reader.events,
        "sent": total["alerts_sent"],
        "resent": total["alerts_resent"],
        "acked_stored": total["acks_stored"],
        "acked_duplicate": total["acks_duplicate"],
        "refused": refused,
        "unacked_at_end": total["unacked_at_end"],
        "stored_rows": rows,
        # Every alert that got an ack (stored or duplicate) must be in the database exactly once.
        "lost": max(0, acked - rows),
        "duplicated": rows - distinct,
        "note": "CPU shared with other work on this machine; figures are indicative",
    }


def _throwaway_pg_schema(base: str) -> tuple[str, str]:
    from sqlalchemy.engine import make_url

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    engine = make_engine(base)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), schema


def _drop_pg_schema(base: str, schema: str) -> None:
    engine = make_engine(base)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def run_bench(database_urls: list[str], config: BenchConfig) -> dict[str, Any]:
    """Bench each URL (default: a fresh SQLite file, plus PostgreSQL from NITROSIGNAL_TEST_DATABASE_URL).

    PostgreSQL URLs get a throw-away schema, dropped afterwards; SQLite gets a fresh file.
    """
    targets = list(database_urls)
    if not targets:
        targets.append("sqlite")
        if os.environ.get(PG_ENV):
            targets.append(os.environ[PG_ENV])
    results = []
    for target in targets:
        if target == "sqlite" or target.startswith("sqlite"):
            with tempfile.TemporaryDirectory(prefix="nitrosignal-bench-db-") as tmp:
                url = target if target.startswith("sqlite:///") else f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
                results.append(bench_one(url, config))
        else:
            url, schema = _throwaway_pg_schema(target)
            try:
                results.append(bench_one(url, config))
            finally:
                _drop_pg_schema(target, schema)
    return {"targets": {"alerts_per_s": 5000, "ingest_to_sse_p99_ms": 250}, "results": results}
