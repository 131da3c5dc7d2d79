"""Drift and expiry: an approved record stops being current when a fact behind it changes or time runs out.

``detect_drift`` compares the facts frozen in the approved snapshot with the live facts and lists every
difference (new model, changed retention, a camera added, wider schedules, …). ``sweep`` flags drifted
records "re-assessment needed" and expires approvals older than the configured validity (12 months).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from iama.config import IamaSettings
from iama.facts import Fact, FactSnapshot, collect_facts, hashed_value
from iama.service import latest_snapshot
from iama.storage.models import IamaRecord, Transition
from iama.workflow import Status, target_status
from nitroplatform.db.models import Camera


class Difference(BaseModel):
    """One changed value behind an approved record."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fact: str
    path: str
    approved: Any
    now: Any
    summary: str


class SweepResult(BaseModel):
    """What one sweep changed."""

    model_config = ConfigDict(extra="forbid")

    drifted: dict[int, list[Difference]]
    expired: list[int]


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, inner in value.items():
            flat.update(_flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(value, list) and all(isinstance(item, dict) and "id" in item for item in value):
        return _flatten({str(item["id"]): item for item in value}, prefix)
    if isinstance(value, list) and all(isinstance(item, dict) and "camera" in item for item in value):
        return _flatten({str(item["camera"]): item for item in value}, prefix)
    return {prefix: value}


_SUMMARIES = {
    "model_card": "model changed",
    "retention": "retention changed",
    "cameras": "cameras changed",
    "schedules": "schedules changed",
    "masks_zones": "zones changed",
    "alert_schema": "alert schema changed",
    "deployment": "deployment details changed",
}


def diff_facts(approved: FactSnapshot, current: FactSnapshot) -> list[Difference]:
    """Every difference between the drift-relevant facts of two snapshots."""
    old_facts, new_facts = approved.by_key(), current.by_key()
    differences: list[Difference] = []
    for key in sorted(set(old_facts) | set(new_facts)):
        old_fact: Fact | None = old_facts.get(key)
        new_fact: Fact | None = new_facts.get(key)
        if not ((old_fact and old_fact.drift_relevant) or (new_fact and new_fact.drift_relevant)):
            continue
        old_flat = _flatten(hashed_value(old_fact)) if old_fact else {}
        new_flat = _flatten(hashed_value(new_fact)) if new_fact else {}
        for path in sorted(set(old_flat) | set(new_flat)):
            before, after = old_flat.get(path), new_flat.get(path)
            if before != after:
                label = _SUMMARIES.get(key, f"{key} changed")
                if key == "cameras" and path.count(".") == 1 and (before is None or after is None):
                    label = "camera added" if before is None else "camera removed"
                differences.append(
                    Difference(
                        fact=key,
                        path=path,
                        approved=before,
                        now=after,
                        summary=f"{label}: {path}: {before!r} → {after!r}",
                    )
                )
    return differences


def running_model_differences(session: Session, approved: FactSnapshot) -> list[Difference]:
    """Cameras whose heartbeat reports a model version other than the one assessed at approval.

    The model card fact says which model each camera should run; the heartbeat says which one it does run.
    A camera that reports nothing yet, or whose assessed model is unknown, gives no difference.
    """
    fact = approved.by_key().get("model_card")
    if fact is None or not isinstance(fact.value, dict):
        return []
    differences = []
    for camera_id, card in sorted(fact.value.items()):
        camera = session.get(Camera, camera_id)
        if camera is None or camera.model_version is None or not isinstance(card, dict):
            continue
        if camera.model_version != card.get("version"):
            differences.append(
                Difference(
                    fact="model_card",
                    path=f"{camera_id}.running_version",
                    approved=card.get("version"),
                    now=camera.model_version,
                    summary=f"model changed: {camera_id} runs {camera.model_version!r}, "
                    f"assessed {card.get('version')!r}",
                )
            )
    return differences


def detect_drift(*, session: Session, record: IamaRecord, settings: IamaSettings) -> list[Difference]:
    """Differences between the record's approved facts and the live facts (empty when none or not approved)."""
    snapshot = latest_snapshot(session=session, record_id=record.id)
    if snapshot is None or record.status != Status.approved:
        return []
    approved = FactSnapshot.model_validate(snapshot.facts)
    differences = running_model_differences(session, approved)
    current = collect_facts(session, deployment_id=record.deployment_id, settings=settings, include_volatile=False)
    if current.sha256 != snapshot.facts_sha256:
        differences += diff_facts(approved, current)
    return differences


def sweep(*, session: Session, settings: IamaSettings, now: datetime | None = None) -> SweepResult:
    """Flag drifted approved records and expire old approvals. The caller commits."""
    moment = now or datetime.now(UTC)
    result = SweepResult(drifted={}, expired=[])
    for record in session.scalars(select(IamaRecord).where(IamaRecord.status == Status.approved)):
        if record.expires_at is not None and record.expires_at <= moment:
            target = target_status("expire", record.status)
            session.add(
                Transition(
                    record_id=record.id,
                    from_status=record.status,
                    to_status=target,
                    actor="system",
                    note="approval period ended",
                    created_at=moment,
                )
            )
            record.status = target
            result.expired.append(record.id)
            continue
        differences = detect_drift(session=session, record=record, settings=settings)
        if differences:
            result.drifted[record.id] = differences
            if not record.reassessment_needed:
                record.reassessment_needed = True
                record.drift = [item.model_dump(mode="json") for item in differences]
    session.flush()
    return result
