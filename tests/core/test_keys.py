"""CURVE key files: 0600 secrets, refusal of readable secrets, strict parsing."""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nitrosignal.keys import KeyFileError, generate_keypair, load_public, load_secret, parse_public_key


def test_generate_writes_secret_0600_and_matching_public(tmp_path: Path) -> None:
    files = generate_keypair(tmp_path / "keys", "cam-1")
    assert stat.S_IMODE(files.secret_path.stat().st_mode) == 0o600
    pair = load_secret(files.secret_path)
    assert load_public(files.public_path) == pair.public
    assert "secret-key" not in files.public_path.read_text()


def test_generate_refuses_to_overwrite(tmp_path: Path) -> None:
    generate_keypair(tmp_path, "cam-1")
    with pytest.raises(FileExistsError):
        generate_keypair(tmp_path, "cam-1")
    generate_keypair(tmp_path, "cam-1", overwrite=True)


@pytest.mark.parametrize(
    ("mode", "expectation"),
    [
        (0o600, contextlib.nullcontext()),
        (0o400, contextlib.nullcontext()),
        (0o640, pytest.raises(KeyFileError, match="mode 0640")),
        (0o604, pytest.raises(KeyFileError, match="mode 0604")),
        (0o660, pytest.raises(KeyFileError, match="chmod 600")),
    ],
)
def test_load_secret_checks_permissions(tmp_path: Path, mode: int, expectation: Any) -> None:
    files = generate_keypair(tmp_path, "cam-1")
    os.chmod(files.secret_path, mode)
    with expectation:
        load_secret(files.secret_path)


@pytest.mark.parametrize(
    ("text", "expectation"),
    [
        ("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", contextlib.nullcontext()),
        ("too-short", pytest.raises(KeyFileError, match="40 characters")),
        ("~" * 40, pytest.raises(KeyFileError, match="not a valid Z85")),
    ],
)
def test_parse_public_key(text: str, expectation: Any) -> None:
    with expectation:
        assert len(parse_public_key(text)) == 40


def test_public_file_as_secret_is_refused(tmp_path: Path) -> None:
    files = generate_keypair(tmp_path, "cam-1")
    os.chmod(files.public_path, 0o600)
    with pytest.raises(KeyFileError, match="no secret-key"):
        load_secret(files.public_path)


def test_keys_cli_generate_and_show(tmp_path: Path) -> None:
    run = [sys.executable, "-m", "nitrosignal.cli", "keys"]
    created = subprocess.run([*run, "generate", "cam-9", "--dir", str(tmp_path)], capture_output=True, text=True)
    assert created.returncode == 0, created.stderr
    shown = subprocess.run([*run, "show", str(tmp_path / "cam-9.key_secret")], capture_output=True, text=True)
    assert shown.stdout.strip() == load_public(tmp_path / "cam-9.key").decode()
    os.chmod(tmp_path / "cam-9.key_secret", 0o644)
    refused = subprocess.run([*run, "show", str(tmp_path / "cam-9.key_secret")], capture_output=True, text=True)
    assert refused.returncode == 1 and "0644" in refused.stderr
