"""Prometheus metrics of one platform process, in the app's own registry (tests build many apps)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class PlatformMetrics:
    """Counters and histograms for ingest, incidents and the live stream."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        """Args: registry: where to register; a fresh one by default."""
        self.registry = registry or CollectorRegistry()
        self.messages = Counter(
            "nitrosignal_ingest_messages_total",
            "Device messages handled, by kind and result.",
            ["kind", "result"],
            registry=self.registry,
        )
        self.refused = Counter(
            "nitrosignal_ingest_refused_total",
            "Device messages refused, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.batch_seconds = Histogram(
            "nitrosignal_ingest_batch_seconds",
            "Time to validate, store and commit one drained batch.",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "nitrosignal_ingest_batch_messages",
            "Messages per drained batch.",
            buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500),
            registry=self.registry,
        )
        self.storage_errors = Counter(
            "nitrosignal_ingest_storage_errors_total",
            "Batches whose commit failed (nothing was acked).",
            registry=self.registry,
        )
        self.incident_changes = Counter(
            "nitrosignal_incident_changes_total",
            "Incident changes announced, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.listener_errors = Counter(
            "nitrosignal_incident_listener_errors_total",
            "Incident change listeners that raised.",
            registry=self.registry,
        )
        self.live_subscribers = Gauge(
            "nitrosignal_live_subscribers", "Open Server-Sent Events connections.", registry=self.registry
        )
        self.registered_cameras = Gauge(
            "nitrosignal_registered_cameras", "Cameras in the registry cache used by ZAP.", registry=self.registry
        )
