"""The start-up steps of the container and the systemd unit, run outside a container.

The same entry point (``python -m nitroplatform.ops.startup -- CMD``) that the Dockerfile and the unit
use is run here as a real process against SQLite and PostgreSQL, with secrets passed as files.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import text

from nitroplatform.db.engine import make_engine
from nitroplatform.db.migrate import current_revision, head_revision, upgrade
from nitroplatform.launcher import free_tcp_port, wait_ready
from nitroplatform.ops.startup import (
    StartupError,
    check_platform_keys,
    load_file_variables,
    run_startup,
    wait_for_database,
)
from nitroplatform.settings import Settings
from nitrosignal.keys import generate_keypair

DatabaseFactory = Callable[[], str]
BACKENDS = [pytest.param("sqlite", id="sqlite"), pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]
STRONG_SECRET = "s" * 48


def _child_env(tmp_path: Path, url: str) -> dict[str, str]:
    secrets = tmp_path / "secrets"
    secrets.mkdir(mode=0o700)
    (secrets / "database_url").write_text(url + "\n")
    (secrets / "secret_key").write_text(STRONG_SECRET + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NITROSIGNAL_")}
    env.update(
        NITROSIGNAL_ENVIRONMENT="production",
        NITROSIGNAL_DATA_DIR=str(tmp_path / "data"),
        NITROSIGNAL_DATABASE_URL_FILE=str(secrets / "database_url"),
        NITROSIGNAL_SECRET_KEY_FILE=str(secrets / "secret_key"),
    )
    return env


@pytest.mark.parametrize("fresh_database", BACKENDS, indirect=True)
def test_entry_point_migrates_checks_keys_and_execs_the_server(fresh_database: DatabaseFactory, tmp_path: Path) -> None:
    url = fresh_database()
    probe = "import json, os; print(json.dumps({k: v for k, v in os.environ.items() if k.startswith('NITROSIGNAL_')}))"
    result = subprocess.run(
        [sys.executable, "-m", "nitroplatform.ops.startup", "--init-keys", "--", sys.executable, "-c", probe],
        env=_child_env(tmp_path, url),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    server_env = json.loads(result.stdout.strip().splitlines()[-1])
    # The exec'd server sees the secrets' values, and none of the *_FILE names its settings do not know.
    assert server_env["NITROSIGNAL_DATABASE_URL"] == url
    assert server_env["NITROSIGNAL_SECRET_KEY"] == STRONG_SECRET
    assert not [name for name in server_env if name.endswith("_FILE")]
    assert current_revision(url) == head_revision()
    secret = tmp_path / "data" / "keys" / "platform.key_secret"
    assert secret.stat().st_mode & 0o777 == 0o600
    assert "created a NEW platform keypair" in result.stderr


@pytest.mark.parametrize(
    ("secret", "init_keys", "code", "message"),
    [
        ("changethis", True, 2, "secret_key must be a random string"),
        (STRONG_SECRET, False, 1, "does not exist"),
    ],
    ids=["weak-secret", "no-keys-without-init"],
)
def test_entry_point_refuses_to_start(
    secret: str, init_keys: bool, code: int, message: str, fresh_database: DatabaseFactory, tmp_path: Path
) -> None:
    env = _child_env(tmp_path, fresh_database())
    Path(env["NITROSIGNAL_SECRET_KEY_FILE"]).write_text(secret)
    argv = [sys.executable, "-m", "nitroplatform.ops.startup"] + (["--init-keys"] if init_keys else [])
    result = subprocess.run(
        argv + ["--", sys.executable, "-c", "print('SERVER STARTED')"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == code
    assert message in result.stderr
    assert "SERVER STARTED" not in result.stdout


@pytest.mark.parametrize(
    ("environ", "expected", "expectation"),
    [
        ({"NITROSIGNAL_SECRET_KEY_FILE": "{dir}/s"}, {"NITROSIGNAL_SECRET_KEY": "value"}, contextlib.nullcontext()),
        ({"OTHER_FILE": "{dir}/s"}, {"OTHER_FILE": "{dir}/s"}, contextlib.nullcontext()),
        (
            {"NITROSIGNAL_SERVER_SECRET_KEY_FILE": "{dir}/s"},
            {"NITROSIGNAL_SERVER_SECRET_KEY_FILE": "{dir}/s"},
            contextlib.nullcontext(),
        ),
        (
            {"NITROSIGNAL_SECRET_KEY_FILE": "{dir}/s", "NITROSIGNAL_SECRET_KEY": "x"},
            {},
            pytest.raises(StartupError, match="set only one"),
        ),
        ({"NITROSIGNAL_SECRET_KEY_FILE": "{dir}/missing"}, {}, pytest.raises(StartupError, match="cannot read")),
    ],
    ids=["file-read", "other-prefix-untouched", "setting-named-file-untouched", "both-set", "missing-file"],
)
def test_file_variables(
    environ: dict[str, str],
    expected: dict[str, str],
    expectation: contextlib.AbstractContextManager[Any],
    tmp_path: Path,
) -> None:
    (tmp_path / "s").write_text("value\n")
    env = {key: value.format(dir=tmp_path) for key, value in environ.items()}
    with expectation:
        load_file_variables(env)
        assert env == {key: value.format(dir=tmp_path) for key, value in expected.items()}


def test_wait_for_database_gives_up_with_the_reason() -> None:
    # Port 9 on loopback: nothing listens there, so every attempt is refused at once.
    with pytest.raises(StartupError, match="did not answer within 2 s"):
        wait_for_database("postgresql+psycopg://nobody@127.0.0.1:9/none", timeout_s=2.0, interval_s=0.5)


@pytest.mark.parametrize(
    ("mode", "create", "expectation"),
    [
        (None, True, contextlib.nullcontext()),
        (None, False, pytest.raises(StartupError, match="does not exist")),
        (0o600, False, contextlib.nullcontext()),
        (0o640, False, pytest.raises(StartupError, match="must be 0600")),
        (0o644, False, pytest.raises(StartupError, match="must be 0600")),
    ],
    ids=["created-on-first-start", "missing", "0600", "group-readable", "world-readable"],
)
def test_platform_key_check(
    mode: int | None, create: bool, expectation: contextlib.AbstractContextManager[Any], tmp_path: Path
) -> None:
    secret = tmp_path / "keys" / "platform.key_secret"
    if mode is not None:
        generate_keypair(secret.parent, "platform")
        secret.chmod(mode)
    with expectation:
        public, created = check_platform_keys(secret, create=create)
        assert len(public) == 40
        assert created is (mode is None)


@pytest.mark.parametrize("fresh_database", BACKENDS, indirect=True)
def test_workers_starting_together_migrate_once(fresh_database: DatabaseFactory, tmp_path: Path) -> None:
    url = fresh_database()
    generate_keypair(tmp_path / "keys", "platform")
    settings = Settings(database_url=url, data_dir=tmp_path)
    reports = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            reports.append(run_startup(settings, db_timeout_s=10))
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(reports) == 4
    assert {report.revision_after for report in reports} == {head_revision()}
    # Had two workers migrated at once, one would have failed creating existing tables, or the version
    # table would hold two rows.
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    finally:
        engine.dispose()


@pytest.mark.parametrize("fresh_database", BACKENDS, indirect=True)
def test_startup_on_an_older_database_upgrades_it(fresh_database: DatabaseFactory, tmp_path: Path) -> None:
    url = fresh_database()
    upgrade(url, "0001_core")
    generate_keypair(tmp_path / "keys", "platform")
    report = run_startup(Settings(database_url=url, data_dir=tmp_path), db_timeout_s=10)
    assert report.revision_before == "0001_core"
    assert report.revision_after == head_revision()


def _container_environment(tmp_path: Path, url: str) -> dict[str, str]:
    """The platform container's environment (Dockerfile ENV + compose environment), paths moved into tmp."""
    repo = Path(__file__).resolve().parents[2] / "deploy" / "platform"
    compose = yaml.safe_load((repo / "compose.yaml").read_text())["services"]["platform"]["environment"]
    dockerfile = (repo / "Dockerfile").read_text().replace("\\\n", " ")
    env_line = next(line for line in dockerfile.splitlines() if line.startswith("ENV PATH="))
    image_env = dict(part.split("=", 1) for part in shlex.split(env_line.removeprefix("ENV ")))
    secrets = tmp_path / "run-secrets"
    secrets.mkdir()
    (secrets / "database_url").write_text(url)
    (secrets / "secret_key").write_text(STRONG_SECRET)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NITROSIGNAL_")}
    for name, value in {**image_env, **compose}.items():
        if name.startswith("NITROSIGNAL_"):
            env[name] = str(value).replace("/run/secrets", str(secrets)).replace("/var/lib/nitrosignal", str(tmp_path))
    env["NITROSIGNAL_HTTP_HOST"] = "127.0.0.1"
    env["NITROSIGNAL_HTTP_PORT"] = str(free_tcp_port())
    env["NITROSIGNAL_INGEST_BIND"] = f"tcp://127.0.0.1:{free_tcp_port()}"
    return env


@pytest.mark.slow
@pytest.mark.parametrize("fresh_database", BACKENDS, indirect=True)
def test_container_entrypoint_and_command_serve_a_ready_platform(
    fresh_database: DatabaseFactory, tmp_path: Path
) -> None:
    # ENTRYPOINT ["python", "-m", "nitroplatform.ops.startup", "--init-keys", "--"] + CMD ["nitrosignal", ...]
    env = _container_environment(tmp_path, fresh_database())
    nitrosignal = str(Path(sys.executable).parent / "nitrosignal")
    argv = [sys.executable, "-m", "nitroplatform.ops.startup", "--init-keys", "--", nitrosignal, "platform", "serve"]
    log = tmp_path / "platform.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(argv, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        ready = wait_ready(f"http://127.0.0.1:{env['NITROSIGNAL_HTTP_PORT']}", timeout_s=90, process=process)
        assert ready
        key = tmp_path / "keys" / "platform.key_secret"
        assert key.stat().st_mode & 0o777 == 0o600
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert "database migrated" in log.read_text()
