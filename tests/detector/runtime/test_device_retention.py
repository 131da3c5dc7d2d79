"""Device retention: nothing in or beside the outbox outlives the retention, and deleted rows are wiped.

Dead letters, never-acked alerts and quarantined ``.corrupt-*`` files older than ``outbox.retention_days``
(28 by default) are deleted by :meth:`Outbox.prune`, which the runtime runs at start and every hour; with
``secure_delete`` on, a deleted alert's bytes are gone from the database file, not only unlinked from it.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from device_harness import MODEL, Keys, TestPlatform, camera_config_dict  # type: ignore[import-not-found]

from detector.config import CameraConfig
from detector.outbox import Outbox
from detector.runtime import DetectorRuntime, RunOptions
from nitrosignal.wire import Alert, AlertPhase, PeopleBucket

DAY = 86400.0
MARKER = "wipe-me-zone-4711"


def _alert_with_zone(zone: str) -> Callable[[int], Alert]:
    now = datetime.now(UTC).replace(microsecond=0)

    def build(seq: int) -> Alert:
        return Alert(
            message_id=uuid.uuid4(),
            camera_id="cam-1",
            seq=seq,
            sent_at=now,
            incident_id=uuid.uuid4(),
            phase=AlertPhase.NEW,
            occurred_at=now,
            zone=zone,
            confidence=0.9,
            people_involved=PeopleBucket.ONE,
            model=MODEL,
            expires_at=now + timedelta(minutes=2),
        )

    return build


def _quarantined(outbox_path: Path, age_days: float) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = outbox_path.with_name(f"{outbox_path.name}.corrupt-{stamp}-{age_days:g}")
    path.write_bytes(b"old alerts")
    mtime = time.time() - age_days * DAY
    os.utime(path, (mtime, mtime))
    return path


@pytest.mark.parametrize(
    ("age_days", "retention_days", "pruned"),
    [(29.0, 28.0, True), (27.0, 28.0, False), (3.0, 2.0, True), (1.0, 2.0, False)],
)
def test_prune_deletes_what_is_older_than_the_retention(
    tmp_path: Path, age_days: float, retention_days: float, pruned: bool
) -> None:
    path = tmp_path / "outbox.sqlite3"
    outbox = Outbox.open(path)
    dead = outbox.add_alert(_alert_with_zone("door"))
    outbox.move_to_dead_letter(dead.seq, "unknown_zone")
    outbox.add_alert(_alert_with_zone("door"))  # never acked
    quarantined = _quarantined(path, 0.0)
    # Everything was written just now: look at it age_days from now.
    result = outbox.prune(retention_days * DAY, now=time.time() + age_days * DAY)
    assert (result.dead_letters, result.pending, len(result.quarantined_files)) == ((1, 1, 1) if pruned else (0, 0, 0))
    assert (len(outbox.dead_letters()), outbox.depth()) == ((0, 0) if pruned else (1, 1))
    assert quarantined.exists() is not pruned
    outbox.close()


@pytest.mark.parametrize("how", ["acked", "dead_letter_pruned"])
def test_deleted_alerts_are_wiped_from_the_database_file(tmp_path: Path, how: str) -> None:
    path = tmp_path / "outbox.sqlite3"
    outbox = Outbox.open(path)
    pending = outbox.add_alert(_alert_with_zone(MARKER))
    outbox.add_alert(_alert_with_zone("other"))  # keeps the table, and its page, in use
    assert MARKER.encode() in path.read_bytes()  # the marker is there to be found
    if how == "acked":
        outbox.remove(pending.seq)
    else:
        outbox.move_to_dead_letter(pending.seq, "refused")
        outbox.prune(1.0, now=time.time() + 10.0)
    outbox.close()
    # secure_delete: the freed cells and pages are overwritten, so the alert cannot be carved out of the file.
    assert MARKER.encode() not in path.read_bytes()


def test_the_runtime_prunes_the_outbox_at_start(tmp_path: Path, keys: Keys, platform_server: TestPlatform) -> None:
    outbox_path = tmp_path / "outbox.sqlite3"
    seeded = Outbox.open(outbox_path)
    for _ in range(2):
        dead = seeded.add_alert(_alert_with_zone("door"))
        seeded.move_to_dead_letter(dead.seq, "unknown_zone")
    old_seq = seeded.dead_letters()[0].seq
    seeded.close()
    with sqlite3.connect(outbox_path) as conn:  # the first one was refused 30 days ago
        conn.execute("UPDATE dead_letter SET refused_at=? WHERE seq=?", (time.time() - 30 * DAY, old_seq))
    conn.close()
    old_file, recent_file = _quarantined(outbox_path, 30.0), _quarantined(outbox_path, 1.0)
    data = camera_config_dict(keys, platform_server.endpoint, {"type": "file", "path": "none.avi"}, outbox_path)
    broken = tmp_path / "model.pt"
    broken.write_bytes(b"not a model")  # the runtime stops looking at the model; retention has run before that
    data["model_path"] = str(broken)
    config = CameraConfig.model_validate(data)
    assert config.outbox.retention_days == 28.0  # the default
    DetectorRuntime(config, options=RunOptions(max_seconds=0.5)).run(threading.Event())
    reopened = Outbox.open(outbox_path)
    assert [letter.seq for letter in reopened.dead_letters()] != [old_seq] and len(reopened.dead_letters()) == 1
    reopened.close()
    assert (old_file.exists(), recent_file.exists()) == (False, True)
