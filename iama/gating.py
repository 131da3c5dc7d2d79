"""``IamaGatePolicy``: a camera is gated unless its deployment has an approved, current IAMA.

Current means: status approved, not expired, not flagged for re-assessment, and the live facts still hash
to the facts frozen at approval (so a new model gates the camera at once, without waiting for a sweep).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from iama.config import IamaSettings
from iama.drift import running_model_differences
from iama.facts import FactSnapshot, collect_facts
from iama.service import latest_snapshot
from iama.storage.models import IamaRecord
from iama.workflow import Status
from nitroplatform.db.models import Camera
from nitroplatform.gating import GateDecision


class IamaGatePolicy:
    """Implements ``nitroplatform.gating.GatePolicy``."""

    def __init__(self, settings: IamaSettings | None = None) -> None:
        self._settings = settings or IamaSettings()

    def is_gated(self, session: Session, camera_id: str, now: datetime) -> GateDecision:
        """Decide for ``camera_id`` at ``now``; the reason is a short machine-readable token with detail."""
        camera = session.get(Camera, camera_id)
        if camera is None:
            return GateDecision(gated=True, reason="unknown_camera")
        if camera.deployment_id is None:
            return GateDecision(gated=True, reason="no_deployment")
        record = session.scalars(
            select(IamaRecord)
            .where(
                IamaRecord.deployment_id == camera.deployment_id,
                IamaRecord.status == Status.approved,
                IamaRecord.imported_by.is_(None),
            )
            .order_by(IamaRecord.approved_at.desc())
        ).first()
        if record is None:
            return GateDecision(gated=True, reason="no_approved_iama")
        if record.expires_at is None or record.expires_at <= now:
            return GateDecision(gated=True, reason="iama_expired")
        if record.reassessment_needed:
            return GateDecision(gated=True, reason="iama_reassessment_needed")
        snapshot = latest_snapshot(session=session, record_id=record.id)
        if snapshot is None:
            return GateDecision(gated=True, reason="iama_snapshot_missing")
        current = collect_facts(
            session, deployment_id=record.deployment_id, settings=self._settings, include_volatile=False
        )
        if current.sha256 != snapshot.facts_sha256:
            return GateDecision(gated=True, reason="iama_facts_changed")
        approved = FactSnapshot.model_validate(snapshot.facts)
        if any(d.path.startswith(f"{camera_id}.") for d in running_model_differences(session, approved)):
            return GateDecision(gated=True, reason="iama_model_not_assessed")
        return GateDecision(gated=False, reason=f"iama_approved:{record.id}")
