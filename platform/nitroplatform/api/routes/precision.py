"""Field precision per model version and camera: GET /api/v1/precision (ML engineers, privacy officers)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from nitroplatform.api.deps import SessionDep
from nitroplatform.auth.deps import AuthUser, Role, require_roles
from nitroplatform.precision import PrecisionRow, field_precision

router = APIRouter(prefix="/api/v1/precision", tags=["precision"])

Analyst = Annotated[
    AuthUser, Depends(require_roles(Role.ml_engineer, Role.privacy_officer, Role.coordinator, Role.admin))
]


@router.get("", response_model=list[PrecisionRow])
def precision(
    _user: Analyst,
    db: SessionDep,
    since: datetime | None = Query(None, description="Only outcomes recorded since (leaves out aggregates)."),
    camera_id: str | None = Query(None, max_length=64),
) -> list[PrecisionRow]:
    """Outcome counts and precision = confirmed / (confirmed + false alarms) per model version and camera."""
    return field_precision(db, since=since, camera_ids={camera_id} if camera_id else None)
