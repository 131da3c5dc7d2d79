"""Gating: alerts count only from cameras whose deployment has an approved, current IAMA (DESIGN.md §4.5).

The IAMA component provides the real policy (``iama.gating.IamaGatePolicy``); ``open`` is for development
only. Decisions are cached per camera for a few seconds because the ingest asks for every message.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from sqlalchemy.orm import Session

from nitroplatform.settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GateDecision:
    """Whether a camera is gated right now, and why (a machine-readable reason)."""

    gated: bool
    reason: str


@runtime_checkable
class GatePolicy(Protocol):
    """Decides whether a camera's signals may be used."""

    def is_gated(self, session: Session, camera_id: str, now: datetime) -> GateDecision:
        """Return the decision for ``camera_id`` at ``now``."""
        ...


class OpenGatePolicy:
    """No gating at all. Development only; the settings refuse it in production."""

    def is_gated(self, session: Session, camera_id: str, now: datetime) -> GateDecision:
        """Never gated."""
        return GateDecision(gated=False, reason="gating_open_development")


class CachedGatePolicy:
    """Wraps a policy and remembers each camera's decision for ``ttl_s`` seconds."""

    def __init__(self, policy: GatePolicy, ttl_s: float) -> None:
        self._policy = policy
        self._ttl_s = ttl_s
        self._cache: dict[str, tuple[float, GateDecision]] = {}
        self._lock = threading.Lock()

    def is_gated(self, session: Session, camera_id: str, now: datetime) -> GateDecision:
        """The cached decision, or a fresh one from the wrapped policy."""
        clock = time.monotonic()
        with self._lock:
            hit = self._cache.get(camera_id)
        if hit is not None and clock - hit[0] < self._ttl_s:
            return hit[1]
        decision = self._policy.is_gated(session, camera_id, now)
        with self._lock:
            self._cache[camera_id] = (clock, decision)
        return decision

    def invalidate(self, camera_id: str | None = None) -> None:
        """Forget one camera's decision, or all of them."""
        with self._lock:
            if camera_id is None:
                self._cache.clear()
            else:
                self._cache.pop(camera_id, None)


def load_gate_policy(settings: Settings) -> GatePolicy:
    """The policy the settings ask for. ``iama`` fails loudly if the IAMA component is missing.

    Raises:
        RuntimeError: when ``gating_mode`` is ``iama`` and ``iama.gating.IamaGatePolicy`` cannot be loaded.
    """
    if settings.gating_mode == "open":
        settings.warn_if_open()
        return OpenGatePolicy()
    try:
        module = importlib.import_module("iama.gating")
        policy_class = module.IamaGatePolicy
    except (ImportError, AttributeError) as exc:
        raise RuntimeError(
            f"gating_mode=iama needs iama.gating.IamaGatePolicy, which cannot be loaded ({exc}); "
            "install the IAMA component or, in development only, set NITROSIGNAL_GATING_MODE=open"
        ) from exc
    policy = policy_class()
    if not isinstance(policy, GatePolicy):
        raise RuntimeError("iama.gating.IamaGatePolicy does not implement is_gated(session, camera_id, now)")
    return policy
