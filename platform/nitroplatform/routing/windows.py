"""Weekly time windows (shifts and route windows), including windows that run over midnight."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def parse_weekdays(text: str) -> frozenset[int]:
    """``"1,2,5"`` → {1, 2, 5} (ISO weekdays, 1 = Monday)."""
    days = frozenset(int(part) for part in text.split(",") if part.strip())
    if not days or any(day < 1 or day > 7 for day in days):
        raise ValueError(f"weekdays must be ISO weekdays 1..7, got {text!r}")
    return days


def in_window(*, weekdays: frozenset[int], start_minute: int, end_minute: int, local: datetime) -> bool:
    """True when local time ``local`` falls in the weekly window.

    A window with ``end_minute < start_minute`` starts on one of ``weekdays`` and runs over midnight
    into the next day, so Friday 22:00–04:00 covers Saturday 02:00 but not Friday 02:00.
    """
    minute = local.hour * 60 + local.minute
    today = local.isoweekday()
    yesterday = 7 if today == 1 else today - 1
    if start_minute < end_minute:
        return today in weekdays and start_minute <= minute < end_minute
    return (today in weekdays and minute >= start_minute) or (yesterday in weekdays and minute < end_minute)


def to_local(moment: datetime, timezone: str) -> datetime:
    """An aware datetime in the platform's shift timezone."""
    return moment.astimezone(ZoneInfo(timezone))
