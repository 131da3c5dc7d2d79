"""The durable outbox: alerts wait here, on the device's disk, until the platform has acked them.

SQLite, alerts only (never an image). The per-camera ``seq`` counter lives in the same database, so it
survives restarts and stays strictly increasing across alerts and heartbeats. The last ``gated`` flag the
platform sent is kept here too: a fresh device is gated until the platform's first ack says otherwise.

Faults are loud. A full disk (or the configured size cap, enforced with ``PRAGMA max_page_count``) refuses
the new alert with :class:`OutboxFullError` and keeps the backlog. A corrupt file is renamed aside with a
timestamp and a new, empty outbox is started in its place.

Nothing outlives the retention (28 days by default, ``outbox.retention_days``): :meth:`Outbox.prune`
deletes dead letters and never-acked alerts older than that, and quarantined ``.corrupt-*`` files whose
content was last written before it. ``secure_delete`` is on, so deleted rows are overwritten with zeros in
the database file instead of lingering in free pages.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from nitrosignal.wire import Alert, decode, encode

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS pending (
    seq INTEGER PRIMARY KEY,
    incident_id TEXT NOT NULL,
    phase TEXT NOT NULL,
    payload BLOB NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS dead_letter (
    seq INTEGER PRIMARY KEY,
    incident_id TEXT NOT NULL,
    phase TEXT NOT NULL,
    payload BLOB NOT NULL,
    reason TEXT NOT NULL,
    refused_at REAL NOT NULL
);
"""


class OutboxError(RuntimeError):
    """The outbox cannot do what was asked."""


class OutboxFullError(OutboxError):
    """The disk (or the configured size cap) is full: the new alert was refused, the backlog is kept."""


@dataclass(frozen=True)
class PendingAlert:
    """One alert waiting for its ack, exactly as it will go on the wire."""

    seq: int
    incident_id: str
    phase: str
    payload: bytes


@dataclass(frozen=True)
class PruneResult:
    """What one retention run deleted."""

    dead_letters: int
    pending: int
    quarantined_files: tuple[Path, ...]


@dataclass(frozen=True)
class DeadLetter:
    """An alert the platform refused, kept for the operator with the platform's reason."""

    seq: int
    incident_id: str
    phase: str
    reason: str
    payload: bytes


def wall_clock_seq() -> int:
    """The wall clock in milliseconds, the floor of every fresh seq counter.

    A new outbox (first boot, or after a corrupt file was quarantined) starts its counter here. The
    platform is idempotent on (camera_id, seq): restarting at 1 after losing the old file would make it
    acknowledge new alerts as "duplicate" and silently drop them. Milliseconds are also what
    ``nitrosignal detector check`` uses for its one heartbeat, so the two interleave without refusals.
    """
    return time.time_ns() // 1_000_000


def _is_full(exc: sqlite3.Error) -> bool:
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "full" in str(exc).lower()


