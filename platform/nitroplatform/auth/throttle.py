"""Login throttling with growing delays, kept in the database so every worker shares it.

Failed logins are counted per (client address, username) and per client address, over ``login_window_s``.
After ``login_free_failures`` failures of one pair, the next attempt of that pair must wait
``login_delay_base_s``, then twice as long after each further failure, up to ``login_delay_max_s``; the same
holds per client after ``login_free_failures_client`` failures over any usernames (password spraying). While a
delay runs, a login is answered 429 with ``Retry-After`` and the password is not checked.

There is no lockout of a username as such: an attacker without the password slows down only the pairs and the
client address they fail from, never the real user on another address. That needs the real client address,
which the platform takes from ``X-Forwarded-For`` only when the request came from a trusted proxy
(``NITROSIGNAL_TRUSTED_PROXIES``); behind an untrusted proxy every client shares the proxy's address.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from nitroplatform.people.config import PeopleSettings
from nitroplatform.people.models import LoginAttempt
from nitroplatform.people.timeutil import as_utc, utcnow


@dataclass(frozen=True)
class Delay:
    """Why, and for how much longer, a login is answered without checking the password."""

    reason: str
    retry_after_s: int


def delay_after(failures: int, *, free: int, base_s: float, max_s: float) -> float:
    """The wait after the latest of ``failures`` failures: none while ``free`` remain, then doubling up to ``max_s``."""
    if failures < free:
        return 0.0
    return float(min(base_s * 2 ** min(failures - free, 64), max_s))


def _remaining(db: Session, conditions: Sequence[Any], *, free: int, policy: PeopleSettings, now: datetime) -> float:
    count, latest = db.execute(select(func.count(), func.max(LoginAttempt.at)).where(*conditions)).one()
    wait = delay_after(int(count), free=free, base_s=policy.login_delay_base_s, max_s=policy.login_delay_max_s)
    if wait <= 0 or latest is None:
        return 0.0
    return wait - (now - as_utc(latest)).total_seconds()


def check_delay(db: Session, *, username: str, client: str, policy: PeopleSettings) -> Delay | None:
    """The delay that still runs for this client and username, or None when a login may be tried now."""
    now = utcnow()
    recent = [LoginAttempt.client == client[:64], LoginAttempt.at >= now - timedelta(seconds=policy.login_window_s)]
    pair_left = _remaining(
        db, [*recent, LoginAttempt.username == username[:64]], free=policy.login_free_failures, policy=policy, now=now
    )
    client_left = _remaining(db, recent, free=policy.login_free_failures_client, policy=policy, now=now)
    remaining = max(pair_left, client_left)
    if remaining <= 0:
        return None
    reason = "too many failed logins from this address" if client_left > pair_left else "too many failed logins"
    return Delay(reason=reason, retry_after_s=math.ceil(remaining))


def record_failure(db: Session, *, username: str, client: str) -> None:
    """Remember one failed login."""
    db.add(LoginAttempt(username=username[:64], client=client[:64], at=utcnow()))
    db.flush()


def clear_failures(db: Session, *, username: str, client: str) -> None:
    """Forget this client's failures for ``username`` after it logged in with the right password.

    Other clients' failures stay: the real user logging in must not reset an attacker's delays elsewhere.
    """
    db.execute(delete(LoginAttempt).where(LoginAttempt.username == username[:64], LoginAttempt.client == client[:64]))


def prune_attempts(db: Session, *, policy: PeopleSettings) -> int:
    """Delete attempts too old to matter; returns how many went."""
    horizon = utcnow() - timedelta(seconds=policy.login_window_s)
    result = db.execute(delete(LoginAttempt).where(LoginAttempt.at < horizon))
    return int(getattr(result, "rowcount", 0) or 0)


def failure_count(db: Session, *, username: str) -> int:
    """How many recent failures a username has, from any client (for the CLI and tests)."""
    return int(db.scalar(select(func.count()).select_from(LoginAttempt).where(LoginAttempt.username == username)) or 0)
