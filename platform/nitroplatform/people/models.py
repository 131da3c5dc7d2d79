"""Identity tables: users, role grants, teams, memberships, areas, shifts, sessions, tokens, login attempts.

Secrets never sit in these tables in the clear: passwords are argon2 hashes, session ids and API tokens
are stored as sha256 digests of high-entropy random values (a digest is enough because the inputs are
256-bit random, unlike passwords).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nitroplatform.db.base import Base
from nitroplatform.db.models import UTCDateTime, utcnow


class User(Base):
    """A person (or a service account for integrations and devices) who can sign in."""

    __tablename__ = "people_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    display_name: Mapped[str] = mapped_column(String(128), nullable=False, default="")
    password_hash: Mapped[str | None] = mapped_column(String(256), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    grants: Mapped[list[RoleGrant]] = relationship(back_populates="user", cascade="all, delete-orphan", lazy="selectin")
    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )


class RoleGrant(Base):
    """One role held by one user; a user may hold several."""

    __tablename__ = "people_role_grants"
    __table_args__ = (UniqueConstraint("user_id", "role", name="uq_people_role_grants_user_role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("people_users.id", ondelete="CASCADE"), nullable=False)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    granted_by: Mapped[str] = mapped_column(String(64), nullable=False, default="")

    user: Mapped[User] = relationship(back_populates="grants")


class Team(Base):
    """A group of officers with areas they cover and shifts they work."""

    __tablename__ = "people_teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    description: Mapped[str] = mapped_column(String(256), nullable=False, default="")
    escalate_to_team_id: Mapped[int | None] = mapped_column(
        ForeignKey("people_teams.id", ondelete="SET NULL"), nullable=True
    )
    escalate_after_s: Mapped[int] = mapped_column(Integer, nullable=False, default=120)


class Membership(Base):
    """A user in a team."""

    __tablename__ = "people_memberships"
    __table_args__ = (UniqueConstraint("team_id", "user_id", name="uq_people_memberships_team_user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("people_teams.id", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("people_users.id", ondelete="CASCADE"), nullable=False)

    user: Mapped[User] = relationship(back_populates="memberships")


class Area(Base):
    """A named set of cameras that a team covers; officers see incidents of these cameras only."""

    __tablename__ = "people_areas"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("people_teams.id", ondelete="CASCADE"), nullable=False)
    name: Mapped[str] = mapped_column(String(64), nullable=False)

    cameras: Mapped[list[AreaCamera]] = relationship(cascade="all, delete-orphan", lazy="selectin")


class AreaCamera(Base):
    """One camera in an area."""

    __tablename__ = "people_area_cameras"
    __table_args__ = (UniqueConstraint("area_id", "camera_id", name="uq_people_area_cameras"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("people_areas.id", ondelete="CASCADE"), nullable=False)
    camera_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)


class Shift(Base):
    """A weekly time window in which a team is on duty (local time of the platform's timezone).

    ``end_minute`` may be smaller than ``start_minute``: the shift then runs over midnight into the
    next day (a Friday 22:00–04:00 shift covers Saturday 00:00–04:00 too).
    """

    __tablename__ = "people_shifts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("people_teams.id", ondelete="CASCADE"), nullable=False)
    weekdays: Mapped[str] = mapped_column(String(32), nullable=False, doc="ISO weekdays 1..7, comma separated")
    start_minute: Mapped[int] = mapped_column(Integer, nullable=False)
    end_minute: Mapped[int] = mapped_column(Integer, nullable=False)


class AuthSession(Base):
    """A server-side login session; the cookie holds the random id, the table only its digest."""

    __tablename__ = "people_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("people_users.id", ondelete="CASCADE"), nullable=False)
    csrf_token: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class ApiToken(Base):
    """A Bearer token for an integration or a device; stored as a sha256 digest."""

    __tablename__ = "people_api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("people_users.id", ondelete="CASCADE"), nullable=False)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    scope: Mapped[str] = mapped_column(String(32), nullable=False, default="full")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class LoginAttempt(Base):
    """A failed login, kept briefly for rate limiting and lockout (per username and per client address)."""

    __tablename__ = "people_login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    client: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
