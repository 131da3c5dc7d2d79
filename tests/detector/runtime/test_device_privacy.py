"""Privacy invariants of the device, checked on the real detector process (DESIGN.md §3, §4).

One run of ``nitrosignal detector run`` on a video made from the shipped photo, with a balloon at the
mouth, talking to a real CURVE platform through a loopback TCP proxy. Then, each in its own test:
every message is a valid contract message with only allow-listed fields; the bytes on the wire carry no
plaintext; only the outbox changed on disk (HOME, working directory, TMPDIR); and the process never
listened on any socket.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from device_harness import (  # type: ignore[import-not-found]
    TestPlatform,
    camera_config_dict,
    make_keys,
    write_person_video,
    write_yaml,
)

from nitrosignal.wire import Alert, decode

ALERT_FIELDS = {
    "schema", "message_id", "camera_id", "seq", "sent_at", "incident_id", "phase", "occurred_at", "zone",
    "confidence", "people_involved", "model", "expires_at",
}  # fmt: skip
HEARTBEAT_FIELDS = {
    "schema", "message_id", "camera_id", "seq", "sent_at", "state", "reason", "fps_in", "fps_processed",
    "dropped_frames", "outbox_depth", "model_version", "uptime_s", "config_hash",
}  # fmt: skip
MODEL_FIELDS = {"id", "version", "sha256"}


class TcpProxy:
    """Loopback TCP proxy that records every byte the device sends."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.upstream = bytearray()
        self.connections = 0
        self._lock = threading.Lock()
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self._listener.settimeout(0.2)
        self.port = int(self._listener.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            server = socket.create_connection(("127.0.0.1", self.target_port))
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, record: bool) -> None:
        try:
            while chunk := source.recv(65536):
                if record:
                    with self._lock:
                        self.upstream.extend(chunk)
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._listener.close()


def _tree(roots: list[Path]) -> dict[str, tuple[int, int]]:
    state: dict[str, tuple[int, int]] = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            for name in filenames + dirnames:
                path = Path(dirpath) / name
                info = path.lstat()
                state[str(path)] = (info.st_size, info.st_mtime_ns)
    return state


def _listening_inodes(pid: int) -> set[str]:
    """Inodes of the process's sockets that listen (TCP LISTEN) or are bound for receiving (UDP)."""
    try:
        fds = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    except (FileNotFoundError, ProcessLookupError):
        return set()
    own = {link[len("socket:[") : -1] for link in fds if link.startswith("socket:[")}
    found: set[str] = set()
    for table in ("tcp", "tcp6", "udp", "udp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            state, inode = fields[3], fields[9]
            if inode in own and (table.startswith("udp") or state == "0A"):
                found.add(f"{table}:{fields[1]}")
    return found


@dataclass(frozen=True)
class PrivacyRun:
    returncode: int
    stderr: str
    messages: list[bytes]
    upstream: bytes
    proxy_connections: int
    listening: set[str]
    sockets_seen: int
    changed: set[str]
    outbox: Path


@pytest.fixture(scope="module")
def privacy_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivacyRun]:
    base = tmp_path_factory.mktemp("privacy")
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
    config = write_yaml(work / "camera.yaml", data)
    before = _tree([home, work, tmpdir])
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "TMPDIR": str(tmpdir),
        "OMP_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        # Where the code under test is not the installed copy (a worktree), it comes in through PYTHONPATH.
        **({"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}),
    }
    command = [str(Path(sys.executable).parent / "nitrosignal"), "detector", "run", "--config", str(config)]
    process = subprocess.Popen(
        [*command, "--exit-at-end", "--max-seconds", "90"],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    listening: set[str] = set()
    sockets_seen = 0
    stderr_lines: list[str] = []
    reader = threading.Thread(target=lambda: stderr_lines.extend(process.stderr or []), daemon=True)
    reader.start()
    try:
        while process.poll() is None:
            listening |= _listening_inodes(process.pid)
            try:
                links = [os.readlink(f"/proc/{process.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{process.pid}/fd")]
                sockets_seen = max(sockets_seen, sum(link.startswith("socket:") for link in links))
            except (FileNotFoundError, ProcessLookupError):
                pass
            time.sleep(0.1)
        process.wait(120)
    finally:
        if process.poll() is None:
            process.kill()
        reader.join(5)
        time.sleep(0.2)
        proxy.close()
        server.stop()
    after = _tree([home, work, tmpdir])
    changed = {path for path in set(before) | set(after) if before.get(path) != after.get(path)}
    yield PrivacyRun(
        returncode=process.returncode,
        stderr="".join(stderr_lines),
        messages=list(server.raw),
        upstream=bytes(proxy.upstream),
        proxy_connections=proxy.connections,
        listening=listening,
        sockets_seen=sockets_seen,
        changed=changed,
        outbox=outbox,
    )


def test_the_run_sent_an_alert_all_the_way(privacy_run: PrivacyRun) -> None:
    assert privacy_run.returncode == 0, privacy_run.stderr[-3000:]
    alerts = [m for m in (decode(raw) for raw in privacy_run.messages) if isinstance(m, Alert)]
    assert alerts, "no alert was sent, so the privacy checks below would prove little"


def test_every_message_is_a_contract_message_with_allow_listed_fields(privacy_run: PrivacyRun) -> None:
    assert privacy_run.messages
    for raw in privacy_run.messages:
        message = decode(raw)  # raises on anything that is not the contract
        obj = json.loads(raw)
        allowed = ALERT_FIELDS if isinstance(message, Alert) else HEARTBEAT_FIELDS
        assert set(obj) <= allowed, set(obj) - allowed
        if isinstance(message, Alert):
            assert set(obj["model"]) == MODEL_FIELDS
        for key, value in obj.items():
            # No lists (coordinates, landmarks, boxes) and no paths or long text anywhere.
            assert not isinstance(value, list), key
            assert not (isinstance(value, str) and ("/" in value and key != "schema" or len(value) > 80)), key
        assert len(raw) < 1024


def test_bytes_on_the_wire_carry_no_plaintext(privacy_run: PrivacyRun) -> None:
    wire = privacy_run.upstream
    assert privacy_run.proxy_connections >= 1
    assert b"CURVE" in wire[:64]  # the ZMTP greeting names the mechanism; everything after it is encrypted
    assert len(wire) > sum(len(m) for m in privacy_run.messages)
    # Needles of 5+ bytes: a 2-byte one like {" turns up by chance in a few kB of ciphertext.
    for needle in (b'"schema"', b"nitrosignal.", b"cam-1", b"incident_id", b"heartbeat", b"alert", b"config_hash"):
        assert needle not in wire, needle
    for raw in privacy_run.messages:  # no stretch of any message the platform received appears as sent
        for start in range(0, len(raw) - 16, 16):
            assert raw[start : start + 16] not in wire


def test_only_the_outbox_changed_on_disk(privacy_run: PrivacyRun) -> None:
    assert privacy_run.outbox.exists()
    assert privacy_run.changed == {str(privacy_run.outbox)}


def test_the_detector_listens_on_no_socket(privacy_run: PrivacyRun) -> None:
    assert privacy_run.sockets_seen >= 1  # the probe saw the outgoing connection, so it was looking
    assert privacy_run.listening == set()
