"""The ``create_app(settings)`` factory: one FastAPI app per call, no globals.

The lifespan starts the ZeroMQ ingest and the incident sweeper (unless disabled in the settings or by the
``with_ingest`` flag, as web-only workers and most tests do) and, on PostgreSQL, the LISTEN/NOTIFY listener
that brings other workers' live events to this worker's SSE clients. With ``live_relay`` set, the ingest
process binds a ZeroMQ relay and web-only workers on the same machine subscribe to it instead (SQLite too).

Every module in ``nitroplatform/api/routes/`` that defines ``router`` is included automatically, so other
components add endpoints by dropping in a file.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI
from sqlalchemy.orm import Session, sessionmaker

from nitroplatform.api import routes as routes_package
from nitroplatform.api.body_limit import MULTIPART_ALLOWANCE, BodySizeLimitMiddleware
from nitroplatform.api.errors import install_error_handlers
from nitroplatform.api.security_headers import SecurityHeadersMiddleware
from nitroplatform.db.engine import is_postgres, make_engine
from nitroplatform.db.session import make_sessionmaker
from nitroplatform.gating import CachedGatePolicy, load_gate_policy
from nitroplatform.incidents.publish import IncidentPublisher
from nitroplatform.incidents.sweeper import Sweeper
from nitroplatform.ingest.auth import CameraKeyCache
from nitroplatform.ingest.handler import IngestHandler
from nitroplatform.ingest.metrics import PlatformMetrics
from nitroplatform.ingest.server import IngestServer
from nitroplatform.live.access import AccessAnnouncer
from nitroplatform.live.bus import LiveBus
from nitroplatform.live.pg_notify import PgListener, channel_for
from nitroplatform.live.relay import RelayPublisher, RelaySubscriber
from nitroplatform.settings import Settings
from nitrosignal import __version__
from nitrosignal.keys import load_secret

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    """The background parts one app runs; stored on ``app.state.runtime``."""

    ingest: IngestServer | None = None
    sweeper: Sweeper | None = None
    listener: PgListener | None = None
    relay_publisher: RelayPublisher | None = None
    relay_subscriber: RelaySubscriber | None = None
    background: Any = None  # nitroplatform.people.background.BackgroundTasks: routing, push, retention


def discover_routers() -> list[tuple[str, APIRouter]]:
    """Import every module of ``nitroplatform.api.routes`` and return those that define ``router``.

    A module that fails to import is an error, never silently skipped.
    """
    found = []
    for module_info in sorted(pkgutil.iter_modules(routes_package.__path__), key=lambda info: info.name):
        module = importlib.import_module(f"{routes_package.__name__}.{module_info.name}")
        router = getattr(module, "router", None)
        if isinstance(router, APIRouter):
            found.append((module_info.name, router))
    return found


def create_app(settings: Settings, *, with_ingest: bool | None = None) -> FastAPI:
    """Build the platform's FastAPI app.

    Args:
        settings: validated settings; the app never reads the environment itself.
        with_ingest: start the ingest and sweeper in the lifespan; default from ``settings.ingest_enabled``
            and ``settings.sweeper_enabled``. Where the ingest runs, the people component's background tasks
            (routing/push listener, escalation, retention) run too.
    """
    url = settings.effective_database_url
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    bus = LiveBus(buffer_size=settings.live_buffer_size)
    metrics = PlatformMetrics()
    origin = uuid.uuid4().hex
    # Same-machine workers share events over the relay when one is configured; otherwise PostgreSQL NOTIFY.
    use_notify = is_postgres(url) and settings.live_relay is None
    publisher = IncidentPublisher(bus=bus, pg_channel=channel_for(url) if use_notify else None, pg_origin=origin)
    # Logout, deactivation and scope changes committed through this app reach its open live streams at once.
    AccessAnnouncer(bus=bus, pg_channel=publisher.pg_channel, pg_origin=origin).install(factory)
    run_ingest = settings.ingest_enabled if with_ingest is None else with_ingest
    run_sweeper = settings.sweeper_enabled if with_ingest is None else with_ingest

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = _start_runtime(
            settings, factory=factory, publisher=publisher, metrics=metrics, flags=(run_ingest, run_sweeper)
        )
        app.state.runtime = runtime
        try:
            if run_ingest:
                # Routing and push react to incident changes, which this process's ingest produces.
                from nitroplatform.people.background import start_background_tasks

                runtime.background = start_background_tasks(app)
            yield
        finally:
            _stop_runtime(runtime)
            engine.dispose()

    app = FastAPI(
        title="nitrosignal platform",
        version=__version__,
        description="Anonymous N2O-balloon signals from cameras to enforcement officers. No images, ever.",
        lifespan=lifespan,
        # /docs is the platform's own, offline reference page (api/routes/reference.py), not FastAPI's
        # CDN-loaded Swagger UI or ReDoc.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = factory
    app.state.live_bus = bus
    app.state.metrics = metrics
    app.state.incident_publisher = publisher
    app.state.runtime = Runtime()
    install_error_handlers(app)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes, large_body_cap=_model_upload_cap)
    app.add_middleware(SecurityHeadersMiddleware)
    for _name, router in discover_routers():
        app.include_router(router)
    return app


def _model_upload_cap(scope: Any) -> int | None:
    """The body cap of a model upload (the people settings' model size plus the multipart envelope), else None."""
    if scope["method"] != "POST" or scope["path"] != "/api/v1/models":
        return None
    from nitroplatform.people.config import PeopleSettings, get_people_settings

    configured = getattr(scope["app"].state, "people_settings", None)
    policy = configured if isinstance(configured, PeopleSettings) else get_people_settings()
    return policy.model_max_bytes + MULTIPART_ALLOWANCE


def _start_runtime(
    settings: Settings,
    *,
    factory: sessionmaker[Session],
    publisher: IncidentPublisher,
    metrics: PlatformMetrics,
    flags: tuple[bool, bool],
) -> Runtime:
    run_ingest, run_sweeper = flags
    runtime = Runtime()
    try:
        if publisher.pg_channel is not None:
            runtime.listener = PgListener(
                url=settings.effective_database_url, bus=publisher.bus, origin=publisher.pg_origin
            )
            runtime.listener.start()
        if settings.live_relay is not None:
            if run_ingest:
                runtime.relay_publisher = publisher.relay = RelayPublisher(settings.live_relay)
            else:
                runtime.relay_subscriber = RelaySubscriber(endpoint=settings.live_relay, bus=publisher.bus)
                runtime.relay_subscriber.start()
        if run_ingest:
            keypair = load_secret(settings.effective_server_secret_key_file)
            key_cache = CameraKeyCache(factory, on_refuse=lambda reason: metrics.refused.labels(reason).inc())
            gate = CachedGatePolicy(load_gate_policy(settings), ttl_s=settings.gate_cache_s)
            handler = IngestHandler(
                settings=settings, factory=factory, key_cache=key_cache, gate=gate, publisher=publisher, metrics=metrics
            )
            runtime.ingest = IngestServer(
                settings=settings, keypair=keypair, handler=handler, key_cache=key_cache, metrics=metrics
            )
            runtime.ingest.start()
        if run_sweeper:
            runtime.sweeper = Sweeper(
                factory=factory, publisher=publisher, metrics=metrics, interval_s=settings.sweeper_interval_s
            )
            runtime.sweeper.start()
    except BaseException:
        _stop_runtime(runtime)
        raise
    return runtime


def _stop_runtime(runtime: Runtime) -> None:
    if runtime.background is not None:
        runtime.background.stop()
    if runtime.ingest is not None:
        runtime.ingest.stop()
    if runtime.sweeper is not None:
        runtime.sweeper.stop()
    if runtime.listener is not None:
        runtime.listener.stop()
    if runtime.relay_subscriber is not None:
        runtime.relay_subscriber.stop()
    if runtime.relay_publisher is not None:
        runtime.relay_publisher.close()
