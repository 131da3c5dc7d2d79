"""When the detector may look: weekday and time windows in local time (Europe/Amsterdam by default).

Outside every window the source is closed and no frame is read at all (DESIGN.md §4.3). Times are
compared in the configured timezone, so a window keeps its local meaning across daylight-saving changes.
A window whose end is at or before its start runs overnight: it starts on the listed day and ends the
next morning.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"^(\d{2}):(\d{2})$")


def parse_clock(text: str) -> int:
    """Minutes since midnight of an ``HH:MM`` clock time (``24:00`` allowed as an end).

    Raises:
        ValueError: if the text is not HH:MM between 00:00 and 24:00.
    """
    match = _CLOCK.match(text)
    if match is None:
        raise ValueError(f"expected a time as HH:MM, got {text!r}")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes != 0):
        raise ValueError(f"expected a time between 00:00 and 24:00, got {text!r}")
    return hours * 60 + minutes


class ScheduleWindow(BaseModel):
    """One recurring window in which the detector may look."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    days: tuple[Weekday, ...] = Field(
        description="Weekdays on which the window starts: mon, tue, wed, thu, fri, sat, sun (at least one)."
    )
    start: str = Field(description="Local start time, HH:MM.")
    end: str = Field(
        description="Local end time, HH:MM (24:00 for midnight). At or before the start: ends the next day."
    )

    @field_validator("days")
    @classmethod
    def _some_days(cls, value: tuple[Weekday, ...]) -> tuple[Weekday, ...]:
        # Checked here rather than with min_length, which would also fire when an item was invalid.
        if not value:
            raise ValueError("list at least one weekday")
        return value

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        parse_clock(value)
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> ScheduleWindow:
        if parse_clock(self.start) == 24 * 60:
            raise ValueError("start may not be 24:00; use 00:00 of the next day")
        return self

    def contains(self, local: datetime) -> bool:
        """Whether a local (timezone-aware) moment falls inside this window."""
        start, end = parse_clock(self.start), parse_clock(self.end)
        minute = local.hour * 60 + local.minute
        today = WEEKDAYS[local.weekday()]
        yesterday = WEEKDAYS[(local.weekday() - 1) % 7]
        if start < end:
            return today in self.days and start <= minute < end
        # Overnight: the evening part belongs to the listed day, the early-morning part to the day after.
        return (today in self.days and minute >= start) or (yesterday in self.days and minute < end)


class ScheduleSettings(BaseModel):
    """When the camera may look. Outside every window no frame is read and the heartbeat says so."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = Field(default="Europe/Amsterdam", description="IANA timezone the windows are written in.")
    windows: tuple[ScheduleWindow, ...] = Field(description="Windows in which the detector may look; at least one.")

    @field_validator("windows")
    @classmethod
    def _some_windows(cls, value: tuple[ScheduleWindow, ...]) -> tuple[ScheduleWindow, ...]:
        if not value:
            raise ValueError("list at least one window; outside every window the detector does not look")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA timezone {value!r}") from exc
        return value

    def is_active(self, now: datetime) -> bool:
        """Whether the detector may look at the aware moment ``now``.

        Raises:
            ValueError: if ``now`` has no timezone.
        """
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        local = now.astimezone(ZoneInfo(self.timezone))
        return any(window.contains(local) for window in self.windows)

    def next_change(self, now: datetime, horizon: timedelta = timedelta(days=8)) -> datetime | None:
        """The first minute boundary after ``now`` at which :meth:`is_active` flips, or None within the horizon."""
        current = self.is_active(now)
        probe = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        end = now + horizon
        while probe <= end:
            if self.is_active(probe) != current:
                return probe
            probe += timedelta(minutes=1)
        return None
