"""The demo's whole alert path over real sockets: detector → CURVE ZeroMQ → platform → SSE stream."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nitrosignal.demo.alert_path import PATH_STEPS

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_headless_demo_follows_one_alert_all_the_way(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NITROSIGNAL_")}
    env.update({"HOME": str(tmp_path), "TMPDIR": str(tmp_path)})
    result = subprocess.run(
        [sys.executable, "-m", "nitrosignal.cli", "demo", "--headless", "--timeout", "150"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    seen = [m.group(1) for m in re.finditer(r"^\s+\[\s*[\d.]+ s\] (\w+)", result.stdout, flags=re.M)]
    assert sorted(seen) == sorted(PATH_STEPS), result.stdout
    # The device-side steps happen in order; stored/acked/streamed may race each other.
    assert seen.index("detected") < seen.index("queued") < seen.index("sent")
    assert "/app/" in result.stdout
