"""UTC time helpers shared by the people side.

SQLite hands back naive datetimes even for ``DateTime(timezone=True)`` columns, PostgreSQL hands back
aware ones; comparing the two raises. Every value read from the database goes through ``as_utc``.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Return ``value`` as an aware UTC datetime; a naive value is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
