"""``nitrosignal platform user|team|audit`` against a real database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nitroplatform.people.cli import app
from nitroplatform.settings import get_settings


@pytest.fixture
def cli_env(migrated_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("NITROSIGNAL_DATABASE_URL", migrated_database_url)
    monkeypatch.setenv("NITROSIGNAL_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


# (arguments, stdin) → exit code
CLI_TABLE: list[tuple[list[str], str | None, int]] = [
    (["user", "add", "olga", "--role", "officer", "--password-stdin"], "a long enough password\n", 0),
    (["user", "add", "olga", "--role", "officer", "--password-stdin"], "a long enough password\n", 1),  # exists
    (["user", "add", "kim", "--role", "officer", "--password-stdin"], "short\n", 1),
    (["user", "add", "bot", "--role", "ml_engineer", "--service-account"], None, 0),
    (["user", "add", "x", "--role", "wizard", "--service-account"], None, 2),
    (["user", "passwd", "olga", "--password-stdin"], "another long password\n", 0),
    (["user", "token", "bot", "--name", "cam-1", "--scope", "models:fetch"], None, 0),
    (["team", "add", "north"], None, 0),
    (["team", "member", "north", "olga"], None, 0),
    (["team", "area", "north", "centrum", "--camera", "cam-1"], None, 0),
    (["team", "shift", "north", "--weekdays", "5,6", "--start", "22:00", "--end", "04:00"], None, 0),
    (["team", "shift", "north", "--weekdays", "9", "--start", "22:00", "--end", "04:00"], None, 1),
    (["audit", "verify"], None, 0),
]


def test_cli_commands(cli_env: None) -> None:
    runner = CliRunner()
    for arguments, stdin, expected in CLI_TABLE:
        result = runner.invoke(app, arguments, input=stdin)
        assert result.exit_code == expected, (arguments, result.output)
    listed = json.loads(runner.invoke(app, ["user", "list", "--json"]).output)
    assert {row["username"]: row["roles"] for row in listed} == {"bot": ["ml_engineer"], "olga": ["officer"]}
    token = runner.invoke(app, ["user", "token", "olga", "--name", "ci"]).output.strip()
    assert token.startswith("nst_")
    assert "north" in runner.invoke(app, ["team", "list"]).output


@pytest.mark.parametrize("group", [["user"], ["team"], ["audit"], ["user", "add"], ["team", "shift"]])
def test_cli_help(group: list[str]) -> None:
    result = CliRunner().invoke(app, [*group, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output
