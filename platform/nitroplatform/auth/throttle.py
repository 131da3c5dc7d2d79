"""Login rate limiting and brute-force lockout, kept in the database so every worker shares it.

A username with ``login_max_failures_user`` failures inside ``login_window_s`` is locked for
``lockout_s``, and so is a client address with ``login_max_failures_client`` failures (password
spraying over many usernames). A successful login clears that username's failures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from nitroplatform.people.config import PeopleSettings
from nitroplatform.people.models import LoginAttempt
from nitroplatform.people.timeutil import as_utc, utcnow


@dataclass(frozen=True)
class Lockout:
    """Why and for how long a login is refused without checking the password."""

    reason: str
    retry_after_s: int


def _lockout_for(db: Session, *, column: str, value: str, limit: int, policy: PeopleSettings) -> Lockout | None:
    now = utcnow()
    # A lockout lasts lockout_s after the latest failure; failures counted over the window before it.
    horizon = now - timedelta(seconds=policy.login_window_s + policy.lockout_s)
    field = getattr(LoginAttempt, column)
    rows = db.scalars(
        select(LoginAttempt.at).where(field == value, LoginAttempt.at >= horizon).order_by(LoginAttempt.at.desc())
    ).all()
    if len(rows) < limit:
        return None
    times = [as_utc(at) for at in rows]
    latest = times[0]
    in_window = [at for at in times if at >= latest - timedelta(seconds=policy.login_window_s)]
    if len(in_window) < limit:
        return None
    remaining = policy.lockout_s - (now - latest).total_seconds()
    if remaining <= 0:
        return None
    return Lockout(reason=f"too many failed logins for this {column}", retry_after_s=int(remaining) + 1)


def check_lockout(db: Session, *, username: str, client: str, policy: PeopleSettings) -> Lockout | None:
    """The lockout that applies to this username or client, or None if a login may be tried."""
    return _lockout_for(
        db, column="username", value=username, limit=policy.login_max_failures_user, policy=policy
    ) or _lockout_for(db, column="client", value=client, limit=policy.login_max_failures_client, policy=policy)


def record_failure(db: Session, *, username: str, client: str) -> None:
    """Remember one failed login."""
    db.add(LoginAttempt(username=username[:64], client=client[:64], at=utcnow()))
    db.flush()


def clear_failures(db: Session, *, username: str) -> None:
    """Forget a username's failures after a successful login."""
    db.execute(delete(LoginAttempt).where(LoginAttempt.username == username))


def prune_attempts(db: Session, *, policy: PeopleSettings) -> int:
    """Delete attempts too old to matter; returns how many went."""
    horizon = utcnow() - timedelta(seconds=policy.login_window_s + policy.lockout_s)
    result = db.execute(delete(LoginAttempt).where(LoginAttempt.at < horizon))
    return int(getattr(result, "rowcount", 0) or 0)


def failure_count(db: Session, *, username: str) -> int:
    """How many recent failures a username has (for the CLI and tests)."""
    return int(db.scalar(select(func.count()).select_from(LoginAttempt).where(LoginAttempt.username == username)) or 0)
