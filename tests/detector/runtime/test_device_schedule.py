"""Schedule windows in Europe/Amsterdam: weekdays, overnight windows, and both daylight-saving changes."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from detector.config import ScheduleSettings, parse_clock
from detector.schedule import Schedule

EVENING = {"windows": [{"days": ["fri", "sat"], "start": "20:00", "end": "22:00"}]}
OVERNIGHT = {"windows": [{"days": ["fri"], "start": "22:00", "end": "04:00"}]}
SPRING = {"windows": [{"days": ["sun"], "start": "01:00", "end": "04:00"}]}


def window(days: list[str], start: str, end: str) -> dict[str, Any]:
    return {"windows": [{"days": days, "start": start, "end": end}]}


ALL_DAY = {"windows": [{"days": ["mon"], "start": "00:00", "end": "24:00"}]}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("schedule", "moment", "expected"),
    [
        # 2026-07-03 is a Friday; CEST = UTC+2
        (EVENING, utc("2026-07-03T18:30"), True),  # 20:30 local
        (EVENING, utc("2026-07-03T20:30"), False),  # 22:30 local
        (EVENING, utc("2026-07-02T18:30"), False),  # Thursday
        # winter: CET = UTC+1, so the same UTC time means a different local time
        (EVENING, utc("2026-01-09T19:30"), True),  # Friday 20:30 local
        (EVENING, utc("2026-01-09T18:30"), False),  # Friday 19:30 local
        # overnight: Friday 22:00 until Saturday 04:00
        (OVERNIGHT, utc("2026-07-03T21:00"), True),  # Friday 23:00
        (OVERNIGHT, utc("2026-07-04T01:30"), True),  # Saturday 03:30 (belongs to Friday's window)
        (OVERNIGHT, utc("2026-07-04T02:30"), False),  # Saturday 04:30
        (OVERNIGHT, utc("2026-07-02T23:30"), False),  # Friday 01:30: Thursday's night is not listed
        (OVERNIGHT, utc("2026-07-04T21:00"), False),  # Saturday 23:00
        # spring forward, Sunday 2026-03-29: 02:00 CET jumps to 03:00 CEST
        (SPRING, utc("2026-03-29T00:30"), True),  # 01:30 CET
        (SPRING, utc("2026-03-29T01:30"), True),  # 03:30 CEST
        (SPRING, utc("2026-03-29T02:30"), False),  # 04:30 CEST
        # fall back, Sunday 2026-10-25: 03:00 CEST falls back to 02:00 CET (02:xx happens twice)
        (SPRING, utc("2026-10-25T00:30"), True),  # 02:30 CEST
        (SPRING, utc("2026-10-25T01:30"), True),  # 02:30 CET, the second time
        (SPRING, utc("2026-10-25T02:30"), True),  # 03:30 CET
        (SPRING, utc("2026-10-25T03:30"), False),  # 04:30 CET
        (ALL_DAY, utc("2026-07-05T22:30"), True),  # Monday 00:30
        (ALL_DAY, utc("2026-07-06T21:59"), True),  # Monday 23:59
        (ALL_DAY, utc("2026-07-06T22:00"), False),  # Tuesday 00:00
        ({"timezone": "UTC", **EVENING}, utc("2026-07-03T20:30"), True),
    ],
)
def test_is_active(schedule: dict[str, Any], moment: datetime, expected: bool) -> None:
    assert Schedule(ScheduleSettings.model_validate(schedule)).is_active(moment) is expected


@pytest.mark.parametrize(
    ("schedule", "expectation"),
    [
        (EVENING, contextlib.nullcontext()),
        ({"windows": []}, pytest.raises(ValidationError, match="at least one window")),
        (window([], "20:00", "22:00"), pytest.raises(ValidationError, match="weekday")),
        (window(["fri"], "24:00", "02:00"), pytest.raises(ValidationError, match="24:00")),
        (window(["fri"], "8:00", "09:00"), pytest.raises(ValidationError, match="HH:MM")),
        ({"timezone": "Mars/Olympus", **EVENING}, pytest.raises(ValidationError, match="unknown IANA timezone")),
    ],
)
def test_schedule_validation(schedule: dict[str, Any], expectation: contextlib.AbstractContextManager[Any]) -> None:
    with expectation:
        ScheduleSettings.model_validate(schedule)


@pytest.mark.parametrize(
    ("text", "expected", "expectation"),
    [
        ("00:00", 0, contextlib.nullcontext()),
        ("23:59", 1439, contextlib.nullcontext()),
        ("24:00", 1440, contextlib.nullcontext()),
        ("24:01", None, pytest.raises(ValueError, match="between")),
        ("12:60", None, pytest.raises(ValueError, match="between")),
        ("noon", None, pytest.raises(ValueError, match="HH:MM")),
    ],
)
def test_parse_clock(text: str, expected: int | None, expectation: contextlib.AbstractContextManager[Any]) -> None:
    with expectation:
        assert parse_clock(text) == expected


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Schedule(ScheduleSettings.model_validate(EVENING)).is_active(datetime(2026, 7, 3, 20, 30))


def test_next_change_finds_the_window_start() -> None:
    schedule = Schedule(ScheduleSettings.model_validate(EVENING))
    assert schedule.next_change(utc("2026-07-03T17:00")) == utc("2026-07-03T18:00")
