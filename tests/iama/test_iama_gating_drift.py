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
from iama.drift import detect_drift, sweep
from iama.exports.formats import export_record, import_json
from iama.gating import IamaGatePolicy
from nitroplatform.db.models import Camera
from nitroplatform.gating import GatePolicy, load_gate_policy
from nitroplatform.people.record_models import ModelAssignment, RegisteredModel
from nitroplatform.settings import Settings

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


def register_model(db: Session, version: str) -> int:
    """A model in the platform's registry with a card of ``version``; returns its primary key."""
    card = {**CARD, "version": version, "sha256": (version.replace(".", "") * 64)[:64].replace("-", "a")}
    row = RegisteredModel(
        model_id=card["id"],
        version=version,
        sha256=card["sha256"],
        file_name=card["file_name"],
        size_bytes=10,
        card_json=json.dumps(card),
        signature_b64="A" * 88,
        signer_key_b64="A" * 44,
        storage_name=f"m-{version}.pt",
        status="approved",
        uploaded_by="mlops",
    )
    db.add(row)
    db.flush()
    return row.id


def test_registry_model_assignment_change_gates_camera(
    session: Session, filled_record: int, settings: IamaSettings, now: datetime, approve_all: Callable[..., None]
) -> None:
    first = register_model(session, "1.0.0")
    session.add(ModelAssignment(camera_id="cam-1", model_pk=first, assigned_by="mlops"))
    session.flush()
    approve_all(session, filled_record, settings)
    policy = IamaGatePolicy(settings)
    assert policy.is_gated(session, "cam-1", now).gated is False
    assignment = session.get(ModelAssignment, "cam-1")
    assert assignment is not None
    assignment.model_pk = register_model(session, "2.0.0")
    session.flush()
    assert policy.is_gated(session, "cam-1", now).reason == "iama_facts_changed"


@pytest.mark.parametrize(
    ("reported", "expected_gated"),
    [(None, False), ("1.0.0", False), ("9.9.9", True)],
)
def test_heartbeat_reporting_another_model_gates_camera(
    session: Session,
    filled_record: int,
    tmp_path: Path,
    now: datetime,
    approve_all: Callable[..., None],
    reported: str | None,
    expected_gated: bool,
) -> None:
    settings = IamaSettings(model_path=write_model(tmp_path / "v1", "1.0.0"), retention_days=28)
    approve_all(session, filled_record, settings)
    camera = session.get(Camera, "cam-1")
    assert camera is not None
    camera.model_version = reported
    session.flush()
    decision = IamaGatePolicy(settings).is_gated(session, "cam-1", now)
    assert decision.gated is expected_gated, decision
    if expected_gated:
        assert decision.reason == "iama_model_not_assessed"
        record = service.get_record(session=session, record_id=filled_record)
        assert (
            "runs '9.9.9', assessed '1.0.0'"
            in detect_drift(session=session, record=record, settings=settings)[0].summary
        )


def test_platform_loads_this_policy_for_iama_gating(tmp_path: Path) -> None:
    policy = load_gate_policy(Settings(environment="development", data_dir=tmp_path, gating_mode="iama"))
    assert isinstance(policy, IamaGatePolicy)


def test_imported_approval_gates_nothing_until_approved_here(
    session: Session, filled_record: int, settings: IamaSettings, now: datetime, approve_all: Callable[..., None]
) -> None:
    approve_all(session, filled_record, settings)
    exported = export_record(session=session, record_id=filled_record, fmt="json", settings=settings).content
    service.archive(session=session, record_id=filled_record, actor="alice", reason="replaced by the import")
    copy = import_json(session=session, text=exported.decode(), actor="mallory")
    assert copy.status == "approved" and copy.imported_by == "mallory"
    policy = IamaGatePolicy(settings)
    assert policy.is_gated(session, "cam-1", now).reason == "no_approved_iama"
    service.reopen(session=session, record_id=copy.id, actor="alice", reason="adopt the imported assessment")
    approve_all(session, copy.id, settings, now)
    assert policy.is_gated(session, "cam-1", now).gated is False
