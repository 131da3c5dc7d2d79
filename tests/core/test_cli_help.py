"""Every command group answers --help with something useful, and a missing extra is explained."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], "No image ever leaves the device"),
        (["keys"], "CURVE keypairs"),
        (["keys", "generate"], "mode 0600"),
        (["detector"], "validate"),
        (["platform"], "serve"),
        (["train"], "synth"),
        (["iama"], "approve"),
        (["demo"], "--headless"),
    ],
)
def test_help_says_something_useful(args: list[str], expected: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "nitrosignal.cli", *args, "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout
