"""When the detector may look, as configured: weekday and time windows in an IANA timezone.

A window whose end is at or before its start runs overnight: it starts on the listed day and ends the
next morning. :class:`detector.schedule.Schedule` answers whether a moment falls inside.
"""

from __future__ import annotations

import re
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from nitrosignal.strict import StrictModel

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


class ScheduleWindow(StrictModel):
    """One recurring window in which the detector may look."""

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


class ScheduleSettings(StrictModel):
    """When the camera may look. Outside every window no frame is read and the heartbeat says so."""

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
