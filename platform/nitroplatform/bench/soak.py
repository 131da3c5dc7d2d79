"""``nitrosignal platform soak``: many cameras for a long time at a realistic mix, with a 10x burst.

Where ``bench`` pushes alerts as fast as the platform acks them, the soak runs the traffic a deployment
sees: every camera sends a heartbeat on an interval and alerts at random (a Poisson process, mean one per
``alert_interval_s``), grouped in incidents of new/update/end. For ``burst_s`` seconds in the middle the
alert rate is ``burst_factor`` times higher. Each camera behaves like the device: its alerts wait in a
queue (the outbox), go out one at a time, and are resent unchanged until acked.

It reports delivered, lost and duplicated alerts (checked against the database after the run), latency
percentiles (detection to ack, first send to ack, ingest to the SSE stream), the platform's RSS over time
and whether it stayed flat, and every refusal. The cameras are :mod:`nitroplatform.bench.camera`'s, the
platform's preparation and measurement :mod:`nitroplatform.bench.harness`'s, shared with ``bench``.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

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
from nitroplatform.launcher import start_subprocess, wait_ready

DRAIN_S = 30.0
ALERTS_PER_INCIDENT = 4
"""Incidents of new, update, update, end."""


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
class PoissonTraffic:
    """Alerts at random (a Poisson process per camera), ``burst_factor`` times as often during the burst."""

    alert_interval_s: float
    burst_factor: float
    burst_start_s: float
    burst_s: float
    seed: int
    _rng: random.Random = field(init=False, repr=False, default_factory=random.Random)
    _next_alert: dict[str, float] = field(init=False, repr=False, default_factory=dict)
    _burst: tuple[float, float] = field(init=False, repr=False, default=(0.0, 0.0))
    _in_burst: bool = field(init=False, repr=False, default=False)

    def begin(self, cameras: Sequence[SimulatedCamera], now: float) -> None:
        """Draw every camera's first alert time."""
        self._rng = random.Random(self.seed)
        self._burst = (now + self.burst_start_s, now + self.burst_start_s + self.burst_s)
        self._next_alert = {
            camera.camera_id: now + self._rng.expovariate(1.0 / self.alert_interval_s) for camera in cameras
        }

    def after_ack(self, camera: SimulatedCamera, now: float) -> None:
        """Acks do not change when alerts happen."""

    def tick(self, cameras: Sequence[SimulatedCamera], now: float) -> None:
        """Confirm every alert that is due, at the rate of the moment."""
        in_burst = self._burst[0] <= now < self._burst[1]
        rate = (self.burst_factor if in_burst else 1.0) / self.alert_interval_s
        if in_burst != self._in_burst:
            # Poisson arrivals are memoryless: redrawing every camera's next alert at the new rate is exact.
            self._in_burst = in_burst
            for camera in cameras:
                self._next_alert[camera.camera_id] = now + self._rng.expovariate(rate)
        for camera in cameras:
            due = self._next_alert[camera.camera_id]
            while now >= due:
                camera.detect(due, now)
                camera.stats.generated_in_burst += 1 if in_burst else 0
                due += self._rng.expovariate(rate)
            self._next_alert[camera.camera_id] = due


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
            reader = SseReader(base_url, token)
            reader.start()
            reader.connected.wait(10)
            start_at = time.time() + 3.0 + config.cameras / 300  # time for every CURVE handshake
            rss = _RssSampler(process.pid, config.rss_interval_s, start_at)
            rss.start()
            plans = [
                SenderPlan(
                    cameras=cameras[index :: config.sender_processes],
                    endpoint=prepared.ingest_endpoint,
                    server_public=prepared.server_public,
                    start_at=start_at,
                    seconds=config.seconds,
                    heartbeat_interval_s=config.heartbeat_interval_s,
                    drain_s=DRAIN_S,
                    alerts_per_incident=ALERTS_PER_INCIDENT,
                    traffic=PoissonTraffic(
                        alert_interval_s=config.alert_interval_s,
                        burst_factor=config.burst_factor,
                        burst_start_s=config.burst_start_s,
                        burst_s=config.burst_s,
                        seed=config.seed + index,
                    ),
                )
                for index in range(config.sender_processes)
            ]
            senders = Senders(plans)
            stats = senders.results(timeout_s=start_at - time.time() + config.seconds + DRAIN_S + 120)
            time.sleep(0.5)
            reader.stop.set()
            rss.stop.set()
            ingest = scrape_ingest_metrics(base_url)
            refused_metrics = _refused_from_metrics(base_url)
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                # An open SSE stream can hold uvicorn's graceful shutdown; the figures are already taken.
                process.kill()
                process.wait(timeout=30)
        rows, distinct = count_stored(url)
    return _summarise(url, config, stats, reader, rss.samples, rows, distinct) | {
        "ingest": ingest,
        "refused_by_platform": refused_metrics,
    }


def _refused_from_metrics(base_url: str) -> dict[str, float]:
    """Refusals per reason, as the platform itself counted them."""
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
    stats: CameraStats,
    reader: SseReader,
    rss_samples: list[tuple[float, float]],
    rows: int,
    distinct: int,
) -> dict[str, Any]:
    return {
        "database": database_kind(url),
        "config": asdict(config) | {"burst_start_s": config.burst_start_s},
        "generated": stats.generated,
        "generated_in_burst": stats.generated_in_burst,
        "alerts_per_s_normal": round(config.cameras / config.alert_interval_s, 1),
        "alerts_per_s_burst": round(config.cameras * config.burst_factor / config.alert_interval_s, 1),
        "heartbeats_sent": stats.heartbeats_sent,
        "heartbeats_acked": stats.heartbeats_acked,
        "sends": stats.sends,
        "resends": stats.resends,
        "delivered": stats.stored + stats.duplicate,
        "acked_stored": stats.stored,
        "acked_duplicate": stats.duplicate,
        "refused": stats.refused,
        "unacked_at_end": stats.unacked_at_end,
        "stored_rows": rows,
        # Every generated alert must be stored once: what is not stored (and not merely still queued) is lost.
        "lost": max(0, stats.generated - distinct - stats.unacked_at_end),
        "duplicated": rows - distinct,
        "detect_to_ack_ms": percentiles(stats.detect_to_ack_ms),
        "send_to_ack_ms": percentiles(stats.send_to_ack_ms),
        "ingest_to_sse_ms": percentiles(reader.latencies_ms),
        "sse_events": reader.events,
        "rss_mb": {"samples": rss_samples, **rss_verdict(rss_samples)},
        "load_average": [round(value, 2) for value in os.getloadavg()],
        "cpu_count": os.cpu_count(),
    }


def run_soak(database_urls: list[str], config: SoakConfig) -> dict[str, Any]:
    """Soak each URL (default: a fresh SQLite file, plus PostgreSQL from NITROSIGNAL_TEST_DATABASE_URL)."""
    load_before = [round(value, 2) for value in os.getloadavg()]
    results = per_database(database_urls, lambda url: soak_one(url, config))
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
