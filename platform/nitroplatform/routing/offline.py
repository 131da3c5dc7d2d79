"""Flag cameras that went silent: no heartbeat for ``offline_after_s`` means offline.

Each transition (online → offline, offline → online) is logged loudly and written to the audit log, so
coordinators and auditors can see when a camera stopped looking and for how long. The camera list's own
``status`` (core) shows the current state; this module records the moments it changed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from nitroplatform.audit.chain import record
from nitroplatform.db.models import Camera

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OfflineChanges:
    """Cameras that went offline or came back in one check."""

    went_offline: tuple[str, ...]
    came_back: tuple[str, ...]


def check_offline(db: Session, *, now: datetime, offline_after_s: float, known_offline: set[str]) -> OfflineChanges:
    """Compare heartbeats with ``known_offline`` (updated in place) and audit the changes; caller commits.

    Cameras that never sent a heartbeat are not flagged: they have not been switched on yet.
    """
    limit = now - timedelta(seconds=offline_after_s)
    rows = db.execute(select(Camera.id, Camera.last_heartbeat_at).where(Camera.last_heartbeat_at.is_not(None))).all()
    offline_now = {camera_id for camera_id, seen in rows if seen is not None and seen < limit}
    went = tuple(sorted(offline_now - known_offline))
    back = tuple(sorted(known_offline - offline_now))
    for camera_id in went:
        logger.warning("camera %s is OFFLINE: no heartbeat for more than %.0f s", camera_id, offline_after_s)
        record(db, actor="system:monitor", action="camera.offline", target_type="camera", target_id=camera_id)
    for camera_id in back:
        logger.info("camera %s is back online", camera_id)
        record(db, actor="system:monitor", action="camera.online", target_type="camera", target_id=camera_id)
    known_offline.clear()
    known_offline.update(offline_now)
    return OfflineChanges(went_offline=went, came_back=back)
