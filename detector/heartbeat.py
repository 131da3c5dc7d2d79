"""Heartbeat states: what the device says about itself, explicitly, every ``heartbeat_interval_s``.

The state is decided by one pure function over a snapshot of the device (:class:`DeviceSnapshot`), in a
fixed order of precedence, so that "detector down" can never be reported as "all quiet":
``error`` (the model failed to load) > ``inactive_gated`` (no approved IAMA) > ``inactive_schedule``
(outside the windows) > ``degraded`` (feed lost, outbox full, platform unreachable) > ``active``.

The figures are coarse on purpose. How many frames the detector analyses per second, and how many the
bounded queue drops, rise and fall with the number of people in view (pose and the classifier run per
person). So a heartbeat reports them averaged over a whole heartbeat interval (:class:`IntervalMeter`), the
rates rounded to whole frames per second and the drops rounded down to a power of ten (0, 1, 10, 100, ...),
and ``sent_at`` in whole seconds: enough to see a device that is overloaded or starved, too little to count
people.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from nitrosignal.wire import DeviceState, Heartbeat


@dataclass(frozen=True)
class DeviceSnapshot:
    """Everything the heartbeat state depends on, at one moment."""

    error_reason: str | None
    gated: bool
    in_schedule: bool
    feed_ok: bool
    outbox_full: bool
    platform_reachable: bool


@dataclass(frozen=True)
class StateReport:
    """A heartbeat state with its machine-readable reason (None only for ``active``)."""

    state: DeviceState
    reason: str | None


def decide_state(snapshot: DeviceSnapshot) -> StateReport:
    """The explicit device state for a snapshot, by fixed precedence."""
    if snapshot.error_reason is not None:
        return StateReport(DeviceState.ERROR, snapshot.error_reason)
    if snapshot.gated:
        return StateReport(DeviceState.INACTIVE_GATED, "iama_not_approved")
    if not snapshot.in_schedule:
        return StateReport(DeviceState.INACTIVE_SCHEDULE, "outside_schedule")
    if not snapshot.feed_ok:
        return StateReport(DeviceState.DEGRADED, "camera_feed_lost")
    if snapshot.outbox_full:
        return StateReport(DeviceState.DEGRADED, "outbox_full")
    if not snapshot.platform_reachable:
        return StateReport(DeviceState.DEGRADED, "platform_unreachable")
    return StateReport(DeviceState.ACTIVE, None)


@dataclass(frozen=True)
class HeartbeatFigures:
    """Counters that travel in a heartbeat (rates and drops already coarse, see :class:`IntervalMeter`)."""

    fps_in: float
    fps_processed: float
    dropped_frames: int
    outbox_depth: int
    uptime_s: int


@dataclass(frozen=True)
class HeartbeatIdentity:
    """What identifies the sender of a heartbeat."""

    camera_id: str
    config_hash: str
    model_version: str | None


def build_heartbeat(identity: HeartbeatIdentity, seq: int, report: StateReport, figures: HeartbeatFigures) -> Heartbeat:
    """Make a wire heartbeat; every value is clamped to the contract's ranges."""
    return Heartbeat(
        message_id=uuid.uuid4(),
        camera_id=identity.camera_id,
        seq=seq,
        sent_at=datetime.now(UTC).replace(microsecond=0),
        state=report.state,
        reason=report.reason,
        fps_in=coarse_rate(min(max(figures.fps_in, 0.0), 1000.0)),
        fps_processed=coarse_rate(min(max(figures.fps_processed, 0.0), 1000.0)),
        dropped_frames=coarse_count(figures.dropped_frames),
        outbox_depth=max(figures.outbox_depth, 0),
        model_version=identity.model_version,
        uptime_s=max(figures.uptime_s, 0),
        config_hash=identity.config_hash,
    )


def coarse_rate(per_second: float) -> float:
    """A rate rounded to whole frames per second (halves up), never negative."""
    return float(math.floor(max(per_second, 0.0) + 0.5))


def coarse_count(count: int) -> int:
    """A count rounded down to a power of ten: 0, 1 (1-9), 10 (10-99), 100 (100-999), ..."""
    if count <= 0:
        return 0
    return int(10 ** (len(str(int(count))) - 1))


class IntervalMeter:
    """Frame rates and drops averaged over whole heartbeat intervals, reported coarsely.

    A figure is recomputed only once at least one interval has passed since the last computation; an
    early heartbeat (a state change) repeats the last full-interval figures, so no heartbeat ever carries a
    rate over a few seconds. Before the first full interval the figures are 0.

    Args:
        started: monotonic time at which the counters were 0.
        interval_s: the heartbeat interval, the shortest span a figure is averaged over.
    """

    # Heartbeats are due every interval_s by the loop's clock, taken a moment before this meter reads its
    # own; a small tolerance keeps a regular heartbeat from missing its own interval by microseconds.
    _TOLERANCE = 0.95

    def __init__(self, started: float, interval_s: float) -> None:
        self._interval_s = interval_s
        self._at = started
        self._read = self._processed = self._dropped = 0
        self._figures: tuple[float, float, int] = (0.0, 0.0, 0)

    def figures(self, now: float, frames_read: int, frames_processed: int, dropped: int) -> tuple[float, float, int]:
        """(fps_in, fps_processed, dropped_frames) for a heartbeat at monotonic ``now``.

        Args:
            now: monotonic seconds.
            frames_read, frames_processed, dropped: the running totals since start.
        """
        elapsed = now - self._at
        if elapsed >= self._interval_s * self._TOLERANCE:
            self._figures = (
                coarse_rate((frames_read - self._read) / elapsed),
                coarse_rate((frames_processed - self._processed) / elapsed),
                coarse_count(dropped - self._dropped),
            )
            self._at, self._read, self._processed, self._dropped = now, frames_read, frames_processed, dropped
        return self._figures
