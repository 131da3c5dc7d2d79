"""The demo's whole alert path over real sockets: detector → CURVE ZeroMQ → platform → SSE stream."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nitrosignal.demo.alert_path import PATH_STEPS
from nitrosignal.demo.diagnosis import DetectorProgress, explain_failure

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


def _progress(analysed: int, elapsed_s: float = 20.0) -> DetectorProgress:
    return DetectorProgress(
        elapsed_s=elapsed_s, frames_analysed=analysed, frames_posed=analysed, clip_frames=140, clip_fps=10
    )


@pytest.mark.parametrize(
    ("missing", "progress", "expected"),
    [
        (list(PATH_STEPS), _progress(0), "never started looking"),
        (list(PATH_STEPS), _progress(10), "too slow or too busy"),
        (list(PATH_STEPS), _progress(400), "did not confirm the balloon"),
        (["queued", "sent", "stored", "acked", "streamed"], _progress(400), "detected but not sent"),
        (["stored", "acked", "streamed"], _progress(400), "platform.log"),
        (["acked"], _progress(400), "platform.log"),
        (["streamed"], _progress(400), "live stream did not carry it"),
    ],
)
def test_a_failed_demo_says_what_was_slow_or_what_stopped(
    missing: list[str], progress: DetectorProgress, expected: str
) -> None:
    lines = explain_failure(missing, progress, platform_log=Path("/data/platform.log"), needed_per_s=1.0)
    assert lines[0].startswith(f"the detector analysed {progress.frames_analysed} frames")
    assert expected in lines[1]


def test_progress_reports_rate_and_passes_of_the_clip() -> None:
    progress = _progress(280, elapsed_s=56.0)
    assert progress.analysed_per_s == pytest.approx(5.0)
    assert progress.clip_passes == pytest.approx(2.0)
    assert "5.0 per second against the clip's 10, 2.0 passes" in progress.describe()
