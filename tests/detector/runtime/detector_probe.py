"""Run ``nitrosignal`` in this process with observers attached; the device privacy tests start it as a child.

    python detector_probe.py REPORT_FD nitrosignal-arguments...

The observers change nothing the detector does; they report JSON lines on the inherited pipe
``REPORT_FD`` with ``os.write`` (atomic for a short line, and it raises no audit event, so the observers
never observe themselves):

``write``
    Every file the process opens for writing or changes, from a ``sys.addaudithook`` hook installed before
    anything else is imported: ``open`` with a write, create, truncate or append flag (``open()``,
    ``io.open`` and ``os.open`` all raise it), renames, removals, links, directories, ``shutil`` and
    ``tempfile`` operations, and ``sqlite3.connect`` (SQLite then opens the file and its journal in C).
    Writes by native code that bypass Python are not seen here; the tests watch the folders with inotify
    for those.
``process``
    The dumpable flag (``prctl(PR_GET_DUMPABLE)``; ``/proc/self/status`` has no such line) and
    ``RLIMIT_CORE``: at start, when the outbox is opened (the runtime hardens itself before that), and
    whenever a sample every 0.1 s sees them change.
``sockets``
    Sockets of this process that listen (TCP LISTEN, any bound UDP), and how many sockets it holds,
    sampled every 0.1 s from ``/proc/self`` (the process may read its own entries even when it is not
    dumpable; another process of the same user then may not).
``pose``
    For every frame handed to the pose stage: its brightest pixel value and how many people pose found.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import sys
import threading
import time
from typing import Any

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
# Audit events that change the file system, and the positions of their path arguments.
_PATH_EVENTS: dict[str, tuple[int, ...]] = {
    "os.rename": (0, 1),
    "os.remove": (0,),
    "os.rmdir": (0,),
    "os.mkdir": (0,),
    "os.link": (0, 1),
    "os.symlink": (1,),
    "os.truncate": (0,),
    "shutil.copyfile": (1,),
    "shutil.copytree": (1,),
    "shutil.move": (0, 1),
    "shutil.rmtree": (0,),
    "shutil.make_archive": (0,),
    "shutil.unpack_archive": (1,),
    "tempfile.mkstemp": (0,),
    "tempfile.mkdtemp": (0,),
    "sqlite3.connect": (0,),
}


class Reporter:
    """Writes one JSON line per record to the report pipe."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._lock = threading.Lock()

    def send(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, default=str)[:3000] + "\n").encode()
        with self._lock:
            try:
                os.write(self._fd, line)
            except OSError:
                pass  # the test stopped listening; the detector must not notice


_PR_GET_DUMPABLE = 3
_LIBC = ctypes.CDLL(None, use_errno=True)  # the interpreter's own C library; no ldconfig, no file


def _process_state() -> dict[str, Any]:
    """The kernel's dumpable flag and core limit of this process, and /proc/self/status's CoreDumping line.

    Linux's /proc/self/status has no Dumpable line (only CoreDumping, 1 while a core is being written), so
    the flag is asked of the kernel directly, as ``prctl(PR_GET_DUMPABLE)``: 1 is dumpable, 0 is not.
    """
    core_dumping = -1
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("CoreDumping:"):
                core_dumping = int(line.split()[1])
    return {
        "dumpable": int(_LIBC.prctl(_PR_GET_DUMPABLE, 0, 0, 0, 0)),
        "core_limit": list(resource.getrlimit(resource.RLIMIT_CORE)),
        "core_dumping": core_dumping,
    }


def install_write_hook(reporter: Reporter) -> None:
    """Report every write-like file operation of this process (see the module docstring)."""
    busy = threading.local()
    outbox_seen = False

    def hook(event: str, args: tuple[Any, ...]) -> None:
        nonlocal outbox_seen
        if event != "open" and event not in _PATH_EVENTS:
            return
        if getattr(busy, "active", False):
            return
        busy.active = True
        try:
            if event == "open":
                path, mode, flags = args
                if isinstance(path, int) or not (int(flags or 0) & _WRITE_FLAGS):
                    return
                paths = [path]
                detail = f"mode={mode} flags={int(flags):#o}"
            else:
                paths = [args[index] for index in _PATH_EVENTS[event] if index < len(args)]
                detail = ""
            for path in paths:
                if path is None or isinstance(path, int):
                    continue
                absolute = os.path.abspath(os.fsdecode(path))
                reporter.send({"kind": "write", "event": event, "path": absolute, "detail": detail})
            if event == "sqlite3.connect" and not outbox_seen:
                outbox_seen = True
                reporter.send({"kind": "process", "when": "outbox_opened", **_process_state()})
        finally:
            busy.active = False

    sys.addaudithook(hook)


def _listening(fd_links: list[str]) -> tuple[list[str], int]:
    own = {link[len("socket:[") : -1] for link in fd_links if link.startswith("socket:[")}
    found: list[str] = []
    for table in ("tcp", "tcp6", "udp", "udp6"):
        try:
            with open(f"/proc/self/net/{table}") as handle:
                lines = handle.read().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            state, inode = fields[3], fields[9]
            if inode in own and (table.startswith("udp") or state == "0A"):
                found.append(f"{table}:{fields[1]}")
    return sorted(found), len(own)


def start_sampler(reporter: Reporter) -> None:
    """Sample this process's sockets and core-dump state every 0.1 s; report what changes."""

    def sample() -> None:
        last_sockets: tuple[list[str], int] | None = None
        last_state: dict[str, Any] | None = None
        while True:
            try:
                links = []
                for fd in os.listdir("/proc/self/fd"):
                    try:
                        links.append(os.readlink(f"/proc/self/fd/{fd}"))
                    except OSError:
                        continue
                sockets = _listening(links)
                state = _process_state()
            except OSError:
                time.sleep(0.1)
                continue
            if sockets != last_sockets:
                reporter.send({"kind": "sockets", "listening": sockets[0], "count": sockets[1]})
                last_sockets = sockets
            if state != last_state:
                reporter.send({"kind": "process", "when": "sample", **state})
                last_state = state
            time.sleep(0.1)

    threading.Thread(target=sample, name="privacy-probe-sampler", daemon=True).start()


def watch_pose(reporter: Reporter) -> None:
    """Report the brightest pixel of every frame handed to pose, and how many people pose found in it."""
    import detector.runtime as runtime  # light: torch and mediapipe load later, in _load_vision

    load_vision = runtime.DetectorRuntime._load_vision

    def observed_load_vision(self: runtime.DetectorRuntime) -> Any:
        vision = load_vision(self)
        if vision is not None:
            analyze = vision.analyzer.analyze

            def watched(frame: Any, timestamp_ms: int | None = None) -> Any:
                brightest = int(frame.max())
                analysis = analyze(frame, timestamp_ms)
                reporter.send({"kind": "pose", "brightest": brightest, "people": len(analysis.people)})
                return analysis

            vision.analyzer.analyze = watched  # type: ignore[method-assign,assignment]
        return vision

    runtime.DetectorRuntime._load_vision = observed_load_vision  # type: ignore[method-assign]


def main() -> None:
    reporter = Reporter(int(sys.argv[1]))
    install_write_hook(reporter)
    reporter.send({"kind": "process", "when": "start", **_process_state()})
    start_sampler(reporter)
    watch_pose(reporter)
    from nitrosignal.cli import main as nitrosignal_main

    nitrosignal_main(sys.argv[2:])


if __name__ == "__main__":
    main()
