"""Preparing and measuring the platform for the bench and the soak.

A fresh database (migrated, with N cameras registered under real CURVE keys and a coordinator token for
the live stream), the platform's keys and settings, a reader of the SSE stream that measures ingest to
stream latency, the platform's own ingest metrics, the stored rows counted afterwards, and each database
target in turn (a fresh SQLite file, or a throw-away PostgreSQL schema).
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import zmq
from sqlalchemy import func, select, text

from nitroplatform.cameras import CameraProfile, register_camera
from nitroplatform.db.engine import is_postgres, make_engine
from nitroplatform.db.migrate import upgrade
from nitroplatform.db.models import Alert
from nitroplatform.db.session import make_sessionmaker
from nitroplatform.launcher import free_tcp_port
from nitroplatform.settings import Settings
from nitrosignal.keys import generate_keypair, load_secret

PG_ENV = "NITROSIGNAL_TEST_DATABASE_URL"


class SseReader(threading.Thread):
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


def scrape_ingest_metrics(base_url: str) -> dict[str, float]:
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


def percentiles(values: list[float]) -> dict[str, float | None]:
    """p50, p95 and p99 of ``values`` in one decimal (None for fewer than two values)."""
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


def count_stored(url: str) -> tuple[int, int]:
    """Alert rows in the database, and distinct (camera, seq) pairs among them."""
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


def database_kind(url: str) -> str:
    """``postgresql`` or ``sqlite``, as the reports name the database."""
    return "postgresql" if is_postgres(url) else "sqlite"


def per_database(database_urls: list[str], run_one: Callable[[str], dict[str, Any]]) -> list[dict[str, Any]]:
    """Run ``run_one`` against each target: 'sqlite' (a fresh file) or a PostgreSQL URL (a throw-away schema).

    Without targets: a fresh SQLite file, plus PostgreSQL from NITROSIGNAL_TEST_DATABASE_URL when set.
    """
    targets = list(database_urls) or ["sqlite", *([os.environ[PG_ENV]] if os.environ.get(PG_ENV) else [])]
    results = []
    for target in targets:
        if target.startswith("sqlite"):
            with tempfile.TemporaryDirectory(prefix="nitrosignal-bench-db-") as tmp:
                url = target if target.startswith("sqlite:///") else f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
                results.append(run_one(url))
        else:
            url, schema = _throwaway_pg_schema(target)
            try:
                results.append(run_one(url))
            finally:
                _drop_pg_schema(target, schema)
    return results
