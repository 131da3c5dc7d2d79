"""Prometheus metrics of the device: rates, drops, stage latencies, alerts and outbox depth; never any image.

The metrics live in their own registry (not the process-global one), so tests and several runtimes in
one process do not collide. The HTTP endpoint is started only when the config enables it, only on
loopback, and it answers 401 to every request that lacks the configured bearer token: its per-frame
counters and stage latencies follow the number of people in view, so nobody without the token (another
local user, a process in another container sharing the network namespace) may read them.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import socket
import socketserver
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app

from detector.config import MetricsSettings, read_metrics_token
from detector.heartbeat import HeartbeatFigures
from detector.link import LinkStatus

logger = logging.getLogger(__name__)

_STATES = ("active", "inactive_schedule", "inactive_gated", "degraded", "error")


class DetectorMetrics:
    """The device's metrics, updated by the runtime."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._frames_read_seen = 0
        self.frames_in = Counter("nitrosignal_frames_in", "Frames decoded from the source.", registry=self.registry)
        self.frames_processed = Counter(
            "nitrosignal_frames_processed", "Frames that went through the pipeline.", registry=self.registry
        )
        self.frames_posed = Counter(
            "nitrosignal_frames_posed", "Frames on which the pose model ran (motion gate open).", registry=self.registry
        )
        self.frames_dropped = Gauge(
            "nitrosignal_frames_dropped",
            "Frames dropped by the bounded queue in the last heartbeat interval, rounded down to a power of ten.",
            registry=self.registry,
        )
        self.fps_in = Gauge(
            "nitrosignal_fps_in", "Source frames per second over the last heartbeat interval.", registry=self.registry
        )
        self.fps_processed = Gauge(
            "nitrosignal_fps_processed",
            "Analysed frames per second over the last heartbeat interval.",
            registry=self.registry,
        )
        self.stage_seconds = Histogram(
            "nitrosignal_stage_seconds",
            "Latency of each pipeline stage.",
            ["stage"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28),
            registry=self.registry,
        )
        self.alerts_queued = Counter(
            "nitrosignal_alerts_queued", "Alerts written to the outbox.", registry=self.registry
        )
        self.alerts_acked = Gauge(
            "nitrosignal_alerts_sent", "Alerts acknowledged by the platform since start.", registry=self.registry
        )
        self.alerts_refused = Gauge(
            "nitrosignal_alerts_refused", "Alerts the platform refused (dead-lettered).", registry=self.registry
        )
        self.alerts_rejected_full = Counter(
            "nitrosignal_alerts_rejected_outbox_full", "Alerts lost: outbox full.", registry=self.registry
        )
        self.outbox_depth = Gauge("nitrosignal_outbox_depth", "Alerts waiting for an ack.", registry=self.registry)
        self.state = Gauge("nitrosignal_state", "1 for the current device state.", ["state"], registry=self.registry)

    def set_state(self, current: str) -> None:
        """Mark the current device state (one-hot over the known states)."""
        for name in _STATES:
            self.state.labels(state=name).set(1.0 if name == current else 0.0)

    def record_heartbeat(self, figures: HeartbeatFigures, frames_read: int, link: LinkStatus) -> None:
        """Copy what a heartbeat reports into the metrics (``frames_read`` is the running total)."""
        self.frames_in.inc(max(frames_read - self._frames_read_seen, 0))
        self._frames_read_seen = max(frames_read, self._frames_read_seen)
        self.fps_in.set(figures.fps_in)
        self.fps_processed.set(figures.fps_processed)
        self.frames_dropped.set(figures.dropped_frames)
        self.outbox_depth.set(figures.outbox_depth)
        self.alerts_acked.set(link.alerts_acked)
        self.alerts_refused.set(link.alerts_refused)

    def serve(self, settings: MetricsSettings) -> MetricsServer | None:
        """Start the /metrics endpoint if enabled: loopback only, bearer token required.

        Raises:
            nitrosignal.keys.KeyFileError: if the token file is unreadable, readable by others or short.
        """
        if not settings.enabled or settings.token_file is None:
            return None
        server = MetricsServer(self.registry, settings.host, settings.port, read_metrics_token(settings.token_file))
        logger.info("metrics on http://%s:%d/metrics (bearer token required)", settings.host, server.port)
        return server


StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def require_bearer(app: WsgiApp, token: str) -> WsgiApp:
    """Wrap a WSGI app so that only requests with ``Authorization: Bearer <token>`` reach it (401 otherwise)."""
    expected = f"Bearer {token}".encode()

    def guarded(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        offered = str(environ.get("HTTP_AUTHORIZATION", "")).encode("latin-1", errors="replace")
        if not hmac.compare_digest(offered, expected):
            start_response(
                "401 Unauthorized",
                [("Content-Type", "text/plain; charset=utf-8"), ("WWW-Authenticate", 'Bearer realm="nitrosignal"')],
            )
            return [b"bearer token required\n"]
        return app(environ, start_response)

    return guarded


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's parameter name
        """Log nothing per request: scrapes are frequent and carry nothing to investigate."""


class MetricsServer:
    """The authenticated /metrics endpoint on a loopback address, in a daemon thread.

    Args:
        registry: what to serve.
        host: a loopback address (checked again here).
        port: TCP port; 0 picks a free one (see :attr:`port`).
        token: the bearer token every request must carry.

    Raises:
        ValueError: for a non-loopback host or an empty token.
    """

    def __init__(self, registry: CollectorRegistry, host: str, port: int, token: str) -> None:
        address = "127.0.0.1" if host == "localhost" else host
        if not ipaddress.ip_address(address).is_loopback:
            raise ValueError(f"metrics host {host!r} is not loopback")
        if not token:
            raise ValueError("metrics need a non-empty bearer token")
        family = socket.AF_INET6 if ":" in address else socket.AF_INET

        class _Server(socketserver.ThreadingMixIn, WSGIServer):
            address_family = family
            daemon_threads = True  # a stuck scraper never holds up the detector's exit

        self._server = make_server(
            address, port, require_bearer(make_wsgi_app(registry), token), _Server, handler_class=_QuietHandler
        )
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="nitrosignal-metrics", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop serving and close the listening socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
