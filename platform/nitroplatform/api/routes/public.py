"""Public transparency, no login: GET /api/v1/public/cameras (JSON) and GET /transparency (HTML).

Administrators and privacy officers fill the per-camera facts with PUT /api/v1/transparency/cameras/{id}
(used when the camera's IAMA deployment does not supply purpose, legal basis or operator).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, Template, select_autoescape
from pydantic import BaseModel, ConfigDict, Field, field_validator

from nitroplatform.api.deps import SessionDep, SettingsDep
from nitroplatform.audit.chain import record
from nitroplatform.auth.deps import AuthUser, Role, require_roles
from nitroplatform.db.models import Camera
from nitroplatform.people.record_models import CameraTransparency
from nitroplatform.people.timeutil import utcnow
from nitroplatform.people.transparency import PublicCamera, public_cameras, safe_summary_url

router = APIRouter(tags=["public"])

TEMPLATES = Path(__file__).resolve().parents[2] / "people" / "templates"
Publisher = Annotated[AuthUser, Depends(require_roles(Role.admin, Role.privacy_officer))]


class TransparencyIn(BaseModel):
    """Public facts about one camera."""

    model_config = ConfigDict(extra="forbid")

    purpose: str = Field(default="", max_length=2000)
    legal_basis: str = Field(default="", max_length=2000)
    operator: str = Field(default="", max_length=128)
    schedule_summary: str = Field(default="", max_length=256, description="e.g. 'Fri–Sat 20:00–04:00'.")
    iama_summary_url: str = Field(
        default="",
        max_length=256,
        description="A path on this site (/iama/public/...) or an absolute https URL; empty for none.",
    )

    @field_validator("iama_summary_url")
    @classmethod
    def _safe_link(cls, value: str) -> str:
        if value and not safe_summary_url(value):
            raise ValueError(
                "must be a path on this site starting with a single '/', or an absolute https:// URL without "
                "credentials, whitespace or backslashes"
            )
        return value


@cache
def _template() -> Template:
    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    return environment.get_template("transparency.html")


@router.get("/api/v1/public/cameras", response_model=list[PublicCamera])
def cameras(db: SessionDep, settings: SettingsDep) -> list[PublicCamera]:
    """Every camera: purpose, legal basis, schedule, whether it looks now, operator, IAMA status, weekly counts.

    Weekly counts cover completed weeks only, from 24 h after they end, with 1 to 4 shown as "<5".
    """
    return public_cameras(db, now=utcnow(), offline_after_s=settings.offline_after_s)


@router.get("/transparency", response_class=HTMLResponse, include_in_schema=True)
def transparency_page(db: SessionDep, settings: SettingsDep) -> HTMLResponse:
    """The public transparency page (Dutch and English)."""
    now = utcnow()
    html = _template().render(
        cameras=public_cameras(db, now=now, offline_after_s=settings.offline_after_s),
        retention_days=settings.retention_days,
        generated_at=now.strftime("%Y-%m-%d %H:%M UTC"),
    )
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


@router.put("/api/v1/transparency/cameras/{camera_id}", response_model=TransparencyIn, tags=["public"])
def set_transparency(camera_id: str, body: TransparencyIn, user: Publisher, db: SessionDep) -> TransparencyIn:
    """Set a camera's public facts."""
    if db.get(Camera, camera_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no camera {camera_id!r}")
    row = db.get(CameraTransparency, camera_id)
    if row is None:
        row = CameraTransparency(camera_id=camera_id)
        db.add(row)
    for field, value in body.model_dump().items():
        setattr(row, field, value)
    record(db, actor=user.username, action="camera.transparency", target_type="camera", target_id=camera_id)
    db.commit()
    return body
