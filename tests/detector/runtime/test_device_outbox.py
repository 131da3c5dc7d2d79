"""The durable outbox: persistence and seq across restarts, gating flag, disk full, corrupt file quarantine."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from device_harness import alert_builder  # type: ignore[import-not-found]

from detector.outbox import Outbox, OutboxFullError
from nitrosignal.wire import decode


def test_alerts_and_seq_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    outbox = Outbox.open(path)
    first = outbox.add_alert(alert_builder())
    heartbeat_seq = outbox.next_seq()
    second = outbox.add_alert(alert_builder())
    outbox.close()

    reopened = Outbox.open(path)
    assert reopened.depth() == 2
    oldest = reopened.oldest()
    assert oldest == first  # byte-identical payload after the restart: a resend is recognisable
    assert decode(oldest.payload).seq == first.seq
    third = reopened.add_alert(alert_builder())
    assert first.seq < heartbeat_seq < second.seq < third.seq
    reopened.remove(first.seq)
    assert reopened.oldest() == second
    reopened.close()


@pytest.mark.parametrize("restarts", [1, 3])
def test_seq_is_strictly_increasing_across_restarts(tmp_path: Path, restarts: int) -> None:
    path = tmp_path / "outbox.sqlite3"
    seen: list[int] = []
    for _ in range(restarts + 1):
        outbox = Outbox.open(path)
        seen.append(outbox.next_seq())
        seen.append(outbox.add_alert(alert_builder()).seq)
        outbox.close()
    assert seen == sorted(seen) and len(set(seen)) == len(seen)


@pytest.mark.parametrize(
    ("acks", "expected"),
    [([], True), ([False], False), ([False, True], True)],
)
def test_fresh_outbox_is_gated_until_the_platform_says_otherwise(
    tmp_path: Path, acks: list[bool], expected: bool
) -> None:
    path = tmp_path / "outbox.sqlite3"
    outbox = Outbox.open(path)
    for gated in acks:
        outbox.set_gated(gated)
    outbox.close()
    reopened = Outbox.open(path)
    assert reopened.gated is expected
    reopened.close()


def test_refused_alert_moves_to_the_dead_letter_table(tmp_path: Path) -> None:
    outbox = Outbox.open(tmp_path / "outbox.sqlite3")
    refused = outbox.add_alert(alert_builder())
    kept = outbox.add_alert(alert_builder())
    outbox.move_to_dead_letter(refused.seq, "gated")
    assert outbox.oldest() == kept
    [dead] = outbox.dead_letters()
    assert (dead.seq, dead.reason, dead.payload) == (refused.seq, "gated", refused.payload)
    outbox.close()


def test_disk_full_refuses_new_alerts_loudly_and_keeps_the_backlog(tmp_path: Path) -> None:
    outbox = Outbox.open(tmp_path / "outbox.sqlite3", max_bytes=64 * 1024)
    stored = []
    with pytest.raises(OutboxFullError, match="full"):
        for _ in range(1000):
            stored.append(outbox.add_alert(alert_builder()))
    assert 10 < len(stored) < 1000
    assert outbox.depth() == len(stored)
    assert outbox.oldest() == stored[0]
    # The counter still works for heartbeats, and the failed alert consumed no seq.
    assert outbox.next_seq() == stored[-1].seq + 1
    # Acks make room again.
    for item in stored[:20]:
        outbox.remove(item.seq)
    assert outbox.add_alert(alert_builder()).seq > stored[-1].seq
    outbox.close()


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p.write_bytes(b"this is not a database" * 100),
        lambda p: p.write_bytes(p.read_bytes()[:100] + b"\x00garbage" * 200 + p.read_bytes()[1700:]),
    ],
)
def test_corrupt_file_is_quarantined_and_a_new_outbox_started(
    tmp_path: Path, damage: Callable[[Path], None], caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "outbox.sqlite3"
    outbox = Outbox.open(path)
    old_seq = outbox.add_alert(alert_builder()).seq
    outbox.close()
    damage(path)

    recovered = Outbox.open(path)
    assert recovered.quarantined is not None and recovered.quarantined.exists()
    assert recovered.quarantined.name.startswith("outbox.sqlite3.corrupt-")
    assert "OUTBOX CORRUPT" in caplog.text
    assert recovered.depth() == 0
    assert recovered.gated is True  # unknown again: gated until the platform answers
    assert recovered.add_alert(alert_builder()).seq > old_seq  # never reuse a seq the platform may have
    recovered.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
