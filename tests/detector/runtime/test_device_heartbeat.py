"""Heartbeat state precedence, coarse heartbeat figures, and the optional Prometheus endpoint behind a token."""

from __future__ import annotations

import contextlib
import socket
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from detector.config import MetricsSettings, read_metrics_token
from detector.heartbeat import (
    DeviceSnapshot,
    HeartbeatFigures,
    HeartbeatIdentity,
    IntervalMeter,
    StateReport,
    build_heartbeat,
    coarse_count,
    decide_state,
)
from detector.metrics import DetectorMetrics, MetricsServer
from nitrosignal.keys import KeyFileError
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
    ("figures", "expected"),
    [
        # (fps_in, fps_processed, dropped) as measured -> as they travel: whole fps, drops to a power of ten.
        ((12.345, 4.49, 0), (12.0, 4.0, 0)),
        ((9.5, 2.51, 7), (10.0, 3.0, 1)),
        ((0.2, 0.0, 10), (0.0, 0.0, 10)),
        ((2000.0, 999.6, 4321), (1000.0, 1000.0, 1000)),
        ((-1.0, 3.0, -5), (0.0, 3.0, 0)),
    ],
)
def test_heartbeat_figures_travel_coarsely(
    figures: tuple[float, float, int], expected: tuple[float, float, int]
) -> None:
    fps_in, fps_processed, dropped = figures
    heartbeat = build_heartbeat(
        HeartbeatIdentity(camera_id="cam-1", config_hash="c" * 64, model_version="0.1.0"),
        42,
        StateReport(DeviceState.ACTIVE, None),
        HeartbeatFigures(fps_in, fps_processed, dropped, outbox_depth=0, uptime_s=1),
    )
    assert (heartbeat.fps_in, heartbeat.fps_processed, heartbeat.dropped_frames) == expected
    assert heartbeat.sent_at.microsecond == 0


@pytest.mark.parametrize(("count", "bucket"), [(0, 0), (1, 1), (9, 1), (10, 10), (99, 10), (100, 100), (12345, 10000)])
def test_drop_counts_are_rounded_down_to_a_power_of_ten(count: int, bucket: int) -> None:
    assert coarse_count(count) == bucket


def test_interval_meter_averages_over_whole_intervals_only() -> None:
    meter = IntervalMeter(started=0.0, interval_s=30.0)
    assert meter.figures(5.0, 50, 25, 0) == (0.0, 0.0, 0)  # no full interval yet
    # 30 s: 300 frames read, 140 analysed (4.67/s), 3 dropped.
    assert meter.figures(30.0, 300, 140, 3) == (10.0, 5.0, 1)
    # A state change 2 s later: a burst of 20 analysed frames does not show; the last interval's figures do.
    assert meter.figures(32.0, 320, 160, 3) == (10.0, 5.0, 1)
    # The next regular heartbeat averages the whole interval since the last one (30 -> 60 s).
    assert meter.figures(60.0, 600, 260, 40) == (10.0, 4.0, 10)


TOKEN = "t" * 40


@pytest.mark.parametrize(
    ("settings", "expectation"),
    [
        ({}, contextlib.nullcontext()),
        ({"host": "::1", "enabled": True, "token_file": "metrics.token"}, contextlib.nullcontext()),
        ({"host": "0.0.0.0"}, pytest.raises(ValidationError, match="not loopback")),
        ({"host": "192.168.1.5", "enabled": True, "token_file": "t"}, pytest.raises(ValidationError, match="loopback")),
        ({"enabled": True}, pytest.raises(ValidationError, match="without token_file")),
        ({"allow_remote": True}, pytest.raises(ValidationError, match="Extra inputs")),
    ],
)
def test_metrics_are_loopback_only_and_need_a_token(
    settings: dict[str, Any], expectation: contextlib.AbstractContextManager[Any]
) -> None:
    with expectation:
        MetricsSettings.model_validate(settings)


@pytest.mark.parametrize(
    ("content", "mode", "message"),
    [
        (TOKEN, 0o600, None),
        (TOKEN, 0o640, "mode 0640"),
        ("short", 0o600, "at least 32"),
        ("two words " + TOKEN, 0o600, "one word"),
    ],
)
def test_metrics_token_file_must_be_private_and_long(
    tmp_path: Path, content: str, mode: int, message: str | None
) -> None:
    path = tmp_path / "metrics.token"
    path.write_text(content + "\n")
    path.chmod(mode)
    if message is None:
        assert read_metrics_token(path) == content
        return
    with pytest.raises(KeyFileError, match=message):
        read_metrics_token(path)


def _get(port: int, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_metrics_endpoint_serves_counters_only_when_enabled_and_only_with_the_token(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    token_file = tmp_path / "metrics.token"
    token_file.write_text(TOKEN)
    token_file.chmod(0o600)
    metrics = DetectorMetrics()
    assert metrics.serve(MetricsSettings(enabled=False, port=port)) is None
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
    metrics.frames_processed.inc(5)
    metrics.stage_seconds.labels(stage="pose").observe(0.03)
    metrics.set_state("degraded")
    server = metrics.serve(MetricsSettings(enabled=True, port=port, token_file=token_file))
    assert server is not None
    try:
        # Refused without the token, with a wrong one, and with the right one sent the wrong way.
        for headers in ({}, {"Authorization": "Bearer " + "x" * 40}, {"Authorization": TOKEN}):
            status, body = _get(port, headers)
            assert status == 401 and "nitrosignal" not in body, headers
        status, text = _get(port, {"Authorization": f"Bearer {TOKEN}"})
    finally:
        server.close()
    assert status == 200
    assert "nitrosignal_frames_processed_total 5.0" in text
    assert 'nitrosignal_state{state="degraded"} 1.0' in text
    assert 'nitrosignal_stage_seconds_count{stage="pose"} 1.0' in text
    assert "image" not in text.lower()


def test_metrics_server_refuses_a_non_loopback_address() -> None:
    with pytest.raises(ValueError, match="not loopback"):
        MetricsServer(DetectorMetrics().registry, "0.0.0.0", 0, TOKEN)
