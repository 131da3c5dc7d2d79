"""Heartbeat state precedence and the optional, loopback-only Prometheus endpoint."""

from __future__ import annotations

import contextlib
import socket
import urllib.request
from typing import Any

import pytest
from pydantic import ValidationError

from detector.config import MetricsSettings
from detector.heartbeat import (
    DeviceSnapshot,
    HeartbeatFigures,
    HeartbeatIdentity,
    StateReport,
    build_heartbeat,
    decide_state,
)
from detector.metrics import DetectorMetrics
from nitrosignal.wire import DeviceState, decode, encode

OK = {
    "error_reason": None,
    "gated": False,
    "in_schedule": True,
    "feed_ok": True,
    "outbox_full": False,
    "platform_reachable": True,
}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, StateReport(DeviceState.ACTIVE, None)),
        ({"error_reason": "model_load_failed", "gated": True}, StateReport(DeviceState.ERROR, "model_load_failed")),
        ({"gated": True, "in_schedule": False}, StateReport(DeviceState.INACTIVE_GATED, "iama_not_approved")),
        ({"in_schedule": False, "feed_ok": False}, StateReport(DeviceState.INACTIVE_SCHEDULE, "outside_schedule")),
        ({"feed_ok": False, "outbox_full": True}, StateReport(DeviceState.DEGRADED, "camera_feed_lost")),
        ({"outbox_full": True, "platform_reachable": False}, StateReport(DeviceState.DEGRADED, "outbox_full")),
        ({"platform_reachable": False}, StateReport(DeviceState.DEGRADED, "platform_unreachable")),
    ],
)
def test_state_precedence(changes: dict[str, Any], expected: StateReport) -> None:
    report = decide_state(DeviceSnapshot(**{**OK, **changes}))
    assert report == expected
    heartbeat = build_heartbeat(
        HeartbeatIdentity(camera_id="cam-1", config_hash="c" * 64, model_version="0.1.0"),
        42,
        report,
        HeartbeatFigures(fps_in=12.345, fps_processed=2000.0, dropped_frames=3, outbox_depth=1, uptime_s=9),
    )
    decoded = decode(encode(heartbeat))  # every state is a valid contract message
    assert (decoded.state, decoded.reason) == (expected.state, expected.reason)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("settings", "expectation"),
    [
        ({}, contextlib.nullcontext()),
        ({"host": "::1"}, contextlib.nullcontext()),
        ({"host": "0.0.0.0"}, pytest.raises(ValidationError, match="not loopback")),
        ({"host": "192.168.1.5", "allow_remote": True}, contextlib.nullcontext()),
    ],
)
def test_metrics_are_loopback_only_unless_allowed(
    settings: dict[str, Any], expectation: contextlib.AbstractContextManager[Any]
) -> None:
    with expectation:
        MetricsSettings.model_validate(settings)


def test_metrics_endpoint_serves_counters_only_when_enabled() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    metrics = DetectorMetrics()
    metrics.serve(MetricsSettings(enabled=False, port=port))
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
    metrics.frames_processed.inc(5)
    metrics.stage_seconds.labels(stage="pose").observe(0.03)
    metrics.set_state("degraded")
    metrics.serve(MetricsSettings(enabled=True, port=port))
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    assert "nitrosignal_frames_processed_total 5.0" in text
    assert 'nitrosignal_state{state="degraded"} 1.0' in text
    assert 'nitrosignal_stage_seconds_count{stage="pose"} 1.0' in text
    assert "image" not in text.lower()
