"""One real ``nitrosignal detector run`` in a child process, observed from every side, for the privacy tests.

The child is started through ``detector_probe.py`` (audit hook, socket and core-dump sampler, pose
watcher; see there) with its own empty HOME, working directory and TMPDIR. It talks to a real CURVE test
platform through a recording TCP proxy (``wire_tap``), while inotify (``fs_watch``) watches its folders.
:func:`run_probed_detector` returns everything seen, for the tests to judge.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from device_harness import (  # type: ignore[import-not-found]
    TestPlatform,
    camera_config_dict,
    make_keys,
    write_person_video,
    write_yaml,
)
from fs_watch import FileEvent, FolderWatch  # type: ignore[import-not-found]
from wire_tap import CurveStream, TcpProxy  # type: ignore[import-not-found]

PROBE = Path(__file__).resolve().parent / "detector_probe.py"

ConfigEdit = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class PrivacyRun:
    """What one observed detector run did."""

    returncode: int
    summary: dict[str, Any]
    stderr: str
    messages: list[bytes]
    body_frames: list[int]
    multipart: list[list[bytes]]
    streams: list[CurveStream]
    upstream: bytes
    proxy_connections: int
    records: list[dict[str, Any]]
    file_events: list[FileEvent]
    changed: set[str]
    outbox: Path
    work: Path

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [record for record in self.records if record["kind"] == kind]


def _tree(roots: list[Path]) -> dict[str, tuple[int, int]]:
    state: dict[str, tuple[int, int]] = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            for name in filenames + dirnames:
                path = Path(dirpath) / name
                info = path.lstat()
                state[str(path)] = (info.st_size, info.st_mtime_ns)
    return state


def child_environment(home: Path, tmpdir: Path) -> dict[str, str]:
    """A minimal environment: own HOME and TMPDIR; PYTHONPATH kept so the checkout under test is what runs."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "TMPDIR": str(tmpdir),
        "OMP_NUM_THREADS": "1",
        # The interpreter's own bytecode cache (__pycache__ in the installed packages) is not the detector's
        # doing; on the device the unit's read-only file system (ProtectSystem=strict) stops it anyway.
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


class ProbeReader:
    """Collects the probe's JSON lines from the read end of its pipe, in a thread."""

    def __init__(self, read_fd: int) -> None:
        self.records: list[dict[str, Any]] = []
        self._file = os.fdopen(read_fd, "r")
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for line in self._file:
            self.records.append(json.loads(line))

    def join(self) -> list[dict[str, Any]]:
        self._thread.join(10)
        self._file.close()
        return self.records


def start_probed(
    command: list[str], *, cwd: Path, env: dict[str, str], wrapper: tuple[str, ...] = ()
) -> tuple[subprocess.Popen[str], ProbeReader]:
    """Start ``[wrapper...] python detector_probe.py FD <command>`` and a reader of its reports."""
    read_fd, write_fd = os.pipe()
    process = subprocess.Popen(
        [*wrapper, sys.executable, str(PROBE), str(write_fd), *command],
        cwd=cwd,
        env=env,
        pass_fds=(write_fd,),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(write_fd)
    return process, ProbeReader(read_fd)


def run_probed_detector(base: Path, edit: ConfigEdit | None = None, *, max_seconds: float = 90.0) -> PrivacyRun:
    """Run the detector once on the balloon clip (to its end), observed; ``edit`` may change the config."""
    home, work, tmpdir = base / "home", base / "work", base / "tmpdir"
    for folder in (home, work, tmpdir):
        folder.mkdir()
    keys = make_keys(work)
    write_person_video(work / "clip.avi", seconds_before=0.5, seconds_balloon=2.5, seconds_after=0.5)
    server = TestPlatform(server=keys.platform).start()
    proxy = TcpProxy(server.port)
    outbox = work / "outbox.sqlite3"
    source = {"type": "file", "path": "clip.avi", "realtime": False}
    data = camera_config_dict(keys, f"tcp://127.0.0.1:{proxy.port}", source, outbox)
    if edit is not None:
        edit(data)
    config = write_yaml(work / "camera.yaml", data)
    before = _tree([home, work, tmpdir])
    watch = FolderWatch([home, work, tmpdir])
    command = ["detector", "run", "--config", str(config), "--exit-at-end", "--max-seconds", str(max_seconds)]
    process, reader = start_probed(command, cwd=work, env=child_environment(home, tmpdir))
    try:
        stdout, stderr = process.communicate(timeout=max_seconds + 60)
    finally:
        if process.poll() is None:
            process.kill()
            stdout, stderr = process.communicate()
        records = reader.join()
        time.sleep(0.2)
        proxy.close()
        server.stop()
    file_events = watch.stop()
    after = _tree([home, work, tmpdir])
    changed = {path for path in set(before) | set(after) if before.get(path) != after.get(path)}
    summary_lines = [line for line in stdout.splitlines() if line.startswith("{")]
    return PrivacyRun(
        returncode=process.returncode,
        summary=json.loads(summary_lines[-1]) if summary_lines else {},
        stderr=stderr,
        messages=list(server.raw),
        body_frames=list(server.body_frames),
        multipart=list(server.multipart),
        streams=proxy.streams(),
        upstream=proxy.upstream,
        proxy_connections=proxy.connections,
        records=records,
        file_events=file_events,
        changed=changed,
        outbox=outbox,
        work=work,
    )
