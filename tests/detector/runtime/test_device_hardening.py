"""No core dump of the detector: it makes itself non-dumpable with a core limit of 0, and a crash leaves no core.

A real ``detector run`` child (through ``detector_probe.py``) is started with the core limit raised as far
as the shell allows (``ulimit -c unlimited``), in an empty working directory, on a looping clip. Once pose
is running (whole frames in memory), the probe inside the child has read its own dumpable flag (asked of
the kernel with ``prctl(PR_GET_DUMPABLE)``: Linux's ``/proc/self/status`` has no Dumpable line) and its
``RLIMIT_CORE``; then the child gets ``SIGSEGV``.

Why both checks: where ``/proc/sys/kernel/core_pattern`` is a file name, the kernel would write the core
into the working directory (this machine: ``core``), so the directory must stay empty. Where it pipes to
a handler (``|/usr/lib/systemd/systemd-coredump ...``, apport), the core goes to the handler and the
kernel ignores RLIMIT_CORE for pipes; no file to look for here, and the limit alone would not stop it. The
non-dumpable flag does stop it: the kernel checks it before any core is produced, whatever the pattern.
So the first test, which always runs, proves both settings from inside the running detector.
"""

from __future__ import annotations

import configparser
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from device_harness import (  # type: ignore[import-not-found]
    TestPlatform,
    camera_config_dict,
    make_keys,
    write_person_video,
    write_yaml,
)
from privacy_harness import child_environment, start_probed  # type: ignore[import-not-found]

UNIT = Path(__file__).resolve().parents[3] / "deploy" / "device" / "nitrosignal-detector.service"
RAISE_CORE_LIMIT = ("bash", "-c", 'ulimit -c unlimited 2>/dev/null || ulimit -S -c "$(ulimit -H -c)"; exec "$@"', "--")


@dataclass(frozen=True)
class Crash:
    """A detector that was running, hardened, then crashed."""

    records: list[dict[str, Any]]
    returncode: int
    stderr: str
    core_pattern: str
    core_folder: Path | None
    before: set[str]
    after: set[str]

    def states(self, when: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["kind"] == "process" and r["when"] == when]


def _core_folder(core_pattern: str, cwd: Path) -> Path | None:
    """Where the kernel would write a core: the crashed process's working directory for a plain name, the
    pattern's folder for an absolute path, nowhere we can look for a pipe or a folder named per crash."""
    if core_pattern.startswith("|"):
        return None
    if not core_pattern.startswith("/"):
        return cwd if "/" not in core_pattern else None
    folder = Path(core_pattern).parent
    return folder if "%" not in str(folder) and folder.is_dir() else None


def _listing(folder: Path | None) -> set[str]:
    return set() if folder is None else {path.name for path in folder.iterdir()}


def _wait_for_pose(records: list[dict[str, Any]], process: Any, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        if any(record["kind"] == "pose" for record in records):
            return True
        time.sleep(0.1)
    return False


@pytest.fixture(scope="module")
def crash(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crash]:
    base = tmp_path_factory.mktemp("crash")
    home, tmpdir, cwd, state = base / "home", base / "tmpdir", base / "cwd", base / "state"
    for folder in (home, tmpdir, cwd, state):
        folder.mkdir()
    keys = make_keys(state)
    write_person_video(state / "clip.avi", seconds_before=2.0, seconds_balloon=0.0, seconds_after=0.0)
    server = TestPlatform(server=keys.platform).start()
    source = {"type": "file", "path": "clip.avi", "loop": True}
    config = write_yaml(
        state / "camera.yaml", camera_config_dict(keys, server.endpoint, source, state / "outbox.sqlite3")
    )
    core_pattern = Path("/proc/sys/kernel/core_pattern").read_text().strip()
    core_folder = _core_folder(core_pattern, cwd)
    before = _listing(core_folder)
    command = ["detector", "run", "--config", str(config), "--max-seconds", "120"]
    process, reader = start_probed(command, cwd=cwd, env=child_environment(home, tmpdir), wrapper=RAISE_CORE_LIMIT)
    try:
        looking = _wait_for_pose(reader.records, process, 90.0)
        time.sleep(0.3)  # one more sample of the probe while frames are in memory
        assert looking, "the detector never ran pose before the crash: " + (
            process.stderr.read() if process.stderr else ""
        )
        os.kill(process.pid, signal.SIGSEGV)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        server.stop()
    time.sleep(1.0)  # a core, if one were written, is complete once the parent has reaped the child
    yield Crash(
        records=reader.join(),
        returncode=process.returncode,
        stderr=stderr,
        core_pattern=core_pattern,
        core_folder=core_folder,
        before=before,
        after=_listing(core_folder),
    )


def test_the_running_detector_is_not_dumpable_and_has_a_core_limit_of_0(crash: Crash) -> None:
    (start,) = crash.states("start")
    # Before the detector starts, the probe sees an ordinary, dumpable process: the check can tell apart.
    assert start["dumpable"] == 1
    (opened,) = crash.states("outbox_opened")
    last = crash.states("sample")[-1]  # the last sample before SIGSEGV, while pose was running
    for state in (opened, last):
        assert state["dumpable"] == 0, state
        assert state["core_limit"] == [0, 0], state


def test_a_crashed_detector_leaves_no_core_file(crash: Crash) -> None:
    assert crash.returncode == -signal.SIGSEGV, crash.stderr[-2000:]
    if crash.core_pattern.startswith("|"):
        pytest.skip(
            f"core_pattern pipes to a handler ({crash.core_pattern!r}): no file to look for here; "
            "the non-dumpable test above is what stops the handler from getting a core"
        )
    (start,) = crash.states("start")
    if start["core_limit"][0] == 0:
        pytest.skip("this test process cannot raise RLIMIT_CORE (hard limit 0): a core would not be written anyway")
    if crash.core_folder is None:
        pytest.skip(f"core_pattern {crash.core_pattern!r} names a folder per crash; the test above still ran")
    # On this machine: core_pattern 'core', so the core would be <working directory>/core (or core.<pid>).
    assert crash.after - crash.before == set(), f"core file(s) written to {crash.core_folder}"


def test_the_device_unit_sets_a_core_limit_of_0() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    unit.read_string(UNIT.read_text())
    assert unit["Service"]["LimitCORE"] == "0"
