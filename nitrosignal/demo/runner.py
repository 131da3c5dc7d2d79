"""Orchestrates the demo: platform (child process), seeding, demo clip, detector, officer stream.

The steps of the first alert are printed as they happen; ``--headless`` exits 0 once the whole path
(detected, queued, sent, stored, acked, streamed) was seen, or 1 with the missing steps after the time
limit. The clip loops until the alert has gone all the way or the time is up, and the demo says how fast
the detector analysed it, so a slow or busy machine is named as the cause instead of failing silently.
Headless runs analyse every frame of the clip (on the clip's own clock) rather than dropping frames to
keep up with real time, so a slow machine takes longer instead of missing the balloon.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import typer
import yaml

from nitrosignal.demo.alert_path import AlertPath
from nitrosignal.demo.diagnosis import DetectorProgress, explain_failure

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoOptions:
    """How the demo runs."""

    headless: bool = False
    timeout_s: float = 180.0
    http_port: int = 8080
    keep_running: bool = True
    data_dir: Path | None = None


def _echo(text: str) -> None:
    typer.echo(text)


def _camera_config(
    data_dir: Path, *, endpoint: str, platform_public_key: Path, clip: Path, clip_fps: int, realtime: bool
) -> Path:
    from detector.config import CameraConfig, FileSource, OutboxSettings, PlatformLink, ScheduleSettings, ScheduleWindow
    from detector.settings import ZoneSettings
    from nitrosignal.demo.seed import DEMO_CAMERA_ID, DEMO_ZONE

    camera_dir = data_dir / "camera"
    every_day = ScheduleWindow(days=("mon", "tue", "wed", "thu", "fri", "sat", "sun"), start="00:00", end="00:00")
    config = CameraConfig(
        camera_id=DEMO_CAMERA_ID,
        platform=PlatformLink(endpoint=endpoint, public_key_file=platform_public_key, ack_timeout_s=3),
        secret_key_file=camera_dir / f"{DEMO_CAMERA_ID}.key_secret",
        source=FileSource(type="file", path=clip, realtime=realtime, loop=True, analysis_fps=clip_fps),
        schedule=ScheduleSettings(timezone="Europe/Amsterdam", windows=(every_day,)),
        zones=(ZoneSettings(name=DEMO_ZONE, polygon=[(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]),),
        outbox=OutboxSettings(path=camera_dir / "outbox.sqlite3"),
        heartbeat_interval_s=2,
    )
    path = camera_dir / "camera.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json", exclude_unset=True), sort_keys=False))
    return path


def run_demo(options: DemoOptions) -> int:
    """Run the demo; returns the process exit code."""
    from detector.config import load_config
    from detector.link import AlertTrace
    from detector.runtime import DetectorRuntime, RunOptions
    from nitroplatform.launcher import free_tcp_port, prepare, start_subprocess, wait_ready
    from nitroplatform.settings import Settings
    from nitrosignal.demo.clip import build_demo_clip
    from nitrosignal.demo.seed import COORDINATOR, DEMO_CAMERA_ID, OFFICER, seed_platform
    from nitrosignal.demo.watch import OfficerSession
    from nitrosignal.keys import generate_keypair

    data_dir = options.data_dir or Path(tempfile.mkdtemp(prefix="nitrosignal-demo-"))
    http_port = free_tcp_port() if options.headless else options.http_port
    settings = Settings(
        environment="development",
        data_dir=data_dir / "platform",
        http_port=http_port,
        ingest_bind=f"tcp://127.0.0.1:{free_tcp_port()}",
        gating_mode="iama",
    )
    base_url = f"http://127.0.0.1:{http_port}"
    path = AlertPath(echo=_echo)
    _echo(f"nitrosignal demo: data in {data_dir}")

    _echo("- platform: migrating the SQLite database and creating its CURVE keys")
    prepare(settings)
    camera_keys = generate_keypair(data_dir / "camera", DEMO_CAMERA_ID)
    logins = seed_platform(settings, camera_public_key=camera_keys.public_path.read_text().split('"')[1])
    _echo(f"- platform: registered camera {DEMO_CAMERA_ID} with fresh keys, an officer team and its shift")
    _echo("- iama: the worked example IAMA v2 went through review, DPO advice and approval by four people;")
    _echo("        without it the platform would keep this camera inactive_gated")

    platform = start_subprocess(settings, log_path=str(data_dir / "platform.log"))
    stop = threading.Event()
    try:
        wait_ready(base_url, timeout_s=60, process=platform)
        _echo(f"- platform: serving {base_url} (log: {data_dir / 'platform.log'})")

        _echo("- detector: building the demo clip (a real photo, a rendered balloon at the mouth from 2 s to 11 s)")
        clip = build_demo_clip(data_dir / "clip" / "demo.mp4")
        public_key_file = settings.effective_server_secret_key_file.with_name("platform.key")
        config = load_config(
            _camera_config(
                data_dir,
                endpoint=settings.ingest_bind,
                platform_public_key=public_key_file,
                clip=clip.path,
                clip_fps=clip.fps,
                realtime=not options.headless,
            )
        )

        officer = OfficerSession(base_url, OFFICER, logins.officer_password)

        def on_incident(incident: dict[str, object]) -> None:
            if path.incident_id is None or incident.get("camera_id") != DEMO_CAMERA_ID:
                return
            path.step("stored", f"incident {incident['id']}, {incident.get('alert_count', '?')} alert(s)")
            path.step("streamed", f"state {incident.get('state')}")

        officer.follow_stream(on_incident, stop)

        def on_trace(trace: AlertTrace) -> None:
            if path.incident_id is None and trace.step == "detected":
                path.incident_id = trace.incident_id
            if trace.incident_id != path.incident_id or trace.step == "refused":
                if trace.step == "refused":
                    _echo(f"  refused by the platform: {trace.detail}")
                return
            path.step(trace.step, f"seq {trace.seq}" if trace.seq is not None else "")

        runtime = DetectorRuntime(config, on_trace=on_trace, options=RunOptions(max_seconds=options.timeout_s))
        detector = threading.Thread(target=runtime.run, args=(stop,), name="demo-detector", daemon=True)
        pace = "in real time" if not options.headless else "frame by frame"
        _echo(f"- detector: running on the clip {pace}, looping until the alert is through; following it:")
        detector_started = time.monotonic()
        detector.start()

        complete = path.wait(options.timeout_s)
        progress = DetectorProgress.read(
            runtime, time.monotonic() - detector_started, clip_frames=clip.frames, clip_fps=clip.fps
        )
        if not complete:
            _echo(
                f"FAILED: no complete alert path within {options.timeout_s:.0f} s; missing: {', '.join(path.missing())}"
            )
            # Confirmation needs required_frames positive frames while the balloon is at the mouth.
            needed = config.analysis.confirm.required_frames / (clip.balloon_until_s - clip.balloon_from_s)
            for line in explain_failure(
                path.missing(), progress, platform_log=data_dir / "platform.log", needed_per_s=needed
            ):
                _echo(f"  {line}")
            return 1
        _echo(f"- detector: {progress.describe()}")
        _echo("")
        _echo(f"The alert went all the way. Open {base_url}/app/ and log in:")
        _echo(f"  officer     {OFFICER} / {logins.officer_password}")
        _echo(f"  coordinator {COORDINATOR} / {logins.coordinator_password}")
        _echo(f"  live page   {base_url}/live    public transparency page {base_url}/transparency")
        if options.headless or not options.keep_running:
            return 0
        _echo("Press Ctrl-C to stop the demo.")
        with contextlib.suppress(KeyboardInterrupt):
            while platform.poll() is None:
                time.sleep(0.5)
        return 0
    finally:
        stop.set()
        _stop_process(platform)


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
