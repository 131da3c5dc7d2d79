"""Per-camera flood guard: a token bucket, like Alertmanager's per-alertname limit (anchors §4.2.7)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class FloodGuard:
    """Allows each camera ``rate_per_s`` messages per second on average, with bursts up to ``burst``."""

    def __init__(self, *, rate_per_s: float, burst: int) -> None:
        """Args: rate_per_s: refill rate per camera; burst: bucket size."""
        if rate_per_s <= 0 or burst < 1:
            raise ValueError(f"flood guard needs rate_per_s > 0 and burst >= 1, got {rate_per_s}, {burst}")
        self._rate = rate_per_s
        self._burst = float(burst)
        self._buckets: dict[str, _Bucket] = {}

    def allow(self, camera_id: str, now: float) -> bool:
        """Take one token for ``camera_id`` at monotonic time ``now``; False when the bucket is empty."""
        bucket = self._buckets.get(camera_id)
        if bucket is None:
            bucket = self._buckets[camera_id] = _Bucket(tokens=self._burst, updated=now)
        else:
            bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
            bucket.updated = now
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True
