"""The systemd units: `systemd-analyze verify` is clean, and the hardened detector unit, with the drop-in
that provisioning writes, scores in the "OK" exposure band or better (<= 4.9) of `systemd-analyze security`.

The score is printed (run pytest with -s to see it) and recorded in docs/DEVICE_INSTALL.md.
"""

from __future__ import annotations

import importlib
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nitroplatform.ops.bundle_text import dropin_text

REPO = Path(__file__).resolve().parents[2]
DETECTOR_UNIT = REPO / "deploy" / "device" / "nitrosignal-detector.service"
PLATFORM_UNIT = REPO / "deploy" / "platform" / "nitrosignal-platform.service"
OK_BAND_MAX = 4.9
HARDENING_KEYS = (
    r"^(Protect|Private|Restrict|SystemCall|Capability|NoNew|Memory|Lock|Device|IPAddress|ProcSubset|UMask"
    r"|RemoveIPC|Keyring|BindPaths|User|Group)"
)
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")

pytestmark = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed (apt-get install systemd)"
)


def _installable_copy(unit: Path, folder: Path) -> Path:
    """The unit with /opt/nitrosignal/venv pointed at this virtualenv, so verify finds the executables."""
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / unit.name
    copy.write_text(unit.read_text().replace("/opt/nitrosignal/venv", sys.prefix))
    return copy


def _analyze(*args: str, unit_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "SYSTEMD_LOG_LEVEL": "warning"}
    if unit_path is not None:
        # A trailing ':' keeps the built-in search path after ours (systemd.unit(5)).
        env["SYSTEMD_UNIT_PATH"] = f"{unit_path}:"
    return subprocess.run(
        [str(SYSTEMD_ANALYZE), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize("unit", [DETECTOR_UNIT, PLATFORM_UNIT], ids=["detector", "platform"])
def test_unit_verifies_without_warnings(unit: Path, tmp_path: Path) -> None:
    copy = _installable_copy(unit, tmp_path)
    result = _analyze("verify", str(copy))
    assert result.returncode == 0, result.stderr
    # Unknown keys, bad specifiers and missing executables are warnings on stderr, not errors: none allowed.
    assert result.stderr.strip() == ""


def test_verify_catches_a_broken_unit(tmp_path: Path) -> None:
    copy = _installable_copy(DETECTOR_UNIT, tmp_path)
    copy.write_text(copy.read_text().replace("ProtectSystem=strict", "ProtectSystem=strict\nProtectSystme=yes"))
    result = _analyze("verify", str(copy))
    assert "Unknown key" in result.stderr


def _security_score(unit_dir: Path, unit_name: str) -> float:
    threshold = f"--threshold={int(OK_BAND_MAX * 10)}"
    result = _analyze("security", "--offline=true", threshold, unit_name, unit_path=unit_dir)
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+) (\w+)", result.stdout)
    assert match, result.stdout + result.stderr
    score = float(match.group(1))
    print(f"systemd-analyze security {unit_name}: {score} {match.group(2)}")
    # --threshold makes the command itself fail above the OK band, so both checks agree.
    assert (result.returncode == 0) == (score <= OK_BAND_MAX), result.stderr
    return score


@pytest.mark.parametrize(
    ("addresses", "host", "device_index"),
    [
        (("203.0.113.10",), "203.0.113.10", 0),
        (("2001:db8::10",), "2001:db8::10", 0),
        (("203.0.113.10", "203.0.113.11"), "signal.gemeente.example", 2),
    ],
    ids=["ipv4", "ipv6", "hostname-and-video2"],
)
def test_detector_unit_with_provisioned_dropin_is_in_the_ok_band(
    addresses: tuple[str, ...], host: str, device_index: int, tmp_path: Path
) -> None:
    unit_dir = tmp_path / "units"
    _installable_copy(DETECTOR_UNIT, unit_dir)
    dropin_dir = unit_dir / f"{DETECTOR_UNIT.name}.d"
    dropin_dir.mkdir()
    (dropin_dir / "10-platform.conf").write_text(dropin_text(addresses, host=host, device_index=device_index))

    verify = _analyze("verify", DETECTOR_UNIT.name, unit_path=unit_dir)
    assert verify.returncode == 0 and verify.stderr.strip() == "", verify.stderr
    score = _security_score(unit_dir, DETECTOR_UNIT.name)
    assert score <= OK_BAND_MAX


def test_detector_unit_without_hardening_would_fail_the_band(tmp_path: Path) -> None:
    # The check can fail: the same unit stripped of its sandboxing lands above the OK band.
    unit_dir = tmp_path / "units"
    copy = _installable_copy(DETECTOR_UNIT, unit_dir)
    service_lines = [line for line in copy.read_text().splitlines() if not re.match(HARDENING_KEYS, line)]
    copy.write_text("\n".join(service_lines) + "\n")
    result = _analyze("security", "--offline=true", DETECTOR_UNIT.name, unit_path=unit_dir)
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match and float(match.group(1)) > OK_BAND_MAX


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("NoNewPrivileges", "yes"),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
        ("IPAddressDeny", "any"),
        ("StateDirectory", "nitrosignal"),
        ("DevicePolicy", "closed"),
        ("DeviceAllow", "/dev/video0 rw"),
        ("CapabilityBoundingSet", ""),
        ("Restart", "on-failure"),
        ("User", "nitrosignal"),
    ],
)
def test_detector_unit_declares_the_required_hardening(setting: str, expected: str) -> None:
    values = [
        line.split("=", 1)[1] for line in DETECTOR_UNIT.read_text().splitlines() if line.startswith(f"{setting}=")
    ]
    assert expected in values


