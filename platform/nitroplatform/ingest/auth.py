"""ZAP authentication of cameras against the registry, through pyzmq's ThreadAuthenticator.

The registry is cached in memory (public key -> camera id) and reloaded periodically, after local changes,
and on an unknown key (rate-limited), so a camera registered with the CLI while the platform runs can
connect within a second without a restart.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from nitroplatform.db.models import Camera

logger = logging.getLogger(__name__)

MISS_RELOAD_INTERVAL_S = 1.0


class CameraKeyCache:
    """Thread-safe map of registered CURVE public keys (Z85 text) to camera ids.

    Also the ``credentials_provider`` for ``ThreadAuthenticator.configure_curve_callback``.
    """

    def __init__(self, factory: sessionmaker[Session], on_refuse: Callable[[str], None] | None = None) -> None:
        """Args: factory: sessions on the platform database; on_refuse: called with the reason of a refusal."""
        self._factory = factory
        self._on_refuse = on_refuse
        self._lock = threading.Lock()
        self._by_key: dict[str, str] = {}
        self._changed: set[str] = set()
        self._loaded_at = 0.0

    def reload(self) -> int:
        """Read the registry from the database; returns the number of cameras."""
        with self._factory() as session:
            rows = session.execute(select(Camera.public_key, Camera.id)).all()
        mapping = {public_key: camera_id for public_key, camera_id in rows}
        with self._lock:
            # A camera removed, or re-registered with a new key, starts a new sequence: the ingest must forget
            # what it remembered about the old one.
            before = {camera_id: key for key, camera_id in self._by_key.items()}
            after = {camera_id: key for key, camera_id in mapping.items()}
            self._changed.update(camera_id for camera_id, key in before.items() if after.get(camera_id) != key)
            self._by_key = mapping
            self._loaded_at = time.monotonic()
        return len(mapping)

    def take_changed(self) -> set[str]:
        """Camera ids removed or re-keyed since the last call."""
        with self._lock:
            changed, self._changed = self._changed, set()
        return changed

    def camera_for(self, public_key: str | None) -> str | None:
        """The camera id registered for ``public_key`` (Z85 text), or None."""
        if public_key is None:
            return None
        with self._lock:
            return self._by_key.get(public_key)

    def cameras_for(self, public_keys: Sequence[str | None]) -> list[str | None]:
        """The camera id (or None) of each key, under one lock: the ingest resolves a whole batch at once."""
        with self._lock:
            by_key = self._by_key  # reload() replaces the dict and never mutates it, so reading it unlocked is safe
        return [None if key is None else by_key.get(key) for key in public_keys]

    def age_s(self) -> float:
        """Seconds since the last reload."""
        return time.monotonic() - self._loaded_at

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_key)

    def callback(self, domain: str, key: bytes) -> bool:
        """ZAP callback: allow a CURVE client only if its key is registered."""
        public_key = key.decode("ascii", errors="replace")
        if self.camera_for(public_key) is None and self.age_s() > MISS_RELOAD_INTERVAL_S:
            try:
                self.reload()
            except Exception:
                logger.exception("could not reload the camera registry during ZAP")
        allowed = self.camera_for(public_key) is not None
        if not allowed:
            logger.warning("refused CURVE connection (unknown_key): unregistered public key %s...", public_key[:8])
            if self._on_refuse is not None:
                self._on_refuse("unknown_key")
        return allowed
