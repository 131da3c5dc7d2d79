"""Tables of the path from incident to officer: routes, silences, pages, claims, outcomes, push subscriptions."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from nitroplatform.db.base import Base
from nitroplatform.db.models import UTCDateTime, utcnow


class Route(Base):
    """Zone or camera plus a weekly time window → team. The lowest ``priority`` that matches wins.

    A route with neither camera nor zone matches every incident (a catch-all). A window with
    ``end_minute < start_minute`` runs over midnight; no window at all means always.
    """

    __tablename__ = "people_routes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    team_id: Mapped[int] = mapped_column(ForeignKey("people_teams.id", ondelete="CASCADE"), nullable=False)
    camera_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    zone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    weekdays: Mapped[str] = mapped_column(String(32), nullable=False, default="1,2,3,4,5,6,7")
    start_minute: Mapped[int | None] = mapped_column(Integer, nullable=True)
    end_minute: Mapped[int | None] = mapped_column(Integer, nullable=True)
    priority: Mapped[int] = mapped_column(Integer, nullable=False, default=100)


class Silence(Base):
    """Mutes pages for a camera, a zone or both, with who set it, why, and until when."""

    __tablename__ = "people_silences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    camera_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    zone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)
    comment: Mapped[str] = mapped_column(String(500), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    expired_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Page(Base):
    """One routing decision for an incident: which team was paged (or why the page was held back)."""

    __tablename__ = "people_pages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[uuid.UUID] = mapped_column(Uuid(), nullable=False, index=True)
    camera_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    zone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    team_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    level: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    paged_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    recipients: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    held_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)


class IncidentClaim(Base):
    """The officer handling an incident, and when they claimed, arrived and finished."""

    __tablename__ = "people_incident_claims"

    incident_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("people_users.id", ondelete="CASCADE"), nullable=False)
    camera_id: Mapped[str] = mapped_column(String(64), nullable=False)
    zone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class IncidentOutcome(Base):
    """What the officer found, as categories only (no free text). Model and camera are copied so precision
    survives incident deletion."""

    __tablename__ = "people_incident_outcomes"

    incident_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("people_users.id", ondelete="SET NULL"), nullable=True)
    camera_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    model_id: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    model_version: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    outcome: Mapped[str] = mapped_column(String(32), nullable=False)
    category: Mapped[str | None] = mapped_column(String(32), nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class PushSubscription(Base):
    """A browser push subscription of one officer (endpoint plus its p256dh and auth keys)."""

    __tablename__ = "people_push_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("people_users.id", ondelete="CASCADE"), nullable=False)
    endpoint: Mapped[str] = mapped_column(Text, nullable=False)
    endpoint_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    p256dh: Mapped[str] = mapped_column(String(200), nullable=False)
    auth: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class PushPolicy(Base):
    """Cooldowns set through the API; one row (id 1). Without it the settings' defaults apply."""

    __tablename__ = "people_push_policy"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cooldown_global_s: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    cooldown_camera_s: Mapped[int] = mapped_column(Integer, nullable=False, default=60)
    updated_by: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class CameraCooldown(Base):
    """A per-camera cooldown that overrides the policy's camera cooldown (Frigate's camera ``cooldown``)."""

    __tablename__ = "people_camera_cooldowns"

    camera_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    cooldown_s: Mapped[int] = mapped_column(Integer, nullable=False)
