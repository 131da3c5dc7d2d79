"""``nitrosignal platform bench``: sustained ingest, ingest-to-SSE latency, and lost/duplicated counts.

For each database the bench registers N simulated cameras with real CURVE keys, starts the platform as a
child process (HTTP + ingest, exactly as ``serve`` runs it), and drives the cameras from a few sender
processes (:mod:`nitroplatform.bench.camera`). Every camera sends its next alert the moment the last one
is acked (closed loop, as fast as the platform answers), resends after a timeout like the device outbox,
and sends heartbeats on an interval. Every alert changes its incident, so every alert also becomes an
SSE event: the worst case for the live stream. A reader follows ``/api/v1/stream`` and measures
``receive time - updated_at`` (the platform's ingest time). With ``restart_at`` the platform is killed
(SIGKILL) mid-run and restarted, and the counts show whether anything was lost or duplicated.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nitroplatform.bench.camera import CameraStats, SenderPlan, Senders, SimulatedCamera
from nitroplatform.bench.harness import (
    SseReader,
    count_stored,
    database_kind,
    per_database,
    percentiles,
    prepare_platform,
    scrape_ingest_metrics,
)
from nitroplatform.launcher import free_tcp_port, start_subprocess, wait_ready

DRAIN_S = 10.0


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


class ClosedLoop:
    """Full rate: each camera confirms its next alert the moment the platform acks the last one."""

    def begin(self, cameras: Sequence[SimulatedCamera], now: float) -> None:
        """Every camera starts with one alert."""
        for camera in cameras:
            camera.detect(now, now)

    def after_ack(self, camera: SimulatedCamera, now: float) -> None:
        """The next alert goes out at once."""
        camera.detect(now, now)

    def tick(self, cameras: Sequence[SimulatedCamera], now: float) -> None:
        """Nothing happens on the clock: acks drive the traffic."""


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
            reader = SseReader(base_url, token)
            reader.start()
            reader.connected.wait(10)
            start_at = time.time() + 3.0 + config.cameras / 500  # time for every CURVE handshake
            plans = [
                SenderPlan(
                    cameras=cameras[index :: config.sender_processes],
                    endpoint=prepared.ingest_endpoint,
                    server_public=prepared.server_public,
                    start_at=start_at,
                    seconds=config.seconds,
                    heartbeat_interval_s=config.heartbeat_interval_s,
                    drain_s=DRAIN_S,
                    alerts_per_incident=config.alerts_per_incident,
                    traffic=ClosedLoop(),
                )
                for index in range(config.sender_processes)
            ]
            senders = Senders(plans)
            platform_cpu = None
            if config.restart_at_s is None:
                time.sleep(max(0.0, start_at - time.time()))
                cpu_start = _cpu_total([process, web])
                time.sleep(config.seconds)
                cpu_end = _cpu_total([process, web])
                platform_cpu = None if cpu_start is None or cpu_end is None else cpu_end - cpu_start
            else:
                time.sleep(max(0.0, start_at + config.restart_at_s - time.time()))
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
                process = start_subprocess(settings, log_path=log_path)
                wait_ready(base_url, timeout_s=60, process=process)
            stats = senders.results(timeout_s=config.seconds + DRAIN_S + 120)
            time.sleep(0.5)
            reader.stop.set()
            ingest_stats = scrape_ingest_metrics(ingest_url)
        finally:
            for child in (process, web):
                if child is not None:
                    child.terminate()
                    child.wait(timeout=20)
        rows, distinct = count_stored(url)
    summary = _summarise(url, config, stats, reader, rows, distinct)
    summary["ingest"] = ingest_stats
    if platform_cpu:
        # Contention-independent figure: alerts the platform process handles per second of its own CPU time.
        summary["platform_cpu_s"] = round(platform_cpu, 2)
        summary["alerts_per_platform_cpu_s"] = round(summary["alerts_per_s_acked"] * config.seconds / platform_cpu, 1)
    return summary


def _summarise(
    url: str, config: BenchConfig, stats: CameraStats, reader: SseReader, rows: int, distinct: int
) -> dict[str, Any]:
    acked = stats.stored + stats.duplicate
    return {
        "database": database_kind(url),
        "cameras": config.cameras,
        "seconds": config.seconds,
        "sender_processes": config.sender_processes,
        "restart_at_s": config.restart_at_s,
        "alerts_per_incident": config.alerts_per_incident,
        "split_ingest_and_web": config.split,
        "alerts_per_s_acked": round(stats.stored_while_sending / config.seconds, 1),
        "heartbeats_per_s": round(stats.heartbeats_sent / config.seconds, 1),
        "ack_rtt_ms": percentiles(stats.send_to_ack_ms),
        "ingest_to_sse_ms": percentiles(reader.latencies_ms),
        "sse_events": reader.events,
        "sent": stats.sends,
        "resent": stats.resends,
        "acked_stored": stats.stored,
        "acked_duplicate": stats.duplicate,
        "refused": stats.refused,
        "unacked_at_end": stats.unacked_at_end,
        "stored_rows": rows,
        # Every alert that got an ack (stored or duplicate) must be in the database exactly once.
        "lost": max(0, acked - rows),
        "duplicated": rows - distinct,
        "note": "CPU shared with other work on this machine; figures are indicative",
    }


def run_bench(database_urls: list[str], config: BenchConfig) -> dict[str, Any]:
    """Bench each URL (default: a fresh SQLite file, plus PostgreSQL from NITROSIGNAL_TEST_DATABASE_URL).

    PostgreSQL URLs get a throw-away schema, dropped afterwards; SQLite gets a fresh file.
    """
    results = per_database(database_urls, lambda url: bench_one(url, config))
    return {"targets": {"alerts_per_s": 5000, "ingest_to_sse_p99_ms": 250}, "results": results}
