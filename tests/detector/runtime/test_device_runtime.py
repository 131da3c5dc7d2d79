"""The whole device runtime in process, on real videos, real MediaPipe and a real CURVE platform.

Heartbeat states are explicit (gated until the first ack, inactive outside the schedule, degraded when
the feed dies, error when the model does not load or is refused: broken, unsigned, a card of a newer schema
or without an ONNX sha256; the detector never looks without its classifier), and an alert goes detected →
queued → sent → acked.
"""

from __future__ import annotations

import json
import socket
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from device_harness import (  # type: ignore[import-not-found]
    Keys,
    TestPlatform,
    alert_builder,
    camera_config_dict,
    write_person_video,
)

from detector.config import CameraConfig
from detector.link import AlertTrace
from detector.runtime import DetectorRuntime, RunOptions, RunSummary
from nitrosignal.modelcard import card_path_for
from nitrosignal.modelsig import signature_path_for
from nitrosignal.wire import AlertPhase, DeviceState

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _closed_schedule() -> dict[str, Any]:
    """A one-hour window that starts two hours from now: the camera may not look right now."""
    local = datetime.now(ZoneInfo("Europe/Amsterdam")) + timedelta(hours=2)
    start = local.replace(minute=0)
    end = start + timedelta(hours=1)
    day = WEEKDAYS[start.weekday()]
    return {"windows": [{"days": [day], "start": f"{start:%H:%M}", "end": f"{end:%H:%M}"}]}


@pytest.fixture(scope="module")
def still_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("video") / "person.avi"
    write_person_video(path, seconds_before=2.0, seconds_balloon=0.0, seconds_after=0.0)
    return path


@pytest.fixture(scope="module")
def balloon_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("video") / "balloon.avi"
    write_person_video(path, seconds_before=0.5, seconds_balloon=2.5, seconds_after=0.5)
    return path


def _damage_model(model: Path, case: str) -> None:
    """The signed test model, made unusable the way ``case`` says; the detector must refuse it at start."""
    card = card_path_for(model)
    document = json.loads(card.read_text())
    if case == "model_unsigned":
        signature_path_for(model).unlink()
    elif case == "model_card_of_a_newer_schema":
        card.write_text(json.dumps(document | {"schema": "nitrosignal.modelcard/3"}))
    elif case == "model_card_without_onnx_sha256":
        del document["format"]
        card.write_text(json.dumps(document | {"schema": "nitrosignal.modelcard/1"}))


def run_runtime(config: CameraConfig, options: RunOptions) -> tuple[RunSummary, list[AlertTrace]]:
    traces: list[AlertTrace] = []
    lock = threading.Lock()

    def record(trace: AlertTrace) -> None:
        with lock:
            traces.append(trace)

    summary = DetectorRuntime(config, on_trace=record, options=options).run(threading.Event())
    return summary, traces


@pytest.mark.parametrize(
    ("case", "platform_gated", "expected_state", "expected_reason", "reads_frames"),
    [
        ("active", False, DeviceState.ACTIVE, None, True),
        ("gated", True, DeviceState.INACTIVE_GATED, "iama_not_approved", False),
        ("outside_schedule", False, DeviceState.INACTIVE_SCHEDULE, "outside_schedule", False),
        ("feed_dead", False, DeviceState.DEGRADED, "camera_feed_lost", False),
        ("stream_dead", False, DeviceState.DEGRADED, "camera_feed_lost", False),
        ("model_broken", False, DeviceState.ERROR, "model_load_failed", False),
        ("model_unsigned", False, DeviceState.ERROR, "model_load_failed", False),
        ("model_card_of_a_newer_schema", False, DeviceState.ERROR, "model_load_failed", False),
        ("model_card_without_onnx_sha256", False, DeviceState.ERROR, "model_load_failed", False),
    ],
)
def test_heartbeat_states_are_explicit(
    tmp_path: Path,
    keys: Keys,
    platform_server: TestPlatform,
    still_video: Path,
    case: str,
    platform_gated: bool,
    expected_state: DeviceState,
    expected_reason: str | None,
    reads_frames: bool,
) -> None:
    platform_server.gated = platform_gated
    source: dict[str, Any] = {"type": "file", "path": str(still_video), "loop": True}
    data = camera_config_dict(keys, platform_server.endpoint, source, tmp_path / "outbox.sqlite3")
    if case == "outside_schedule":
        data["schedule"] = _closed_schedule()
    elif case == "feed_dead":
        data["source"] = {"type": "file", "path": str(tmp_path / "unplugged.avi"), "reconnect_initial_s": 0.2}
    elif case == "stream_dead":
        with socket.socket() as probe:  # a port nobody listens on: the camera is unplugged
            probe.bind(("127.0.0.1", 0))
            url = f"http://127.0.0.1:{probe.getsockname()[1]}/video.mjpg"
        data["source"] = {"type": "http", "url": url, "timeout_s": 1.0, "reconnect_initial_s": 0.2}
    elif case == "model_broken":
        broken = tmp_path / "model.onnx"
        broken.write_bytes(b"not a model")
        data["model_path"] = str(broken)
    elif case.startswith("model_"):
        _damage_model(Path(data["model_path"]), case)
    summary, _ = run_runtime(CameraConfig.model_validate(data), RunOptions(max_seconds=2.0))

    heartbeats = platform_server.heartbeats()
    assert heartbeats, "no heartbeat reached the platform"
    # A fresh device is gated until the platform's first ack says otherwise.
    assert heartbeats[0].state in (DeviceState.INACTIVE_GATED, DeviceState.ERROR)
    last = heartbeats[-1]
    assert (last.state, last.reason) == (expected_state, expected_reason)
    assert (summary.frames_read > 0) is reads_frames
    assert [h.seq for h in heartbeats] == sorted({h.seq for h in heartbeats})
    assert all(h.config_hash == heartbeats[0].config_hash for h in heartbeats)