def test_detector_outbox_path_is_the_only_writable_directory() -> None:
    from nitroplatform.ops.provision import OUTBOX_PATH

    text = DETECTOR_UNIT.read_text()
    assert "ReadWritePaths" not in text
    assert f"StateDirectory={OUTBOX_PATH.parent.name}" in text
    assert str(OUTBOX_PATH.parent) == "/var/lib/nitrosignal"


def _exec_lines(unit: Path) -> list[list[str]]:
    return [
        shlex.split(line.split("=", 1)[1])
        for line in unit.read_text().splitlines()
        if re.match(r"^Exec(Start|StartPre)=", line)
    ]


def _parse_with_real_cli(argv: list[str]) -> None:
    """Parse ``nitrosignal GROUP COMMAND ARGS`` with the component's own typer app, without running it."""
    from typer.main import get_command

    group_name, command_name, *arguments = argv
    module = {"detector": "detector.cli", "platform": "nitroplatform.cli"}[group_name]
    # Typer vendors its own click, so go through the objects it returns rather than importing click.
    group: Any = get_command(importlib.import_module(module).app)
    with group.context_class(group) as context:
        command = group.get_command(context, command_name)
        assert command is not None, f"nitrosignal {group_name} has no command {command_name!r}"
        command.make_context(command_name, list(arguments), parent=context)


@pytest.mark.parametrize("unit", [DETECTOR_UNIT, PLATFORM_UNIT], ids=["detector", "platform"])
def test_unit_commands_exist_and_parse(unit: Path) -> None:
    from nitroplatform.ops.startup import _parse

    for argv in _exec_lines(unit):
        if argv[1:3] == ["-m", "nitroplatform.ops.startup"]:
            argv = [part for part in _parse(argv[3:]).command if part != "--"]
        assert Path(argv[0]).name == "nitrosignal", argv
        _parse_with_real_cli(argv[1:])


def test_unit_command_parsing_catches_a_wrong_option() -> None:
    with pytest.raises(Exception) as caught:  # noqa: B017 - the vendored click's UsageError, checked below
        _parse_with_real_cli(["detector", "run", "/etc/nitrosignal/camera.yaml"])
    assert "UsageError" in [cls.__name__ for cls in type(caught.value).__mro__]


MDWE_PROBE = """
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
# PR_SET_MDWE(65), PR_MDWE_REFUSE_EXEC_GAIN(1): what MemoryDenyWriteExecute=yes enforces.
if libc.prctl(65, 1, 0, 0, 0) != 0:
    sys.exit(77)
import numpy as np
from detector.model import default_model_path, load_model, shipped_signing_key_path
model = load_model(default_model_path(), trusted_keys=[shipped_signing_key_path()])
size = model.card.input.size_px
# One crop and several in one batch: onnxruntime may take other kernels for each.
for people in (1, 4):
    assert model.predict(np.zeros((people, 3, size, size), dtype=np.float32)).shape == (people,)
from detector.cli import app
app(["score", sys.argv[1]])
"""


@pytest.mark.slow
def test_detector_runs_under_memory_deny_write_execute(tmp_path: Path) -> None:
    # The unit sets MemoryDenyWriteExecute=yes; prove onnxruntime and mediapipe score a photo without W+X memory.
    image = REPO / "nitrosignal" / "assets" / "demo_person.jpg"
    result = subprocess.run(
        [sys.executable, "-c", MDWE_PROBE, str(image)], capture_output=True, text=True, timeout=240, check=False
    )
    if result.returncode == 77:
        pytest.skip("this kernel has no PR_SET_MDWE (Linux >= 6.3)")
    assert result.returncode == 0, result.stderr[-3000:]
    line = json.loads(result.stdout.strip().splitlines()[-1])
    assert line["people"] >= 1
