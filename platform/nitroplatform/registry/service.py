"""Model registry operations. Four eyes: the uploader (ml_engineer) can never approve their own upload.

Files are stored content-addressed as ``<data_dir>/models/<sha256>.model``; the sha256 must equal the
card's, and the card's signature must verify against a trusted key before anything is stored.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from nitroplatform.api.errors import ConflictError, NotFoundError
from nitroplatform.audit.chain import record
from nitroplatform.db.models import Camera
from nitroplatform.people.record_models import ModelAssignment, RegisteredModel
from nitroplatform.people.timeutil import utcnow
from nitroplatform.registry.signing import SignatureError, raw_public, verify_signature
from nitrosignal.modelcard import ModelCard


class ModelRejectedError(ValueError):
    """The upload is inconsistent: bad card, wrong hash or bad signature."""


class SelfApprovalError(ConflictError):
    """The uploader tried to approve their own model."""

    status_code = 403
    code = "forbidden"


@dataclass(frozen=True)
class Upload:
    """The three parts of an upload."""

    model_bytes: bytes
    card_json: bytes
    signature: bytes


def models_dir(data_dir: Path) -> Path:
    """Where model files are stored."""
    return data_dir / "models"


def stored_path(data_dir: Path, row: RegisteredModel) -> Path:
    """The stored file of a registered model."""
    return models_dir(data_dir) / row.storage_name


def upload_model(
    db: Session, *, upload: Upload, uploader: str, data_dir: Path, trusted: Sequence[Ed25519PublicKey]
) -> RegisteredModel:
    """Check and store an upload as a pending model; caller commits."""
    try:
        card = ModelCard.model_validate_json(upload.card_json)
    except ValidationError as error:
        raise ModelRejectedError(
            f"the model card is invalid: {error.error_count()} error(s), first: {error.errors()[0]['msg']}"
        ) from error
    actual = hashlib.sha256(upload.model_bytes).hexdigest()
    if actual != card.sha256:
        raise ModelRejectedError(f"model file sha256 {actual} does not match the card's {card.sha256}")
    try:
        key = verify_signature(card, upload.signature, trusted)
    except SignatureError as error:
        raise ModelRejectedError(str(error)) from error
    existing = db.scalar(
        select(RegisteredModel.id).where(RegisteredModel.model_id == card.id, RegisteredModel.version == card.version)
    )
    if existing is not None:
        raise ConflictError(f"model {card.id} version {card.version} is already registered")
    folder = models_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True, mode=0o750)
    storage_name = f"{card.sha256}.model"
    target = folder / storage_name
    if not target.exists():
        temporary = folder / f".{storage_name}.{os.getpid()}.tmp"
        temporary.write_bytes(upload.model_bytes)
        os.chmod(temporary, 0o640)
        os.replace(temporary, target)
    row = RegisteredModel(
        model_id=card.id,
        version=card.version,
        sha256=card.sha256,
        file_name=Path(card.file_name).name,
        size_bytes=len(upload.model_bytes),
        card_json=card.canonical_json().decode(),
        signature_b64=base64.b64encode(base64.b64decode(upload.signature.strip())).decode(),
        signer_key_b64=raw_public(key),
        storage_name=storage_name,
        status="pending",
        uploaded_by=uploader,
        uploaded_at=utcnow(),
    )
    db.add(row)
    db.flush()
    record(
        db,
        actor=uploader,
        action="model.upload",
        target_type="model",
        target_id=row.id,
        detail={"model_id": card.id, "version": card.version, "sha256": card.sha256},
    )
    return row


def get_model(db: Session, *, model_pk: int) -> RegisteredModel:
    """A registered model by its registry id."""
    row = db.get(RegisteredModel, model_pk)
    if row is None:
        raise NotFoundError(f"no model {model_pk}")
    return row


def approve_model(db: Session, *, model_pk: int, approver: str) -> RegisteredModel:
    """Approve a pending model; the approver must not be the uploader. Caller checks the approver's role."""
    row = get_model(db, model_pk=model_pk)
    if row.uploaded_by == approver:
        raise SelfApprovalError("a model must be approved by someone other than who uploaded it")
    if row.status != "pending":
        raise ConflictError(f"model {model_pk} is {row.status}, not pending")
    row.status = "approved"
    row.approved_by = approver
    row.approved_at = utcnow()
    db.flush()
    record(
        db,
        actor=approver,
        action="model.approve",
        target_type="model",
        target_id=row.id,
        detail={"model_id": row.model_id, "version": row.version, "uploaded_by": row.uploaded_by},
    )
    return row


def reject_model(db: Session, *, model_pk: int, actor: str) -> RegisteredModel:
    """Reject a pending model (it can never be assigned)."""
    row = get_model(db, model_pk=model_pk)
    if row.status != "pending":
        raise ConflictError(f"model {model_pk} is {row.status}, not pending")
    row.status = "rejected"
    db.flush()
    record(db, actor=actor, action="model.reject", target_type="model", target_id=row.id)
    return row


def assign_model(db: Session, *, model_pk: int, camera_ids: Sequence[str], actor: str) -> list[ModelAssignment]:
    """Assign an approved model to cameras (replacing their previous assignment)."""
    row = get_model(db, model_pk=model_pk)
    if row.status != "approved":
        raise ConflictError(f"only approved models can be assigned; model {model_pk} is {row.status}")
    assignments = []
    for camera_id in sorted(set(camera_ids)):
        if db.get(Camera, camera_id) is None:
            raise NotFoundError(f"no camera {camera_id!r}")
        assignment = db.get(ModelAssignment, camera_id)
        if assignment is None:
            assignment = ModelAssignment(camera_id=camera_id, model_pk=row.id, assigned_by=actor, assigned_at=utcnow())
            db.add(assignment)
        else:
            assignment.model_pk = row.id
            assignment.assigned_by = actor
            assignment.assigned_at = utcnow()
        assignments.append(assignment)
        record(
            db,
            actor=actor,
            action="model.assign",
            target_type="camera",
            target_id=camera_id,
            detail={"model_pk": row.id, "model_id": row.model_id, "version": row.version},
        )
    db.flush()
    return assignments
