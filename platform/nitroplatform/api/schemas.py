"""Pydantic models at the HTTP boundary: incidents, cameras and the one error schema."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from nitrosignal.wire.messages import CameraId, ZoneName


class IncidentState(StrEnum):
    """Where an incident is in its life."""

    OPEN = "open"
    CLAIMED = "claimed"
    ARRIVED = "arrived"
    CLOSED = "closed"


class CloseReason(StrEnum):
    """Why an incident was closed."""

    ENDED = "ended"
    EXPIRED = "expired"
    OUTCOME = "outcome"


class CameraStatus(StrEnum):
    """A camera's status as officers and coordinators see it."""

    ACTIVE = "active"
    INACTIVE_SCHEDULE = "inactive_schedule"
    GATED = "gated"
    DEGRADED = "degraded"
    ERROR = "error"
    OFFLINE = "offline"


class IncidentOut(BaseModel):
    """One incident as the API and the live stream show it. No image, no position of any person."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    camera_id: str
    device_incident_id: uuid.UUID = Field(description="The device's id of the event (random, per incident).")
    zone: str | None
    state: IncidentState
    last_phase: str = Field(description="Phase of the latest alert: new, update or end.")
    opened_at: datetime
    updated_at: datetime
    ended_at: datetime | None = Field(description="When the device reported the event over, if it did.")
    closed_at: datetime | None
    close_reason: CloseReason | None
    expires_at: datetime
    confidence: float = Field(description="Confidence of the latest alert.")
    confidence_max: float
    people_involved: str
    model_id: str
    model_version: str
    alert_count: int
    claimed_by: str | None = Field(default=None, description="Username of the officer who claimed it, if any.")
    claimed_at: datetime | None = Field(default=None, description="When an officer claimed it.")
    arrived_at: datetime | None = Field(default=None, description="When the claiming officer reported arrival.")


class IncidentPage(BaseModel):
    """A page of incidents, newest first; pass ``next_before`` as ``before`` to get the next page."""

    items: list[IncidentOut]
    next_before: datetime | None


class CameraIn(BaseModel):
    """Registration of a camera."""

    model_config = ConfigDict(extra="forbid")

    id: CameraId
    public_key: str = Field(min_length=40, max_length=40, description="The camera's CURVE public key, Z85.")
    name: str = Field(default="", max_length=120)
    site: str = Field(default="", max_length=120)
    latitude: float | None = Field(default=None, ge=-90, le=90, description="Where the camera hangs.")
    longitude: float | None = Field(default=None, ge=-180, le=180)
    zones: list[ZoneName] = Field(default_factory=list, max_length=100)
    deployment_id: str | None = Field(default=None, max_length=64)


class CameraOut(BaseModel):
    """A registered camera with its status from heartbeats."""

    id: str
    public_key: str
    name: str
    site: str
    latitude: float | None
    longitude: float | None
    zones: list[str]
    deployment_id: str | None
    created_at: datetime
    status: CameraStatus
    gated: bool
    last_heartbeat_at: datetime | None
    last_state: str | None
    last_reason: str | None
    fps_in: float | None
    fps_processed: float | None
    outbox_depth: int | None
    model_version: str | None


class ErrorBody(BaseModel):
    """What went wrong."""

    code: str = Field(description="Machine-readable error code, e.g. not_found, validation_error.")
    message: str
    details: list[dict[str, Any]] | None = None


class ErrorOut(BaseModel):
    """The one error schema of the API."""

    error: ErrorBody