class Outbox:
    """Thread-safe SQLite outbox. Open it with :meth:`open`.

    Args:
        path: database file on the device.
        max_bytes: optional size cap; beyond it new alerts are refused as if the disk were full.
    """

    def __init__(self, path: Path, *, max_bytes: int | None = None) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.quarantined: Path | None = None
        self._lock = threading.Lock()
        self._conn = self._connect_checked()

    @classmethod
    def open(cls, path: Path, *, max_bytes: int | None = None) -> Outbox:
        """Open (or create) the outbox at ``path``, quarantining a corrupt file first."""
        return cls(path, max_bytes=max_bytes)

    # -- opening and recovery ---------------------------------------------------------------------------

    def _connect_checked(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return self._connect()
        except sqlite3.DatabaseError as exc:
            if _is_full(exc):
                raise OutboxFullError(f"cannot open outbox {self.path}: disk full ({exc})") from exc
            self.quarantined = self._quarantine(str(exc))
            return self._connect()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=5.0, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode=DELETE")
            # FULL: an alert the detector reported as queued must survive a power cut.
            conn.execute("PRAGMA synchronous=FULL")
            # Deleted alerts are overwritten with zeros, not left in free pages until reused (the build's
            # default varies, so it is set, and checked, explicitly).
            conn.execute("PRAGMA secure_delete=ON")
            if conn.execute("PRAGMA secure_delete").fetchone()[0] != 1:
                raise sqlite3.DatabaseError("this SQLite refuses PRAGMA secure_delete=ON")
            check = conn.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                raise sqlite3.DatabaseError(f"integrity check failed: {check}")
            conn.executescript(_SCHEMA)
            if self.max_bytes is not None:
                page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
                conn.execute(f"PRAGMA max_page_count={max(self.max_bytes // page_size, 8)}")
            conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('next_seq', ?)", (wall_clock_seq(),))
            # Gated until the platform says otherwise: an unknown deployment may not look.
            conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('gated', 1)")
        except sqlite3.Error:
            conn.close()
            raise
        return conn

    def _quarantine(self, why: str) -> Path:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        self.path.rename(target)
        for suffix in ("-journal", "-wal", "-shm"):
            sidecar = self.path.with_name(self.path.name + suffix)
            if sidecar.exists():
                sidecar.rename(target.with_name(target.name + suffix))
        logger.error(
            "OUTBOX CORRUPT: %s (%s); moved aside to %s and started a new, empty outbox. "
            "Alerts in the old file were not delivered; inspect it by hand.",
            self.path,
            why,
            target,
        )
        return target

    # -- counters and flags -----------------------------------------------------------------------------

    def _take_seq(self) -> int:
        # Caller holds the lock and an open transaction.
        seq = int(self._conn.execute("SELECT value FROM meta WHERE key='next_seq'").fetchone()[0])
        self._conn.execute("UPDATE meta SET value=? WHERE key='next_seq'", (seq + 1,))
        return seq

    def next_seq(self) -> int:
        """Reserve the next sequence number (for a heartbeat) and persist the counter.

        Raises:
            OutboxError: if the counter cannot be persisted.
        """
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                seq = self._take_seq()
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise OutboxError(f"cannot persist the seq counter in {self.path}: {exc}") from exc
            return seq

    def advance_seq(self, step: int) -> int:
        """Jump the counter to ``max(counter, wall clock ms) + step`` and return the new value.

        Used when the platform answers ``out_of_order``: another process spoke for this camera with
        higher numbers (a device check, an older outbox), and our numbers must overtake them.
        """
        with self._lock:
            self._conn.execute("UPDATE meta SET value=MAX(value, ?) + ? WHERE key='next_seq'", (wall_clock_seq(), step))
            return int(self._conn.execute("SELECT value FROM meta WHERE key='next_seq'").fetchone()[0])

    def resequence_pending(self) -> list[tuple[int, int]]:
        """Give every pending alert a fresh seq from the counter, keeping their order; nothing else changes.

        Returns:
            (old seq, new seq) pairs, oldest first.
        """
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                rows = self._conn.execute("SELECT seq, payload FROM pending ORDER BY seq").fetchall()
                moved: list[tuple[int, int]] = []
                for old_seq, payload in rows:
                    # New numbers come from the counter, above every pending seq, so the key never collides.
                    new_seq = self._take_seq()
                    renumbered = encode(decode(bytes(payload)).model_copy(update={"seq": new_seq}))
                    self._conn.execute(
                        "UPDATE pending SET seq=?, payload=? WHERE seq=?", (new_seq, renumbered, int(old_seq))
                    )
                    moved.append((int(old_seq), new_seq))
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise OutboxError(f"cannot renumber pending alerts in {self.path}: {exc}") from exc
        return moved

    @property
    def gated(self) -> bool:
        """The last gating flag the platform sent (True on a fresh device)."""
        with self._lock:
            return bool(self._conn.execute("SELECT value FROM meta WHERE key='gated'").fetchone()[0])

    def set_gated(self, gated: bool) -> None:
        """Persist the platform's latest gating flag."""
        with self._lock:
            self._conn.execute("UPDATE meta SET value=? WHERE key='gated'", (int(gated),))

    # -- alerts -----------------------------------------------------------------------------------------

    def add_alert(self, build: Callable[[int], Alert]) -> PendingAlert:
        """Allocate a seq, build the alert with it and store it, all in one transaction.

        Args:
            build: makes the alert for a given seq; ``message_id`` and ``sent_at`` are fixed here, so a
                resend is byte-identical and the platform can recognise it as a duplicate.

        Raises:
            OutboxFullError: when the disk or the size cap is full; nothing is stored, the backlog is kept.
            OutboxError: on any other storage failure.
        """
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                seq = self._take_seq()
                alert = build(seq)
                if alert.seq != seq:
                    raise OutboxError(f"alert built with seq {alert.seq}, expected {seq}")
                payload = encode(alert)
                self._conn.execute(
                    "INSERT INTO pending (seq, incident_id, phase, payload, created_at) VALUES (?, ?, ?, ?, ?)",
                    (seq, str(alert.incident_id), alert.phase.value, payload, time.time()),
                )
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                if _is_full(exc):
                    raise OutboxFullError(f"outbox {self.path} is full; new alert refused ({exc})") from exc
                raise OutboxError(f"cannot store alert in {self.path}: {exc}") from exc
            except BaseException:
                self._rollback()
                raise
        return PendingAlert(seq=seq, incident_id=str(alert.incident_id), phase=alert.phase.value, payload=payload)

    def oldest(self) -> PendingAlert | None:
        """The oldest unacked alert, or None when the outbox is empty."""
        with self._lock:
            row = self._conn.execute(
                "SELECT seq, incident_id, phase, payload FROM pending ORDER BY seq LIMIT 1"
            ).fetchone()
        if row is None:
            return None
        return PendingAlert(seq=int(row[0]), incident_id=str(row[1]), phase=str(row[2]), payload=bytes(row[3]))

    def remove(self, seq: int) -> None:
        """Forget an alert the platform has stored (or already had)."""
        with self._lock:
            self._conn.execute("DELETE FROM pending WHERE seq=?", (seq,))

    def move_to_dead_letter(self, seq: int, reason: str) -> None:
        """Move a refused alert out of the send queue, keeping it and the platform's reason."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.execute(
                    "INSERT OR REPLACE INTO dead_letter (seq, incident_id, phase, payload, reason, refused_at) "
                    "SELECT seq, incident_id, phase, payload, ?, ? FROM pending WHERE seq=?",
                    (reason, time.time(), seq),
                )
                self._conn.execute("DELETE FROM pending WHERE seq=?", (seq,))
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise OutboxError(f"cannot dead-letter seq {seq} in {self.path}: {exc}") from exc

    def depth(self) -> int:
        """Number of alerts waiting for an ack."""
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM pending").fetchone()[0])

    def dead_letters(self) -> list[DeadLetter]:
        """Every refused alert, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT seq, incident_id, phase, reason, payload FROM dead_letter ORDER BY seq"
            ).fetchall()
        return [DeadLetter(int(r[0]), str(r[1]), str(r[2]), str(r[3]), bytes(r[4])) for r in rows]

    def quarantined_files(self) -> list[Path]:
        """Corrupt outbox files moved aside next to this outbox (with their journals), oldest name first."""
        return sorted(self.path.parent.glob(f"{self.path.name}.corrupt-*"))

    def prune(self, max_age_s: float, *, now: float | None = None) -> PruneResult:
        """Delete what is older than the retention: dead letters, never-acked alerts, quarantined files.

        A quarantined file counts from its last write (its mtime, kept by the rename), so no alert in it is
        older than ``max_age_s`` when it goes. Rows go with ``secure_delete`` on.

        Raises:
            OutboxError: if the database cannot be changed (files are still tried first).
        """
        cutoff = (time.time() if now is None else now) - max_age_s
        removed: list[Path] = []
        for path in self.quarantined_files():
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed.append(path)
            except FileNotFoundError:
                continue
            except OSError:
                logger.exception("cannot delete quarantined outbox file %s after its retention", path)
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                dead = self._conn.execute("DELETE FROM dead_letter WHERE refused_at < ?", (cutoff,)).rowcount
                pending = self._conn.execute("DELETE FROM pending WHERE created_at < ?", (cutoff,)).rowcount
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise OutboxError(f"cannot prune outbox {self.path}: {exc}") from exc
        if pending:
            logger.error("%d alert(s) never acked within the retention were deleted undelivered", pending)
        if dead or removed:
            logger.info("retention: deleted %d dead letter(s) and %d quarantined file(s)", dead, len(removed))
        return PruneResult(dead_letters=dead, pending=pending, quarantined_files=tuple(removed))

    def _rollback(self) -> None:
        if self._conn.in_transaction:
            try:
                self._conn.execute("ROLLBACK")
            except sqlite3.Error:
                logger.exception("rollback failed on outbox %s", self.path)

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()
