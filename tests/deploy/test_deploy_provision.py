"""Provision a fresh device in a temporary folder and connect it to the real platform using only its bundle.

The platform runs in-process (HTTP, ZeroMQ ingest with CURVE and ZAP against the registry); the device
side is :func:`detector.check.check_device` reading the installed bundle, the same function
``nitrosignal detector check`` runs.
"""

from __future__ import annotations

import re
import shlex
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError
from sqlalchemy import select, update
from typer.testing import CliRunner

from detector.check import CheckProblem, check_device
from detector.config import ScheduleWindow
from nitroplatform.api.errors import ConflictError
from nitroplatform.db.engine import make_engine
from nitroplatform.db.models import Camera
from nitroplatform.db.session import make_sessionmaker, session_scope
from nitroplatform.launcher import PlatformThread, free_tcp_port
from nitroplatform.ops import cli as ops_cli
from nitroplatform.ops.provision import (
    ProvisionError,
    ProvisionRequest,
    ProvisionResult,
    provision_camera,
)
from nitroplatform.settings import Settings, get_settings
from nitrosignal.keys import generate_keypair, load_public

WINDOW = ScheduleWindow(days=("fri", "sat"), start="20:00", end="04:00")
Provisioner = Callable[..., ProvisionResult]


def _settings(tmp_path: Path, gating_mode: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "platform",
        http_host="127.0.0.1",
        http_port=free_tcp_port(),
        ingest_bind=f"tcp://127.0.0.1:{free_tcp_port()}",
        gating_mode=gating_mode,
    )


@pytest.fixture
def platform(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PlatformThread]:
    """The running platform; gating mode from indirect parametrisation, 'open' by default."""
    with PlatformThread(_settings(tmp_path, getattr(request, "param", "open"))) as running:
        yield running


@pytest.fixture
def provision(platform: PlatformThread, tmp_path: Path) -> Iterator[Provisioner]:
    engine = make_engine(platform.settings.effective_database_url)

    def run(camera_id: str = "pier-01", **overrides: object) -> ProvisionResult:
        fields: dict[str, object] = {
            "camera_id": camera_id,
            "endpoint": platform.ingest_endpoint,
            "output_dir": tmp_path / "bundles",
            "schedule": (WINDOW,),
        }
        request = ProvisionRequest.model_validate(fields | overrides)
        result = provision_camera(
            request,
            sessions=make_sessionmaker(engine),
            platform_public_key_file=platform.settings.effective_server_secret_key_file,
        )
        # In the field a check runs minutes after provisioning; here it runs at once, so let the ingest
        # load the new key now instead of on its next refresh (which would make the test timing-bound).
        platform.app.state.runtime.ingest.refresh_registry()
        return result

    yield run
    engine.dispose()


def install_bundle(bundle: Path, device_root: Path) -> Path:
    """Do what the bundle README says, into a fake /etc/nitrosignal: copy camera.yaml and keys/."""
    etc = device_root / "etc" / "nitrosignal"
    (etc / "keys").mkdir(parents=True)
    shutil.copy2(bundle / "camera.yaml", etc / "camera.yaml")
    for key in (bundle / "keys").iterdir():
        shutil.copy2(key, etc / "keys" / key.name)
    return etc / "camera.yaml"


def run_documented_install(bundle: Path, device_root: Path) -> tuple[Path, list[str]]:
    """Run the bundle README's install commands, with /etc under ``device_root`` and without chown.

    Returns:
        The installed camera.yaml and the documented commands that need a real device (systemctl, sudo).
    """
    readme = (bundle / "README.md").read_text()
    block = readme.split("```sh\n", 1)[1].split("```", 1)[0].replace("\\\n", " ")
    skipped = []
    for line in (part.strip() for part in block.splitlines()):
        if not line:
            continue
        if not line.startswith("install "):
            skipped.append(line)
            continue
        # Ownership needs the device's nitrosignal user; modes and paths are what this test checks.
        line = re.sub(r" -o \S+ -g \S+", "", line).replace(" /etc/", f" {device_root}/etc/")
        subprocess.run(shlex.split(line), cwd=bundle, check=True, capture_output=True, timeout=30)
    return device_root / "etc" / "nitrosignal" / "camera.yaml", skipped


