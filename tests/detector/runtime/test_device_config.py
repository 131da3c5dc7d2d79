"""Camera config: strict validation, every error with its YAML line and column, config hash, secrets."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from device_harness import Keys  # type: ignore[import-not-found]

from detector.config import ConfigError, load_config, validate_config_file

GOOD = """\
camera_id: cam-1
platform:
  endpoint: tcp://127.0.0.1:5555
  public_key_file: keys/platform.key
secret_key_file: keys/cam-1.key_secret
source:
  type: rtsp
  url: rtsp://10.0.0.2/stream
schedule:
  windows:
    - days: [fri, sat]
      start: "20:00"
      end: "04:00"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "camera.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GOOD, []),
        # a typo'd key is an error at the key itself
        (GOOD + "heartbeat_intervl_s: 5\n", [("heartbeat_intervl_s", 14, 1, "Extra inputs")]),
        # nested error: a bad weekday in the second line of the window
        (GOOD.replace("[fri, sat]", "[fri, caturday]"), [("schedule.windows.0.days.1", 11, 19, "Input should be")]),
        # tagged union: the error inside the rtsp source points at the url line
        (GOOD.replace("rtsp://10.0.0.2/stream", "ftp://10.0.0.2/stream"), [("source.rtsp.url", 8, 3, "match")]),
        # a missing required key points at the mapping that lacks it
        (GOOD.replace("  public_key_file: keys/platform.key\n", ""), [("platform.public_key_file", 2, 1, "required")]),
        # several errors at once, each with its own location
        (
            GOOD.replace('"20:00"', '"25:00"').replace("cam-1\n", "Cam 1\n", 1),
            [("camera_id", 1, 1, "match"), ("schedule.windows.0.start", 12, 7, "00:00 and 24:00")],
        ),
        (GOOD + "metrics:\n  enabled: true\n  host: 0.0.0.0\n", [("metrics", 14, 1, "not loopback")]),
        # the metrics endpoint never serves without a token, and there is no switch to expose it
        (GOOD + "metrics:\n  enabled: true\n", [("metrics", 14, 1, "without token_file")]),
        (GOOD + "metrics:\n  allow_remote: true\n", [("metrics.allow_remote", 15, 3, "Extra inputs")]),
        (GOOD + "outbox:\n  retention_days: 0\n", [("outbox.retention_days", 15, 3, "greater than 0")]),
        (GOOD + "camera_id: cam-2\n", [("camera_id", 14, 1, "duplicate key")]),
        ("camera_id: [unclosed\n", [("", 2, 1, "YAML syntax")]),
    ],
)
def test_validate_reports_every_error_with_its_location(
    tmp_path: Path, text: str, expected: list[tuple[str, int, int, str]]
) -> None:
    config, issues = validate_config_file(_write(tmp_path, text), with_files=False)
    found = [(issue.location, issue.line, issue.column) for issue in issues]
    assert found == [(loc, line, col) for loc, line, col, _ in expected]
    for issue, (_, _, _, words) in zip(issues, expected, strict=True):
        assert words in issue.message
    assert (config is not None) == (not expected)


def test_relative_paths_resolve_against_the_config_file(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, GOOD), with_files=False)
    assert config.secret_key_file == tmp_path / "keys" / "cam-1.key_secret"
    assert config.outbox.path == tmp_path / "outbox.sqlite3"
    assert config.outbox.retention_days == 28.0


SECRET = b"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
OTHER_SECRET = b"JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"
PASSWORD_URL = GOOD.replace("rtsp://10.0.0.2/stream", "rtsp://admin:hunter2@10.0.0.2/stream")


@pytest.mark.parametrize(
    ("text", "secret", "same"),
    [
        (GOOD, SECRET, True),  # the same file loaded again
        (
            "# installed by the municipality\n" + GOOD.replace("camera_id: cam-1\n", "") + "camera_id: cam-1\n",
            SECRET,
            True,
        ),
        (GOOD.replace('"20:00"', "'20:00'"), SECRET, True),  # formatting only
        (GOOD + "heartbeat_interval_s: 10\n", SECRET, False),  # a setting changed
        (PASSWORD_URL, SECRET, False),  # the stream password changed
        (GOOD, OTHER_SECRET, False),  # another device: its own key
    ],
    ids=["reloaded", "comments-and-order", "formatting", "setting", "password", "other-device"],
)
def test_config_hash_is_keyed_stable_and_follows_the_document(
    tmp_path: Path, text: str, secret: bytes, same: bool
) -> None:
    first = load_config(_write(tmp_path, GOOD), with_files=False).config_hash(SECRET)
    other_dir = tmp_path / "elsewhere"
    other_dir.mkdir()
    second = load_config(_write(other_dir, text), with_files=False).config_hash(secret)
    assert (second == first) is same


@pytest.mark.parametrize(
    ("secret_mode", "expectation"),
    [
        (0o600, contextlib.nullcontext()),
        (0o640, pytest.raises(ConfigError, match="0640")),
        (0o644, pytest.raises(ConfigError, match="must be 0600")),
    ],
)
def test_a_readable_secret_key_is_refused(
    tmp_path: Path, keys: Keys, secret_mode: int, expectation: contextlib.AbstractContextManager[Any]
) -> None:
    os.chmod(keys.camera_secret_file, secret_mode)
    text = GOOD.replace("keys/platform.key", str(keys.platform_public_file)).replace(
        "keys/cam-1.key_secret", str(keys.camera_secret_file)
    )
    with expectation:
        load_config(_write(tmp_path, text))


@pytest.mark.parametrize(
    ("text", "exit_code", "expected_output"),
    [
        (GOOD, 0, "OK"),
        (GOOD.replace("type: rtsp", "type: webcam"), 1, "camera.yaml:7:3: source.type: Input tag 'webcam'"),
    ],
)
def test_validate_command(tmp_path: Path, text: str, exit_code: int, expected_output: str) -> None:
    command = str(Path(sys.executable).parent / "nitrosignal")
    result = subprocess.run(
        [command, "detector", "validate", "--skip-files", str(_write(tmp_path, text))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == exit_code, result.stderr
    assert expected_output in result.stdout + result.stderr


def test_shipped_example_config_is_valid() -> None:
    example = Path(__file__).resolve().parents[3] / "docs" / "examples" / "camera.yaml"
    config, issues = validate_config_file(example, with_files=False)
    assert issues == []
    assert config is not None and config.metrics.enabled is False
