"""Memory per ingest connection is bounded: a message of thousands of frames cannot raise the platform's RSS for good.

libzmq reads a whole multipart message into memory before the platform sees its first frame, and it caps the size
of each frame (``MAXMSGSIZE``) but not the number of frames. With a 64 KiB frame cap, one 3,000-frame message
from a registered camera raised the platform's RSS by 127 MB, for good. The platform now caps frames at twice the
contract's message size and returns freed memory to the system after a large message.

The platform runs as a child process (``nitrosignal platform serve``) so that its RSS is its own. The test prints
its figures as JSON: the RSS before the attack (the baseline of the same run), after each of three big messages,
and the growth that stays.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq

from nitroplatform.ingest.server import SOCKET_MAX_MESSAGE_BYTES
from nitroplatform.launcher import free_tcp_port, start_subprocess, wait_ready
from nitroplatform.settings import Settings

FRAMES = 3000
# As large as the socket takes a frame: the cap less room for CURVE's framing and authentication tag.
FRAME_BYTES = SOCKET_MAX_MESSAGE_BYTES - 1024
RSS_GROWTH_LIMIT_MB = 24.0
PEAK_GROWTH_LIMIT_MB = 64.0


def _rss_mb(pid: int, field: str = "VmRSS") -> float:
    """The process's resident memory now (VmRSS), or its peak so far (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field}")


def _settle(pid: int, seconds: float = 2.0) -> float:
    """The RSS once the platform has had time to drop what it received (the lowest of a few readings)."""
    readings = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        readings.append(_rss_mb(pid))
        time.sleep(0.2)
    return min(readings)


@pytest.fixture
def platform_child(
    settings_factory: Callable[..., Settings], camera_factory: Callable[..., Any], tmp_path: Path
) -> Iterator[tuple[Settings, Any, Any]]:
    settings = settings_factory(ingest_bind=f"tcp://127.0.0.1:{free_tcp_port()}", http_port=free_tcp_port())
    bad = camera_factory("cam-big")
    good = camera_factory("cam-good")
    process = start_subprocess(settings, log_path=str(tmp_path / "platform.log"))
    try:
        wait_ready(f"http://127.0.0.1:{settings.http_port}", timeout_s=60, process=process)
        yield settings, process, (bad, good)
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_a_message_of_3000_frames_does_not_raise_rss_for_good(
    platform_child: tuple[Settings, Any, Any], wire: Any, server_keys: Any
) -> None:
    settings, process, (bad, good) = platform_child
    good_socket = wire.connect(settings.ingest_bind, server_keys[1].public, good.keypair)
    assert wire.exchange(good_socket, wire.alert("cam-good", 1)).result == "stored"
    baseline = _settle(process.pid)
    peak_before = _rss_mb(process.pid, "VmHWM")
    after = []
    frames = [b"x" * FRAME_BYTES] * FRAMES
    for attempt in range(3):
        socket = wire.connect(settings.ingest_bind, server_keys[1].public, bad.keypair)
        socket.send_multipart(frames)
        # The whole message must have arrived before anything is measured: wait for the refusal.
        assert socket.poll(60_000, zmq.POLLIN), "no refusal of the multipart message"
        assert json.loads(socket.recv_multipart()[-1])["reason"] == "multipart"
        socket.close(linger=0)
        # The good camera is served after each big message.
        assert wire.exchange(good_socket, wire.alert("cam-good", attempt + 2)).result == "stored"
        after.append(round(_settle(process.pid), 1))
    growth = after[-1] - baseline
    peak_growth = _rss_mb(process.pid, "VmHWM") - max(baseline, peak_before)
    print(
        json.dumps(
            {
                "frames": FRAMES,
                "frame_bytes": FRAME_BYTES,
                "rss_baseline_mb": round(baseline, 1),
                "rss_after_each_mb": after,
                "rss_growth_mb": round(growth, 1),
                "rss_peak_growth_mb": round(peak_growth, 1),
            }
        )
    )
    assert growth < RSS_GROWTH_LIMIT_MB, f"RSS grew by {growth:.0f} MB and stayed (baseline {baseline:.0f} MB)"
    assert peak_growth < PEAK_GROWTH_LIMIT_MB, f"one message raised the peak RSS by {peak_growth:.0f} MB"
