"""`nitrosignal detector` commands as a user runs them: help, refusing unsafe keys, scoring photos."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from device_harness import (  # type: ignore[import-not-found]
    ASSETS,
    Keys,
    camera_config_dict,
    write_person_video,
    write_yaml,
)
from typer.testing import CliRunner

from detector.cli import app


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("validate", "line and column"),
        ("run", "--exit-at-end"),
        ("score", "JSON line per photo or clip"),
        ("bench", "peak RSS"),
        ("check", "one heartbeat"),
        ("scan", "false alarms"),
    ],
)
def test_every_command_has_useful_help(command: str, expected: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert expected in " ".join(result.output.split())


@pytest.mark.parametrize(("mode", "exit_code"), [(0o644, 2), (0o604, 2)])
def test_run_refuses_to_start_with_a_readable_secret(tmp_path: Path, keys: Keys, mode: int, exit_code: int) -> None:
    os.chmod(keys.camera_secret_file, mode)
    source = {"type": "file", "path": str(ASSETS / "demo_person.jpg")}
    config = write_yaml(
        tmp_path / "camera.yaml", camera_config_dict(keys, "tcp://127.0.0.1:9", source, tmp_path / "outbox.sqlite3")
    )
    result = CliRunner().invoke(app, ["run", "--config", str(config), "--max-seconds", "1"])
    assert result.exit_code == exit_code
    assert f"{mode:04o}" in result.output and "chmod 600" in result.output
    assert not (tmp_path / "outbox.sqlite3").exists()  # refused before touching anything


def test_score_prints_one_json_line_per_image() -> None:
    result = CliRunner().invoke(app, ["score", str(ASSETS / "demo_person.jpg"), str(ASSETS / "astronaut.png")])
    assert result.exit_code == 0, result.output[-2000:]
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [Path(line["path"]).name for line in lines] == ["demo_person.jpg", "astronaut.png"]
    assert all(line["people"] == 1 and 0.0 <= line["score"] <= 1.0 for line in lines)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.jpg", None, "cannot score: no such file or folder: .*missing.jpg"),
        ("notes.jpg", b"not a photo", "cannot score: cannot read .*notes.jpg as an image"),
        ("clip.mp4", b"not a video", "cannot score: cannot read .*clip.mp4 as a video clip"),
    ],
)
def test_score_refuses_what_it_cannot_read_with_a_clear_error(
    tmp_path: Path, name: str, content: bytes | None, message: str
) -> None:
    if content is not None:
        (tmp_path / name).write_bytes(content)
    result = CliRunner().invoke(app, ["score", str(ASSETS / "demo_person.jpg"), str(tmp_path / name)])
    assert result.exit_code == 2
    # The readable photo before it is still scored; the error names the file, without a traceback.
    assert [json.loads(line)["people"] for line in result.stdout.splitlines() if line.startswith("{")] == [1]
    assert re.search(message, result.stderr)
    assert "Traceback" not in result.output


def test_scan_counts_confirmed_alerts_per_video(tmp_path: Path) -> None:
    # A person with the hand at the mouth and nothing in it: a look-alike, so no confirmed alert.
    video = write_person_video(tmp_path / "hand.avi", seconds_before=4.0, seconds_balloon=0.0, seconds_after=0.0)
    result = CliRunner().invoke(app, ["scan", str(video)])
    assert result.exit_code == 0, result.output
    line = json.loads(result.output.strip().splitlines()[-1])
    assert line["video"] == str(video)
    assert line["frames_analysed"] == 40
    assert line["confirmed_alerts"] == 0
