"""When the detector may look: weekday and time windows in local time (Europe/Amsterdam by default).

Outside every window the source is closed and no frame is read at all (DESIGN.md §4.3). Times are
compared in the configured timezone, so a window keeps its local meaning across daylight-saving changes.
A window whose end is at or before its start runs overnight: it starts on the listed day and ends the
next morning. The windows are configured with :class:`~detector.config.schedule.ScheduleSettings`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from detector.config.schedule import WEEKDAYS, ScheduleSettings, ScheduleWindow, Weekday, parse_clock


@dataclass(frozen=True)
class _Window:
    """One window with its clock times parsed: minutes since midnight."""

    days: frozenset[Weekday]
    start: int
    end: int

    @classmethod
    def of(cls, window: ScheduleWindow) -> _Window:
        return cls(frozenset(window.days), parse_clock(window.start), parse_clock(window.end))

    def contains(self, local: datetime) -> bool:
        """Whether a local (timezone-aware) moment falls inside this window."""
        minute = local.hour * 60 + local.minute
        today = WEEKDAYS[local.weekday()]
        yesterday = WEEKDAYS[(local.weekday() - 1) % 7]
        if self.start < self.end:
            return today in self.days and self.start <= minute < self.end
        # Overnight: the evening part belongs to the listed day, the early-morning part to the day after.
        return (today in self.days and minute >= self.start) or (yesterday in self.days and minute < self.end)


class Schedule:
    """A camera's schedule, ready to ask: may the detector look now, and when does that change?"""

    def __init__(self, settings: ScheduleSettings) -> None:
        self.settings = settings
        self._zone = ZoneInfo(settings.timezone)
        self._windows = tuple(_Window.of(window) for window in settings.windows)

    def is_active(self, now: datetime) -> bool:
        """Whether the detector may look at the aware moment ``now``.

        Raises:
            ValueError: if ``now`` has no timezone.
        """
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        local = now.astimezone(self._zone)
        return any(window.contains(local) for window in self._windows)

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
