"""Marks that a transaction changes who may see what: logout, deactivation, roles, teams, areas, tokens.

The code making such a change calls ``mark_access_changed`` in the same session; nothing more. The app's
composition root (``nitroplatform.live.access.AccessAnnouncer``) turns the marks into an ``access`` event on
the live bus once the transaction has committed, and open live streams of those users re-check their
credential and scope before they deliver anything else. A rollback drops the marks.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

ACCESS_CHANGED_KEY = "nitrosignal.access_changed"


def mark_access_changed(db: Session, *, user_ids: Iterable[int]) -> None:
    """Note in ``db`` that these users' access changes when it commits."""
    pending: set[int] = db.info.setdefault(ACCESS_CHANGED_KEY, set())
    pending.update(user_ids)


def pending_access_changes(db: Session) -> frozenset[int]:
    """The users marked in ``db`` and not yet announced."""
    return frozenset(db.info.get(ACCESS_CHANGED_KEY, ()))


def take_access_changes(db: Session) -> frozenset[int]:
    """The users marked in ``db``, forgetting them."""
    return frozenset(db.info.pop(ACCESS_CHANGED_KEY, ()))
