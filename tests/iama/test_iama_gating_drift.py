"""Gating and drift: a camera is active only under an approved, current IAMA, and gated again on change."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from iama import service
from iama.config import IamaSettings
from iama.drift import sweep
from iama.gating import IamaGatePolicy
from nitroplatform.gating import GatePolicy

CARD = json.loads((Path(__file__).parents[2] / "detector/models/balloon-at-mouth.pt.card.json").read_text())


def write_model(folder: Path, version: str) -> Path:
    """A model file with a card of ``version`` (the file content itself is irrelevant to the facts)."""
    folder.mkdir(parents=True, exist_ok=True)
    model = folder / "balloon-at-mouth.pt"
    model.write_bytes(b"model " + version.encode())
    (folder / "balloon-at-mouth.pt.card.json").write_text(json.dumps({**CARD, "version": version}))
    return model


def test_policy_implements_platform_protocol() -> None:
    assert isinstance(IamaGatePolicy(IamaSettings()), GatePolicy)


@pytest.mark.parametrize(
    ("camera_id", "deployment", "expected_reason"),
    [
        ("cam-x", None, "unknown_camera"),
        ("cam-2", "none", "no_deployment"),
        ("cam-1", "demo", "no_approved_iama"),
    ],
)
def test_gated_without_approval(
    session: Session,
    filled_record: int,
    settings: IamaSettings,
    camera_id: str,
    deployment: str | None,
    expected_reason: str,
    now: datetime,
    add_camera: Callable[..., Any],
) -> None:
    if deployment == "none":
        add_camera(session, camera_id, deployment_id=None)
    decision = IamaGatePolicy(settings).is_gated(session, camera_id, now)
    assert (decision.gated, decision.reason) == (True, expected_reason)


def test_active_after_approval_gated_after_model_change(
    session: Session, filled_record: int, tmp_path: Path, now: datetime, approve_all: Callable[..., None]
) -> None:
    settings = IamaSettings(model_path=write_model(tmp_path / "v1", "1.0.0"), retention_days=28)
    policy = IamaGatePolicy(settings)
    assert policy.is_gated(session, "cam-1", now).gated
    approve_all(session, filled_record, settings)
    assert policy.is_gated(session, "cam-1", now).gated is False
    # A new model version is deployed: the gate closes at once, and the sweep lists the difference.
    changed = IamaSettings(model_path=write_model(tmp_path / "v2", "2.0.0"), retention_days=28)
    assert IamaGatePolicy(changed).is_gated(session, "cam-1", now).reason == "iama_facts_changed"
    result = sweep(session=session, settings=changed, now=now)
    summaries = [d.summary for d in result.drifted[filled_record]]
    assert any(s.startswith("model changed: cam-1.version: '1.0.0' → '2.0.0'") for s in summaries)
    record = service.get_record(session=session, record_id=filled_record)
    assert record.reassessment_needed and record.drift
    # Even with the old model back, a flagged record stays gated until it is re-assessed.
    assert IamaGatePolicy(settings).is_gated(session, "cam-1", now).reason == "iama_reassessment_needed"


@pytest.mark.parametrize(
    ("change", "expected_summary"),
    [
        ("camera", "camera added: cam-9"),
        ("retention", "retention changed: retention_days: 28 → 90"),
        ("none", None),
    ],
)
def test_drift_lists_differences(
    session: Session,
    filled_record: int,
    settings: IamaSettings,
    change: str,
    expected_summary: str | None,
    now: datetime,
    add_camera: Callable[..., Any],
    approve_all: Callable[..., None],
) -> None:
    approve_all(session, filled_record, settings)
    current = settings
    if change == "camera":
        add_camera(session, "cam-9")
    if change == "retention":
        current = IamaSettings(retention_days=90)
    result = sweep(session=session, settings=current, now=now)
    summaries = [d.summary for d in result.drifted.get(filled_record, [])]
    if expected_summary is None:
        assert summaries == []
        assert IamaGatePolicy(current).is_gated(session, "cam-1", now).gated is False
    else:
        assert any(s.startswith(expected_summary) for s in summaries), summaries
        assert IamaGatePolicy(current).is_gated(session, "cam-1", now).gated


def test_expiry_after_validity(
    session: Session, filled_record: int, settings: IamaSettings, now: datetime, approve_all: Callable[..., None]
) -> None:
    approve_all(session, filled_record, settings)
    later = now + timedelta(days=366)
    assert IamaGatePolicy(settings).is_gated(session, "cam-1", later).reason == "iama_expired"
    assert sweep(session=session, settings=settings, now=later).expired == [filled_record]
    assert service.get_record(session=session, record_id=filled_record).status == "expired"
