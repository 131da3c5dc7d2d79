"""Heartbeat states: what the device says about itself, explicitly, every ``heartbeat_interval_s``.

The state is decided by one pure function over a snapshot of the device (:class:`DeviceSnapshot`), in a
fixed order of precedence, so that "detector down" can never be reported as "all quiet":
``error`` (the model failed to load) > ``inactive_gated`` (no approved IAMA) > ``inactive_schedule``
(outside the windows) > ``degraded`` (feed lost, outbox full, platform unreachable) > ``active``.
"""

from __future__ import annotations

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
    """Counters that travel in a heartbeat."""

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
        sent_at=datetime.now(UTC),
        state=report.state,
        reason=report.reason,
        fps_in=round(min(max(figures.fps_in, 0.0), 1000.0), 2),
        fps_processed=round(min(max(figures.fps_processed, 0.0), 1000.0), 2),
        dropped_frames=max(figures.dropped_frames, 0),
        outbox_depth=max(figures.outbox_depth, 0),
        model_version=identity.model_version,
        uptime_s=max(figures.uptime_s, 0),
        config_hash=identity.config_hash,
    )


class RateMeter:
    """Turns the running frame counters into per-second rates over the time since the previous call."""

    def __init__(self, started: float) -> None:
        self._at = started
        self._read = 0
        self._processed = 0

    def rates(self, now: float, frames_read: int, frames_processed: int) -> tuple[float, float]:
        """Frames read and processed per second since the last call (monotonic ``now``)."""
        elapsed = max(now - self._at, 1e-3)
        rates = ((frames_read - self._read) / elapsed, (frames_processed - self._processed) / elapsed)
        self._at, self._read, self._processed = now, frames_read, frames_processed
        return rates
