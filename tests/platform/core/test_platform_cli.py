"""The ``nitrosignal platform`` commands: camera add/list/remove, db upgrade and settings validate."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nitroplatform.cli import app
from nitroplatform.settings import get_settings
from nitrosignal.keys import generate_keypair


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The CLI reads settings from the environment: point it at tmp_path (SQLite)."""
    monkeypatch.setenv("NITROSIGNAL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("NITROSIGNAL_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield {"dir": str(tmp_path)}
    get_settings.cache_clear()


def test_camera_lifecycle(cli_env: dict[str, str]) -> None:
    runner = CliRunner()
    key_file = generate_keypair(Path(cli_env["dir"]) / "keys", "cam-cli").public_path
    added = runner.invoke(
        app,
        [
            "camera",
            "add",
            "cam-cli",
            "--public-key-file",
            str(key_file),
            "--site",
            "Plein",
            "--zone",
            "plein",
            "--zone",
            "straat",
            "--lat",
            "52.07",
            "--lon",
            "4.3",
        ],
    )
    assert added.exit_code == 0, added.output
    again = runner.invoke(app, ["camera", "add", "cam-cli", "--public-key-file", str(key_file)])
    assert again.exit_code == 1 and "already registered" in again.output
    listed = json.loads(runner.invoke(app, ["camera", "list", "--json"]).output)
    assert [(c["id"], c["zones"], c["status"]) for c in listed] == [("cam-cli", ["plein", "straat"], "offline")]
    assert runner.invoke(app, ["camera", "remove", "cam-cli"]).exit_code == 0
    assert json.loads(runner.invoke(app, ["camera", "list", "--json"]).output) == []
    assert runner.invoke(app, ["camera", "remove", "cam-cli"]).exit_code == 1


@pytest.mark.parametrize(
    ("args", "exit_code", "message"),
    [
        (["camera", "add", "cam-x"], 2, "exactly one of"),
        (["camera", "add", "cam-x", "--public-key", "too-short"], 2, "40"),
        (["camera", "add", "Bad Id", "--public-key", "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"], 2, "pattern"),
    ],
)
def test_camera_add_refusals(args: list[str], exit_code: int, message: str, cli_env: dict[str, str]) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == exit_code and message in result.output


def test_settings_validate_lists_every_error(cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["settings", "validate"])
    assert ok.exit_code == 0 and json.loads(ok.output)["secret_key"] == "********"
    monkeypatch.setenv("NITROSIGNAL_ENVIRONMENT", "production")
    monkeypatch.setenv("NITROSIGNAL_GATING_MODE", "open")
    monkeypatch.setenv("NITROSIGNAL_HTTP_PORT", "not-a-port")
    failed = runner.invoke(app, ["settings", "validate"])
    assert failed.exit_code == 2
    assert "NITROSIGNAL_HTTP_PORT" in failed.output


def test_db_upgrade(cli_env: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0 and "database at revision" in result.output
