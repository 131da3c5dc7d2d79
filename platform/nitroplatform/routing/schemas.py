"""HTTP models for routes and silences."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


class RouteIn(BaseModel):
    """Zone and/or camera plus an optional weekly window → team. Both empty makes a catch-all route."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    team_id: int
    camera_id: str | None = Field(default=None, max_length=64)
    zone: str | None = Field(default=None, max_length=64)
    weekdays: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5, 6, 7], min_length=1, max_length=7)
    start: str | None = Field(
        default=None, max_length=5, pattern=HHMM, description="HH:MM local; omit start and end for all day."
    )
    end: str | None = Field(
        default=None, max_length=5, pattern=HHMM, description="HH:MM local; before start runs over midnight."
    )
    priority: int = Field(default=100, ge=0, le=10000, description="Lower wins.")

    @model_validator(mode="after")
    def _window(self) -> RouteIn:
        if (self.start is None) != (self.end is None):
            raise ValueError("give both start and end, or neither")
        if self.start is not None and self.start == self.end:
            raise ValueError("start and end must differ")
        if any(day < 1 or day > 7 for day in self.weekdays):
            raise ValueError("weekdays must be 1..7")
        return self


class RouteOut(BaseModel):
    """A route."""

    id: int
    name: str
    team_id: int
    camera_id: str | None
    zone: str | None
    weekdays: list[int]
    start: str | None
    end: str | None
    priority: int


class SilenceIn(BaseModel):
    """A silence, Alertmanager style: what it matches, until when, and a mandatory comment."""

    model_config = ConfigDict(extra="forbid")

    camera_id: str | None = Field(default=None, max_length=64)
    zone: str | None = Field(default=None, max_length=64)
    starts_at: datetime | None = Field(default=None, description="Default: now.")
    ends_at: datetime
    comment: str = Field(min_length=3, max_length=500, description="Why. Mandatory, like Alertmanager's API.")

    @model_validator(mode="after")
    def _matchers(self) -> SilenceIn:
        if self.camera_id is None and self.zone is None:
            raise ValueError("a silence needs a camera_id, a zone or both")
        if self.ends_at.tzinfo is None or (self.starts_at is not None and self.starts_at.tzinfo is None):
            raise ValueError("times need a timezone offset")
        if self.starts_at is not None and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must lie after starts_at")
        return self


class SilenceOut(BaseModel):
    """A silence with its status."""

    id: int
    camera_id: str | None
    zone: str | None
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    created_at: datetime
    status: Literal["pending", "active", "expired"]
    expired_by: str | None


class SuspendIn(BaseModel):
    """A timed suspend of pages for one camera (a silence with a duration)."""

    model_config = ConfigDict(extra="forbid")

    camera_id: str = Field(min_length=1, max_length=64)
    minutes: int = Field(ge=1, le=24 * 60)
    comment: str = Field(min_length=3, max_length=500)