@pytest.mark.parametrize("platform", ["open", "iama"], indirect=True)
def test_fresh_device_connects_using_only_its_bundle(
    platform: PlatformThread, provision: Provisioner, tmp_path: Path
) -> None:
    result = provision()
    config, skipped = run_documented_install(result.bundle_dir, tmp_path / "device")
    shutil.rmtree(result.bundle_dir)  # the device has only what the documented commands copied
    assert [line.split()[0] for line in skipped] == ["systemctl", "sudo", "sudo", "systemctl"]
    assert stat.S_IMODE((config.parent / "keys" / "pier-01.key_secret").stat().st_mode) == 0o600
    dropin = tmp_path / "device/etc/systemd/system/nitrosignal-detector.service.d/10-platform.conf"
    assert "IPAddressAllow=127.0.0.1" in dropin.read_text()

    check = check_device(config, timeout_s=15)

    assert check.ok, check.message
    assert (check.reached, check.authenticated, check.acked) == (True, True, True)
    assert check.ack_result == "stored"
    # 'open' gating: not gated; 'iama': the camera has no deployment with an approved IAMA, so it is gated.
    assert check.gated is (platform.settings.gating_mode == "iama")
    assert ("GATED" in check.message) is check.gated
    engine = make_engine(platform.settings.effective_database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            camera = session.scalars(select(Camera).where(Camera.id == "pier-01")).one()
            assert (camera.last_state, camera.last_reason) == ("degraded", "device_check")
    finally:
        engine.dispose()


def test_bundle_validates_with_the_detector_and_keeps_secrets_private(provision: Provisioner, tmp_path: Path) -> None:
    from detector.config import validate_config_file

    result = provision(device_index=2, name="Pier", site="Boulevard", zones=("square",))
    bundle = result.bundle_dir
    assert stat.S_IMODE(bundle.stat().st_mode) == 0o700
    assert stat.S_IMODE((bundle / "keys" / "pier-01.key_secret").stat().st_mode) == 0o600
    assert load_public(bundle / "keys" / "pier-01.key").decode() == result.camera_public_key
    assert load_public(bundle / "keys" / "platform.key").decode() == result.platform_public_key
    config, issues = validate_config_file(install_bundle(bundle, tmp_path / "device"))
    assert issues == [] and config is not None
    assert config.source.type == "device" and config.source.index == 2
    assert str(config.outbox.path) == "/var/lib/nitrosignal/outbox.sqlite3"
    dropin = (bundle / "systemd" / "nitrosignal-detector.service.d" / "10-platform.conf").read_text()
    assert "IPAddressAllow=127.0.0.1" in dropin.splitlines()
    assert "DeviceAllow=/dev/video2 rw" in dropin.splitlines()
    assert "pier-01.key_secret" in (bundle / "README.md").read_text()
    assert not list(tmp_path.joinpath("bundles").glob(".*partial"))


def _wrong_platform_key(config: Path) -> None:
    other = generate_keypair(config.parent / "other", "impostor")
    shutil.copy2(other.public_path, config.parent / "keys" / "platform.key")


def _unregistered_camera_key(config: Path) -> None:
    generate_keypair(config.parent / "keys", "pier-01", overwrite=True)


def _closed_port(config: Path) -> None:
    document = yaml.safe_load(config.read_text())
    document["platform"]["endpoint"] = f"tcp://127.0.0.1:{free_tcp_port()}"
    config.write_text(yaml.safe_dump(document))


def _readable_secret(config: Path) -> None:
    (config.parent / "keys" / "pier-01.key_secret").chmod(0o644)


def _broken_yaml(config: Path) -> None:
    config.write_text("camera_id: [unclosed\n")


def _other_camera_id(config: Path) -> None:
    document = yaml.safe_load(config.read_text())
    document["camera_id"] = "pier-02"
    config.write_text(yaml.safe_dump(document))


@pytest.mark.parametrize(
    ("damage", "problem", "reached", "authenticated"),
    [
        (_wrong_platform_key, CheckProblem.WRONG_PLATFORM_KEY, True, False),
        (_unregistered_camera_key, CheckProblem.CAMERA_NOT_REGISTERED, True, False),
        (_closed_port, CheckProblem.UNREACHABLE, False, False),
        (_readable_secret, CheckProblem.SECRET_KEY_PERMISSIONS, False, False),
        (_broken_yaml, CheckProblem.CONFIG_INVALID, False, False),
        (_other_camera_id, CheckProblem.REFUSED, True, True),
    ],
    ids=["wrong-platform-key", "not-registered", "unreachable", "secret-permissions", "invalid-config", "wrong-id"],
)
def test_check_explains_each_failure(
    damage: Callable[[Path], None],
    problem: CheckProblem,
    reached: bool,
    authenticated: bool,
    provision: Provisioner,
    tmp_path: Path,
) -> None:
    config = install_bundle(provision().bundle_dir, tmp_path / "device")
    provision("pier-02")
    damage(config)

    check = check_device(config, timeout_s=3)

    assert not check.ok
    assert check.problem is problem, check.message
    assert (check.reached, check.authenticated) == (reached, authenticated), check.message
    assert check.message


def test_check_after_the_detector_ran_does_not_disturb_its_heartbeats(
    platform: PlatformThread, provision: Provisioner, tmp_path: Path
) -> None:
    config = install_bundle(provision().bundle_dir, tmp_path / "device")
    # The detector's outbox counter starts at the clock in microseconds; pretend it already reported.
    detector_seq = time.time_ns() // 1000
    engine = make_engine(platform.settings.effective_database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            session.execute(update(Camera).where(Camera.id == "pier-01").values(last_heartbeat_seq=detector_seq))
        check = check_device(config, timeout_s=15)
        with session_scope(make_sessionmaker(engine)) as session:
            camera = session.scalars(select(Camera).where(Camera.id == "pier-01")).one()
    finally:
        engine.dispose()
    assert check.ok and check.ack_result == "refused", check.message
    assert check.gated is None
    assert camera.last_heartbeat_seq == detector_seq


def test_provision_refuses_duplicates_and_leaves_nothing_behind(provision: Provisioner, tmp_path: Path) -> None:
    provision()
    with pytest.raises(ProvisionError, match="exists"):
        provision()
    with pytest.raises(ConflictError):
        provision(output_dir=tmp_path / "elsewhere")
    assert not (tmp_path / "elsewhere" / "pier-01").exists()
    assert not list((tmp_path / "elsewhere").glob(".*partial"))


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"allow_addresses": ("not-an-ip",)}, "not an IP address"),
        ({"endpoint": "tcp://no-such-host.invalid:7750"}, "cannot resolve"),
    ],
    ids=["bad-allow-address", "unresolvable-host"],
)
def test_provision_needs_a_platform_address(
    overrides: dict[str, object], match: str, provision: Provisioner, tmp_path: Path
) -> None:
    with pytest.raises(ProvisionError, match=match):
        provision(**overrides)
    assert not (tmp_path / "bundles" / "pier-01").exists()