def test_alert_travels_detected_queued_sent_acked(
    tmp_path: Path, keys: Keys, platform_server: TestPlatform, balloon_video: Path
) -> None:
    source = {"type": "file", "path": str(balloon_video), "realtime": False}
    data = camera_config_dict(keys, platform_server.endpoint, source, tmp_path / "outbox.sqlite3")
    data["outbox"]["path"] = str(tmp_path / "outbox.sqlite3")
    outbox_seed = CameraConfig.model_validate(data)
    # Not gated: the platform has answered this device before.
    from detector.outbox import Outbox

    seeded = Outbox.open(outbox_seed.outbox.path)
    seeded.set_gated(False)
    seeded.close()

    summary, traces = run_runtime(outbox_seed, RunOptions(max_seconds=60, exit_at_end=True))

    alerts = platform_server.alerts()
    phases = [a.phase for a in alerts]
    assert phases[0] is AlertPhase.NEW and phases[-1] is AlertPhase.END, phases
    assert len({a.incident_id for a in alerts}) == 1
    new = alerts[0]
    steps = [t.step for t in traces if t.incident_id == str(new.incident_id) and t.seq in (None, new.seq)]
    assert steps[:4] == ["detected", "queued", "sent", "acked"]
    assert summary.outbox_depth == 0 and summary.alerts_acked == len(alerts)
    assert new.model.version and new.occurred_at <= datetime.now(UTC)
    assert summary.dropped_frames == 0  # a file read as fast as possible is never thinned by drops


def test_a_lost_feed_is_reopened_with_backoff_once_it_returns(
    tmp_path: Path, keys: Keys, platform_server: TestPlatform, still_video: Path
) -> None:
    camera_file = tmp_path / "camera.avi"
    source = {"type": "file", "path": str(camera_file), "loop": True, "reconnect_initial_s": 0.2}
    config = CameraConfig.model_validate(
        camera_config_dict(keys, platform_server.endpoint, source, tmp_path / "outbox.sqlite3")
    )

    def plug_in_once_reported_lost() -> None:
        lost = platform_server.wait_for(
            lambda: any(h.reason == "camera_feed_lost" for h in platform_server.heartbeats()), 30
        )
        if lost:
            camera_file.write_bytes(still_video.read_bytes())

    plug_in = threading.Thread(target=plug_in_once_reported_lost, daemon=True)
    plug_in.start()
    summary, _ = run_runtime(config, RunOptions(max_seconds=3.0))
    plug_in.join(5)
    states = [(h.state, h.reason) for h in platform_server.heartbeats()]
    assert (DeviceState.DEGRADED, "camera_feed_lost") in states
    assert states[-1] == (DeviceState.ACTIVE, None)
    assert summary.frames_read > 0


def test_full_outbox_refuses_new_alerts_keeps_the_backlog_and_says_so(
    tmp_path: Path, keys: Keys, balloon_video: Path
) -> None:
    from detector.outbox import Outbox, OutboxFullError

    with socket.socket() as probe:  # the platform is away: nothing drains the outbox
        probe.bind(("127.0.0.1", 0))
        endpoint = f"tcp://127.0.0.1:{probe.getsockname()[1]}"
    source = {"type": "file", "path": str(balloon_video), "realtime": False}
    data = camera_config_dict(keys, endpoint, source, tmp_path / "outbox.sqlite3")
    data["outbox"]["max_size_mb"] = 0.0625
    config = CameraConfig.model_validate(data)
    outbox = Outbox.open(config.outbox.path, max_bytes=64 * 1024)
    outbox.set_gated(False)
    with pytest.raises(OutboxFullError):
        for _ in range(1000):
            outbox.add_alert(alert_builder())
    backlog = outbox.depth()
    outbox.close()

    summary, traces = run_runtime(
        config, RunOptions(max_seconds=30, exit_at_end=True, drain_timeout_s=0.1, stop_drain_s=0.1)
    )

    assert "detected" in [t.step for t in traces] and "queued" not in [t.step for t in traces]
    assert (summary.last_state, summary.last_reason) == ("degraded", "outbox_full")
    assert summary.outbox_depth == backlog  # nothing lost from the backlog
