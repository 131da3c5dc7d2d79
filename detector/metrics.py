"""Prometheus metrics of the device: rates, drops, stage latencies, alerts and outbox depth; never any image.

The metrics live in their own registry (not the process-global one), so tests and several runtimes in
one process do not collide. The HTTP endpoint is started only when the config enables it, and on
loopback unless the config explicitly allows a remote scraper.
"""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from detector.config import MetricsSettings
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
            "nitrosignal_frames_dropped", "Frames dropped by the bounded queue since start.", registry=self.registry
        )
        self.fps_in = Gauge("nitrosignal_fps_in", "Source frames per second.", registry=self.registry)
        self.fps_processed = Gauge("nitrosignal_fps_processed", "Analysed frames per second.", registry=self.registry)
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

    def serve(self, settings: MetricsSettings) -> None:
        """Start the /metrics endpoint if enabled (loopback unless allowed otherwise by the config)."""
        if not settings.enabled:
            return
        start_http_server(settings.port, addr=settings.host, registry=self.registry)
        logger.info("metrics on http://%s:%d/metrics", settings.host, settings.port)