def test_cli_provision_backup_and_restore(
    platform: PlatformThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in platform.settings.to_env().items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        provisioned = runner.invoke(
            ops_cli.app,
            ["provision", "cli-cam", "--endpoint", platform.ingest_endpoint, "--schedule", "sun 14:00-22:00"]
            + ["--out", str(tmp_path / "bundles")],
        )
        assert provisioned.exit_code == 0, provisioned.output
        platform.app.state.runtime.ingest.refresh_registry()
        assert check_device(tmp_path / "bundles" / "cli-cam" / "camera.yaml", timeout_s=15).ok
        backed_up = runner.invoke(ops_cli.app, ["backup", str(tmp_path / "backup")])
        assert backed_up.exit_code == 0, backed_up.output
        assert "1 rows" in backed_up.output or "rows" in backed_up.output
        monkeypatch.setenv("NITROSIGNAL_DATA_DIR", str(tmp_path / "restored"))
        get_settings.cache_clear()
        restored = runner.invoke(ops_cli.app, ["restore", str(tmp_path / "backup")])
        assert restored.exit_code == 0, restored.output
        assert (tmp_path / "restored" / "platform.sqlite3").exists()
        assert (tmp_path / "restored" / "keys" / "platform.key_secret").stat().st_mode & 0o777 == 0o600
        bad = runner.invoke(ops_cli.app, ["provision", "x", "--endpoint", "tcp://h:1", "--schedule", "someday"])
        assert bad.exit_code == 2 and "DAYS HH:MM-HH:MM" in bad.output
    finally:
        get_settings.cache_clear()


def test_check_command_line_exit_codes(provision: Provisioner, tmp_path: Path) -> None:
    config = install_bundle(provision().bundle_dir, tmp_path / "device")
    command = [sys.executable, "-m", "detector.check", str(config), "--timeout", "10"]
    good = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "authenticated yes" in good.stdout and "OK: reached" in good.stdout
    _closed_port(config)
    bad = subprocess.run(command[:-1] + ["2"], capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == 1
    assert "FAILED (unreachable)" in bad.stdout


def _install_lines(markdown: str) -> list[str]:
    lines = []
    for block in markdown.split("```sh\n")[1:]:
        body = block.split("```", 1)[0].replace("\\\n", " ")
        lines += [" ".join(line.split()) for line in body.splitlines() if line.strip().startswith("install ")]
    return lines


def test_device_install_guide_copies_exactly_what_the_bundle_readme_says(provision: Provisioner) -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs" / "DEVICE_INSTALL.md").read_text()
    step5 = guide.split("## 5.", 1)[1].split("## 6.", 1)[0]
    readme = (provision().bundle_dir / "README.md").read_text()
    assert _install_lines(step5) == _install_lines(readme)


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown IANA timezone"),
        ({"schedule": ({"days": ["someday"], "start": "20:00", "end": "22:00"},)}, "days"),
        ({"schedule": ({"days": ["fri"], "start": "24:00", "end": "02:00"},)}, "24:00"),
        ({"endpoint": "http://platform:7750"}, "pattern"),
    ],
    ids=["timezone", "weekday", "start-at-midnight", "endpoint"],
)
def test_a_request_the_detector_would_refuse_is_refused_before_anything_is_made(
    overrides: dict[str, object], match: str, tmp_path: Path
) -> None:
    fields: dict[str, object] = {"camera_id": "pier-01", "endpoint": "tcp://127.0.0.1:7750", "output_dir": tmp_path}
    with pytest.raises(ValidationError, match=match):
        ProvisionRequest.model_validate(fields | {"schedule": (WINDOW,)} | overrides)
    assert list(tmp_path.iterdir()) == []
