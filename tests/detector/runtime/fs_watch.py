"""Watch folders with Linux inotify (through ctypes) and record every file created, written, moved or deleted.

The audit hook in ``detector_probe`` sees what Python code writes; native code (OpenCV, MediaPipe, torch)
writes past it. inotify sees every process's changes in a watched folder, native ones included, and
also a file that was written and deleted again before anyone looked. The privacy tests watch the
detector's home, working directory, TMPDIR and outbox folder, which nothing else touches during a run.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import select
import struct
import threading
from dataclasses import dataclass
from pathlib import Path

IN_MODIFY = 0x002
IN_CLOSE_WRITE = 0x008
IN_MOVED_FROM = 0x040
IN_MOVED_TO = 0x080
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_ISDIR = 0x40000000
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000
WATCHED = IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
_NAMES = {
    IN_MODIFY: "modify",
    IN_CLOSE_WRITE: "close_write",
    IN_MOVED_FROM: "moved_from",
    IN_MOVED_TO: "moved_to",
    IN_CREATE: "create",
    IN_DELETE: "delete",
}
_HEADER = struct.Struct("iIII")


@dataclass(frozen=True)
class FileEvent:
    """One change in a watched folder."""

    path: str
    events: tuple[str, ...]
    is_dir: bool


class FolderWatch:
    """Recursive inotify watch on some folders; :meth:`stop` returns every change seen."""

    def __init__(self, roots: list[Path]) -> None:
        libc_name = ctypes.util.find_library("c")
        assert libc_name is not None, "inotify needs the C library"
        self._libc = ctypes.CDLL(libc_name, use_errno=True)
        self._fd = self._libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        assert self._fd >= 0, f"inotify_init1 failed: errno {ctypes.get_errno()}"
        self._folders: dict[int, Path] = {}
        self.events: list[FileEvent] = []
        for root in roots:
            for folder, _, _ in os.walk(root):
                self._watch(Path(folder))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read_loop, name="fs-watch", daemon=True)
        self._thread.start()

    def _watch(self, folder: Path) -> None:
        wd = self._libc.inotify_add_watch(self._fd, os.fsencode(folder), WATCHED)
        if wd >= 0:
            self._folders[wd] = folder

    def _drain(self) -> None:
        while True:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                return
            offset = 0
            while offset + _HEADER.size <= len(data):
                wd, mask, _cookie, length = _HEADER.unpack_from(data, offset)
                raw_name = data[offset + _HEADER.size : offset + _HEADER.size + length].rstrip(b"\0")
                offset += _HEADER.size + length
                folder = self._folders.get(wd)
                if folder is None:
                    continue
                path = folder / os.fsdecode(raw_name) if raw_name else folder
                is_dir = bool(mask & IN_ISDIR)
                names = tuple(name for bit, name in _NAMES.items() if mask & bit)
                if names:
                    self.events.append(FileEvent(str(path), names, is_dir))
                if is_dir and mask & (IN_CREATE | IN_MOVED_TO):
                    self._watch(path)  # a new sub-folder is watched too, from now on

    def _read_loop(self) -> None:
        poller = select.poll()
        poller.register(self._fd, select.POLLIN)
        while not self._stop.is_set():
            if poller.poll(100):
                self._drain()

    def stop(self) -> list[FileEvent]:
        """Stop watching; every change recorded, in order."""
        self._stop.set()
        self._thread.join(2)
        self._drain()
        os.close(self._fd)
        return self.events
