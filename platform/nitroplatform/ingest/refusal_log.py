"""Sampled logging of ingest refusals: every refusal is counted in metrics, but only a bounded number is logged.

A camera sending garbage as fast as it can produced thousands of WARNING lines a second, each as costly as the
refusal itself, and a failing batch wrote a full traceback every time. Here each reason gets at most
``per_reason`` lines per ``interval_s``; what was left out is reported once per interval as one summary line
with the count per reason, so the log still says how much was refused and why.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable


class SampledLog:
    """Log lines keyed by a reason, at most ``per_reason`` per reason per interval, plus a summary of the rest."""

    def __init__(
        self,
        logger: logging.Logger,
        *,
        per_reason: int,
        interval_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Args: logger to write to; per_reason: lines per reason per interval; interval_s: window length."""
        if per_reason < 0 or interval_s <= 0:
            raise ValueError(f"need per_reason >= 0 and interval_s > 0, got {per_reason}, {interval_s}")
        self._logger = logger
        self._per_reason = per_reason
        self._interval_s = interval_s
        self._clock = clock
        self._window_start = clock()
        self._logged: Counter[str] = Counter()
        self._suppressed: Counter[str] = Counter()

    def log(self, level: int, reason: str, message: str, *args: object, exc_info: bool = False) -> bool:
        """Log ``message % args`` unless ``reason`` used up its lines in this window; True when it was written."""
        self.roll()
        if self._logged[reason] >= self._per_reason:
            self._suppressed[reason] += 1
            return False
        self._logged[reason] += 1
        self._logger.log(level, message, *args, exc_info=exc_info)
        return True

    def roll(self) -> None:
        """Close the window when it is over: write the summary of suppressed lines, start a new window."""
        now = self._clock()
        if now - self._window_start < self._interval_s:
            return
        if self._suppressed:
            counts = ", ".join(f"{reason}={count}" for reason, count in sorted(self._suppressed.items()))
            self._logger.warning(
                "%d more refusal lines left out in the last %.0f s (counted in metrics): %s",
                sum(self._suppressed.values()),
                now - self._window_start,
                counts,
            )
        self._window_start = now
        self._logged.clear()
        self._suppressed.clear()
