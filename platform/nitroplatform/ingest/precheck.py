"""Everything the ingest can decide about one message without the database, done before the batch begins.

The flood guard charges the authenticated key first, before a single byte is decoded, so garbage costs the
sender its tokens exactly as valid messages do. Then the frame count, the wire contract (size, nesting, JSON,
schema, bounds), the claimed camera id and the clock. A message that fails here is refused on its own and never
reaches the batch's transaction, so it cannot fail the other messages of the batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from nitroplatform.ingest.flood import FloodGuard
from nitrosignal.wire import Alert, ContractError, Heartbeat, decode

UNKNOWN_CAMERA = "unknown"


class Refusal(Exception):
    """A message refused with a machine-readable reason."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(slots=True)
class Inbound:
    """One received message: its routing envelope, payload, and the CURVE key ZAP authenticated.

    ``extra_frames`` counts payload frames beyond the one a contract message has (a multipart flood).
    """

    envelope: list[bytes]
    payload: bytes
    user_id: str | None
    extra_frames: int = 0


@dataclass(slots=True)
class Checked:
    """One message after the checks that need no database: decoded, or refused with the reason."""

    inbound: Inbound
    camera_id: str
    kind: str
    seq: int
    message: Alert | Heartbeat | None
    refusal: Refusal | None


class MessageCheck:
    """The database-free checks of one message, in the order that keeps a flood cheap."""

    def __init__(self, *, flood: FloodGuard, flood_rate_per_s: float, skew: timedelta) -> None:
        """Args: the per-camera flood guard, its rate (for the refusal text) and the tolerated clock skew."""
        self._flood = flood
        self._flood_rate_per_s = flood_rate_per_s
        self._skew = skew

    def check(self, inbound: Inbound, camera_id: str | None, now: datetime, monotonic: float) -> Checked:
        """Decode and check ``inbound`` from the camera its key belongs to (None: the key is not registered)."""
        checked = Checked(inbound, camera_id or UNKNOWN_CAMERA, "unknown", 0, None, None)
        try:
            if camera_id is None:
                raise Refusal("unknown_camera", f"key {str(inbound.user_id)[:8]}... is not registered")
            if not self._flood.allow(camera_id, monotonic):
                raise Refusal("flood", f"more than {self._flood_rate_per_s}/s sustained")
            if inbound.extra_frames:
                raise Refusal("multipart", f"expected one payload frame, got {inbound.extra_frames + 1}")
            try:
                decoded = decode(inbound.payload)
            except ContractError as exc:
                raise Refusal(exc.reason, exc.detail) from exc
            checked.seq = decoded.seq
            checked.kind = "alert" if isinstance(decoded, Alert) else "heartbeat"
            if decoded.camera_id != camera_id:
                raise Refusal("camera_mismatch", f"key belongs to {camera_id!r}, message claims {decoded.camera_id!r}")
            if decoded.sent_at > now + self._skew:
                raise Refusal("clock_skew", f"sent_at {decoded.sent_at.isoformat()} is ahead of the platform clock")
            checked.message = decoded
        except Refusal as refusal:
            checked.refusal = refusal
        return checked
