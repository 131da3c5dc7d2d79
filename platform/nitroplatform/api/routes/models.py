"""The model registry: /api/v1/models.

Upload (ml_engineer) → approve by a different person (privacy_officer or admin) → assign to cameras
(ml_engineer, admin) → devices download file, card and signature with a ``models:fetch`` token and
verify the signature themselves as well.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, HTTPException, UploadFile, status
from fastapi.responses import FileResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import select

from nitroplatform.api.deps import SessionDep, SettingsDep
from nitroplatform.auth.deps import AuthUser, ModelFetcher, Role, require_roles
from nitroplatform.people.api_deps import PeopleSettingsDep, domain_errors
from nitroplatform.people.record_models import ModelAssignment, RegisteredModel
from nitroplatform.registry import service
from nitroplatform.registry.signing import load_trusted_keys

router = APIRouter(prefix="/api/v1/models", tags=["models"])

Uploader = Annotated[AuthUser, Depends(require_roles(Role.ml_engineer))]
Approver = Annotated[AuthUser, Depends(require_roles(Role.privacy_officer, Role.admin))]
Assigner = Annotated[AuthUser, Depends(require_roles(Role.ml_engineer, Role.admin))]
Reader = Annotated[AuthUser, Depends(require_roles(Role.ml_engineer, Role.privacy_officer, Role.admin, Role.auditor))]


class ModelOut(BaseModel):
    """A registered model."""

    id: int
    model_id: str
    version: str
    sha256: str
    file_name: str
    size_bytes: int
    status: str
    uploaded_by: str
    approved_by: str | None
    card: dict[str, Any]


class AssignIn(BaseModel):
    """Cameras that should run this model."""

    model_config = ConfigDict(extra="forbid")

    camera_ids: list[Annotated[str, StringConstraints(max_length=64)]] = Field(min_length=1, max_length=1000)


class AssignmentOut(BaseModel):
    """Which model a camera should run."""

    camera_id: str
    model: ModelOut


def _out(row: RegisteredModel) -> ModelOut:
    return ModelOut(
        id=row.id,
        model_id=row.model_id,
        version=row.version,
        sha256=row.sha256,
        file_name=row.file_name,
        size_bytes=row.size_bytes,
        status=row.status,
        uploaded_by=row.uploaded_by,
        approved_by=row.approved_by,
        card=json.loads(row.card_json),
    )


async def _read_capped(upload: UploadFile, limit: int, what: str) -> bytes:
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, detail=f"{what} is larger than {limit} bytes")
    return data


@router.get("", response_model=list[ModelOut])
def list_models(_user: Reader, db: SessionDep) -> list[ModelOut]:
    """All registered models, newest first."""
    return [_out(row) for row in db.scalars(select(RegisteredModel).order_by(RegisteredModel.id.desc()))]


@router.post("", response_model=ModelOut, status_code=status.HTTP_201_CREATED)
async def upload(
    user: Uploader,
    db: SessionDep,
    settings: SettingsDep,
    policy: PeopleSettingsDep,
    file: UploadFile = File(description="The model file (TorchScript)."),
    card: UploadFile = File(description="The model card JSON (<model>.card.json)."),
    signature: UploadFile = File(description="base64 Ed25519 signature of the card (<model>.sig)."),
) -> ModelOut:
    """Upload a model with its card and signature; refused unless hash and signature check out."""
    parts = service.Upload(
        model_bytes=await _read_capped(file, policy.model_max_bytes, "the model file"),
        card_json=await _read_capped(card, 256 * 1024, "the card"),
        signature=await _read_capped(signature, 1024, "the signature"),
    )
    with domain_errors():
        row = service.upload_model(
            db,
            upload=parts,
            uploader=user.username,
            data_dir=settings.data_dir,
            trusted=load_trusted_keys(policy.trusted_model_keys),
        )
    db.commit()
    return _out(row)


@router.get("/assignments", response_model=list[AssignmentOut])
def list_assignments(_user: Reader, db: SessionDep) -> list[AssignmentOut]:
    """Every camera's assigned model."""
    rows = db.execute(
        select(ModelAssignment, RegisteredModel).join(RegisteredModel, RegisteredModel.id == ModelAssignment.model_pk)
    ).all()
    return [AssignmentOut(camera_id=assignment.camera_id, model=_out(model)) for assignment, model in rows]


