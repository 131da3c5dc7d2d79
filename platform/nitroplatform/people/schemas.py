"""Pydantic models at the HTTP boundary of the people side: users, teams, areas, shifts, tokens."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from nitroplatform.auth.deps import Role

Username = str


class LoginIn(BaseModel):
    """Credentials for POST /api/v1/auth/login (JSON or form fields of the same names)."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class TeamRef(BaseModel):
    """A team by id and name."""

    id: int
    name: str


class MeOut(BaseModel):
    """Who is signed in."""

    id: int
    username: str
    display_name: str
    roles: list[Role]
    teams: list[TeamRef]
    csrf_token: str | None = Field(
        default=None, description="Send this as X-CSRF-Token on unsafe requests (cookie sessions only)."
    )


class UserIn(BaseModel):
    """A new user."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=2, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    display_name: str = Field(default="", max_length=128)
    password: str | None = Field(
        default=None, min_length=12, max_length=1024, description="None makes a token-only service account."
    )
    roles: list[Role] = Field(min_length=1, max_length=len(Role))


class UserPatch(BaseModel):
    """Changes to a user; omitted fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, max_length=128)
    password: str | None = Field(default=None, min_length=12, max_length=1024)
    roles: list[Role] | None = Field(default=None, min_length=1, max_length=len(Role))
    active: bool | None = None


class UserOut(BaseModel):
    """A user as administrators see it (never the password hash)."""

    id: int
    username: str
    display_name: str
    active: bool
    roles: list[Role]
    team_ids: list[int]
    created_at: datetime


class TokenIn(BaseModel):
    """A new API token."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    scope: Literal["full", "models:fetch"] = "full"
    expires_in_days: int | None = Field(
        default=None, ge=1, le=90, description="Days the token lives; 90 (the most) when neither this nor expires_in_s."
    )
    expires_in_s: int | None = Field(
        default=None, ge=60, le=90 * 86400, description="Seconds the token lives, for a life shorter than a day."
    )

    @model_validator(mode="after")
    def _one_lifetime(self) -> TokenIn:
        if self.expires_in_days is not None and self.expires_in_s is not None:
            raise ValueError("give expires_in_days or expires_in_s, not both")
        return self

    @property
    def lifetime(self) -> timedelta:
        """How long the token lives."""
        if self.expires_in_s is not None:
            return timedelta(seconds=self.expires_in_s)
        return timedelta(days=self.expires_in_days if self.expires_in_days is not None else 90)


class TokenOut(BaseModel):
    """An API token's metadata; ``token`` is filled only in the response that creates it."""

    id: int
    name: str
    prefix: str
    scope: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked: bool
    token: str | None = Field(default=None, description="The secret, shown once.")


class TeamIn(BaseModel):
    """A new team."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    description: str = Field(default="", max_length=256)
    escalate_to_team_id: int | None = None
    escalate_after_s: int = Field(default=120, ge=10, le=24 * 3600)


class TeamPatch(BaseModel):
    """Escalation settings of a team."""

    model_config = ConfigDict(extra="forbid")

    escalate_to_team_id: int | None = None
    escalate_after_s: int = Field(default=120, ge=10, le=24 * 3600)


class TeamOut(BaseModel):
    """A team."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    escalate_to_team_id: int | None
    escalate_after_s: int


class MemberIn(BaseModel):
    """A user to add to a team."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)


class AreaIn(BaseModel):
    """A new area: the cameras a team covers."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    camera_ids: list[Annotated[str, StringConstraints(max_length=64)]] = Field(min_length=1, max_length=1000)


class AreaOut(BaseModel):
    """An area with its cameras."""

    id: int
    team_id: int
    name: str
    camera_ids: list[str]


class ShiftIn(BaseModel):
    """A weekly shift; ``end`` before ``start`` runs over midnight."""

    model_config = ConfigDict(extra="forbid")

    weekdays: list[int] = Field(min_length=1, max_length=7, description="ISO weekdays, 1 = Monday.")
    start: str = Field(max_length=5, pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM local time.")
    end: str = Field(max_length=5, pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM local time.")


class ShiftOut(BaseModel):
    """A shift."""

    id: int
    team_id: int
    weekdays: list[int]
    start: str
    end: str


def hhmm_to_minute(value: str) -> int:
    """``"22:30"`` → 1350."""
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def minute_to_hhmm(value: int) -> str:
    """1350 → ``"22:30"``."""
    return f"{value // 60:02d}:{value % 60:02d}"