@router.get("/assigned/{camera_id}", response_model=ModelOut)
def assigned_to(camera_id: str, _fetcher: ModelFetcher, db: SessionDep) -> ModelOut:
    """The approved model a camera should run (for devices)."""
    assignment = db.get(ModelAssignment, camera_id)
    if assignment is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no model assigned to {camera_id!r}")
    with domain_errors():
        return _out(service.get_model(db, model_pk=assignment.model_pk))


@router.get("/{model_pk}", response_model=ModelOut)
def get_model(model_pk: int, _user: Reader, db: SessionDep) -> ModelOut:
    """One registered model."""
    with domain_errors():
        return _out(service.get_model(db, model_pk=model_pk))


@router.post("/{model_pk}/approve", response_model=ModelOut)
def approve(model_pk: int, user: Approver, db: SessionDep) -> ModelOut:
    """Approve a pending model. The uploader can never approve their own model (403)."""
    with domain_errors():
        row = service.approve_model(db, model_pk=model_pk, approver=user.username)
    db.commit()
    return _out(row)


@router.post("/{model_pk}/reject", response_model=ModelOut)
def reject(model_pk: int, user: Approver, db: SessionDep) -> ModelOut:
    """Reject a pending model."""
    with domain_errors():
        row = service.reject_model(db, model_pk=model_pk, actor=user.username)
    db.commit()
    return _out(row)


@router.post("/{model_pk}/assign", response_model=list[str])
def assign(model_pk: int, body: AssignIn, user: Assigner, db: SessionDep) -> list[str]:
    """Assign an approved model to cameras; returns the camera ids."""
    with domain_errors():
        rows = service.assign_model(db, model_pk=model_pk, camera_ids=body.camera_ids, actor=user.username)
    db.commit()
    return [row.camera_id for row in rows]


def _fetchable(db: SessionDep, model_pk: int, fetcher: AuthUser) -> RegisteredModel:
    with domain_errors():
        row = service.get_model(db, model_pk=model_pk)
    # Devices only ever get approved models; staff may inspect pending ones before approving.
    if row.status != "approved" and (fetcher.via == "token" and fetcher.token_scope == "models:fetch"):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no approved model {model_pk}")
    if row.status == "rejected":
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"model {model_pk} was rejected")
    return row


@router.get("/{model_pk}/file", response_class=FileResponse)
def model_file(model_pk: int, fetcher: ModelFetcher, db: SessionDep, settings: SettingsDep) -> FileResponse:
    """The model file; check its sha256 against the card and the card's signature before loading it."""
    row = _fetchable(db, model_pk, fetcher)
    path = service.stored_path(settings.data_dir, row)
    if not path.is_file():
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail="the stored model file is missing")
    return FileResponse(
        path, media_type="application/octet-stream", filename=row.file_name, headers={"X-Model-Sha256": row.sha256}
    )


@router.get("/{model_pk}/card")
def model_card(model_pk: int, fetcher: ModelFetcher, db: SessionDep) -> PlainTextResponse:
    """The model card exactly as signed (canonical JSON)."""
    row = _fetchable(db, model_pk, fetcher)
    return PlainTextResponse(row.card_json, media_type="application/json")


@router.get("/{model_pk}/signature")
def model_signature(model_pk: int, fetcher: ModelFetcher, db: SessionDep) -> PlainTextResponse:
    """base64 Ed25519 signature over the card."""
    row = _fetchable(db, model_pk, fetcher)
    return PlainTextResponse(row.signature_b64 + "\n")
