"""Event figures as officers live them: did balloon use raise an alert, how soon, and how many false alerts.

The input is what the live path alerted on each labelled clip (``new`` alerts and incident lifetimes, in
clip time) and the clip's events (:mod:`training.events`). Pure functions, no video or model code.

- **Event recall.** A positive event is *alerted* when a ``new`` alert falls between its start and its
  end plus ``grace_s``. It is *covered* when it has no ``new`` alert of its own but starts while an incident
  that an earlier event of the same clip alerted is still open: the officer is already on the way, and the
  detector rightly sends no second ``new``. Otherwise it is *missed*. Event recall counts alerted and
  covered events; the strict recall only alerted ones.
- **Time to alert.** From an alerted event's start to its first ``new`` alert; median and 90th percentile.
- **Alerts per event.** ``new`` alerts within an event's window (each alert counts for the first window
  that holds it): an event that alerts twice costs two trips.
- **False alerts per camera-hour.** Every ``new`` alert outside all positive windows is false. The camera
  time they are counted against is the whole length of each negative clip plus the time of each positive
  clip outside its events' windows. The 95 % upper bound is the exact (Garwood) Poisson bound on the count,
  divided by that time: with zero false alerts in ``T`` hours it is ``3.69 / T``.

Everything is also given per look-alike category, per person-height bin and per source.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from training.events import ClipEvent

# Person heights in pixels (as the pose's landmark box measures them): a boulevard camera at 1080p sees most
# people 100-250 px tall.
HEIGHT_BINS: tuple[tuple[float, float], ...] = ((0.0, 100.0), (100.0, 200.0), (200.0, 400.0), (400.0, math.inf))
OUTSIDE_EVENTS = "outside_events"
EventStatus = Literal["alerted", "covered", "missed"]


@dataclass(frozen=True)
class ClipAlerts:
    """What the live path did on one evaluated clip, with what the clip is labelled as.

    Attributes:
        path: The clip's path in its dataset.
        label: The clip's label in ``labels.csv``.
        category: The clip's category in ``labels.csv``.
        group: The source the clip was built from (a source video, or a provenance source).
        length_s: The clip's length.
        events: Its events, sorted by start.
        new_alerts: Clip times of the ``new`` alerts, in order.
        incidents: (opened, ended) clip times of every incident, in order of opening.
    """

    path: str
    label: str
    category: str
    group: str
    length_s: float
    events: tuple[ClipEvent, ...]
    new_alerts: tuple[float, ...]
    incidents: tuple[tuple[float, float], ...]


class EventResult(BaseModel):
    """The outcome of one positive event."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str
    group: str
    category: str
    start_s: float
    end_s: float
    person_height_px: float | None
    status: EventStatus
    time_to_alert_s: float | None
    alerts: int


class FalseAlert(BaseModel):
    """A ``new`` alert outside every positive event."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str
    group: str
    at_s: float
    category: str
    lookalike: str | None
    person_height_px: float | None


def garwood_upper(count: int, confidence: float = 0.95) -> float:
    """The exact two-sided upper confidence bound on a Poisson mean after observing ``count`` events.

    It is the mean ``m`` with ``P(N <= count | m) = (1 - confidence) / 2``, equal to half the chi-square
    quantile with ``2 * (count + 1)`` degrees of freedom (Garwood, 1936). Found by bisection on the Poisson
    distribution function, so no statistics library is needed.
    """
    if count < 0:
        raise ValueError(f"count must be non-negative, got {count}")
    tail = (1.0 - confidence) / 2.0

    def cdf(mean: float) -> float:
        term = total = math.exp(-mean)
        for k in range(1, count + 1):
            term *= mean / k
            total += term
        return total

    low, high = float(count), float(count) + 10.0 * math.sqrt(count + 1.0) + 10.0
    for _ in range(200):
        middle = (low + high) / 2.0
        if cdf(middle) > tail:
            low = middle
        else:
            high = middle
    return (low + high) / 2.0


def height_bin(height_px: float | None) -> str:
    """The name of a person-height bin, ``unknown`` when the height is not known."""
    if height_px is None:
        return "unknown"
    for low, high in HEIGHT_BINS:
        if low <= height_px < high:
            return f"{low:.0f}-{high:.0f}" if math.isfinite(high) else f">={low:.0f}"
    return "unknown"


def _windows(events: Iterable[ClipEvent], grace_s: float, label: str) -> list[tuple[float, float, ClipEvent]]:
    return [(e.start_s, e.end_s + grace_s, e) for e in events if e.label == label]


def _merged_length(spans: Sequence[tuple[float, float]], length_s: float) -> float:
    total, end = 0.0, 0.0
    for start, stop in sorted((max(0.0, a), min(length_s, b)) for a, b in spans):
        if stop <= start:
            continue
        start = max(start, end)
        if stop > start:
            total += stop - start
            end = stop
    return total


def match_clip(clip: ClipAlerts, grace_s: float) -> tuple[list[EventResult], list[FalseAlert], float]:
    """Match one clip's alerts to its events.

    Returns:
        The positive events' outcomes, the false alerts, and the camera time (seconds) the false alerts of
        this clip are counted against.
    """
    positives = _windows(clip.events, grace_s, "positive")
    lookalikes = _windows(clip.events, grace_s, "negative")
    taken: dict[int, list[float]] = {index: [] for index in range(len(positives))}
    false: list[FalseAlert] = []
    for at_s in clip.new_alerts:
        window = next((i for i, (start, stop, _) in enumerate(positives) if start <= at_s <= stop), None)
        if window is not None:
            taken[window].append(at_s)
            continue
        during = next((event for start, stop, event in lookalikes if start <= at_s <= stop), None)
        category = OUTSIDE_EVENTS if clip.label == "positive" else clip.category
        false.append(
            FalseAlert(
                path=clip.path,
                group=clip.group,
                at_s=at_s,
                category=category,
                lookalike=during.category if during is not None else None,
                person_height_px=during.person_height_px if during is not None else None,
            )
        )
    results = []
    alerted_incidents: list[tuple[float, float]] = []
    for index, (start, _, event) in enumerate(positives):
        alerts = taken[index]
        status: EventStatus = "missed"
        if alerts:
            status = "alerted"
            alerted_incidents += [span for span in clip.incidents if span[0] in alerts]
        elif any(opened <= event.start_s < ended for opened, ended in alerted_incidents):
            status = "covered"
        results.append(
            EventResult(
                path=clip.path,
                group=clip.group,
                category=event.category,
                start_s=event.start_s,
                end_s=event.end_s,
                person_height_px=event.person_height_px,
                status=status,
                time_to_alert_s=round(alerts[0] - start, 3) if alerts else None,
                alerts=len(alerts),
            )
        )
    exposure = clip.length_s - _merged_length([(a, b) for a, b, _ in positives], clip.length_s)
    return results, false, max(0.0, exposure)


def _rate(count: int, seconds: float) -> dict[str, float | int]:
    hours = seconds / 3600.0
    return {
        "false_alerts": count,
        "camera_hours": round(hours, 5),
        "per_camera_hour": round(count / hours, 4) if hours > 0 else float("nan"),
        "per_camera_hour_upper95": round(garwood_upper(count) / hours, 4) if hours > 0 else float("nan"),
    }


def _recall(events: Sequence[EventResult]) -> dict[str, Any]:
    alerted = [e for e in events if e.status == "alerted"]
    covered = sum(1 for e in events if e.status == "covered")
    delays = np.asarray([e.time_to_alert_s for e in alerted if e.time_to_alert_s is not None], dtype=np.float64)
    n = len(events)
    return {
        "events": n,
        "alerted": len(alerted),
        "covered": covered,
        "missed": n - len(alerted) - covered,
        "event_recall": round((len(alerted) + covered) / n, 4) if n else float("nan"),
        "event_recall_strict": round(len(alerted) / n, 4) if n else float("nan"),
        "time_to_alert_median_s": round(float(np.median(delays)), 3) if delays.size else float("nan"),
        "time_to_alert_p90_s": round(float(np.percentile(delays, 90)), 3) if delays.size else float("nan"),
        "alerts_per_event": round(sum(e.alerts for e in events) / n, 4) if n else float("nan"),
        "events_alerting_twice_or_more": sum(1 for e in events if e.alerts >= 2),
    }


def summarise(clips: Sequence[ClipAlerts], grace_s: float) -> dict[str, Any]:
    """All event figures over the evaluated clips; see the module docstring."""
    events: list[EventResult] = []
    false: list[FalseAlert] = []
    exposure: dict[str, float] = {}
    lookalike_events: list[ClipEvent] = []
    for clip in clips:
        results, alerts, seconds = match_clip(clip, grace_s)
        events += results
        false += alerts
        key = OUTSIDE_EVENTS if clip.label == "positive" else clip.category
        exposure[key] = exposure.get(key, 0.0) + seconds
        lookalike_events += [e for e in clip.events if e.label == "negative"]
    total = _rate(len(false), sum(exposure.values()))
    by_category = {
        name: _rate(sum(1 for f in false if f.category == name), seconds) for name, seconds in sorted(exposure.items())
    }
    lookalike_names = sorted({e.category for e in lookalike_events})
    during = {
        name: {
            "events": sum(1 for e in lookalike_events if e.category == name),
            "seconds": round(sum(e.duration_s for e in lookalike_events if e.category == name), 2),
            "false_alerts_during": sum(1 for f in false if f.lookalike == name),
        }
        for name in lookalike_names
    }
    bins = [height_bin(low) for low, _ in HEIGHT_BINS] + ["unknown"]
    by_height = []
    for name in bins:
        here = [e for e in events if height_bin(e.person_height_px) == name]
        looks = [e for e in lookalike_events if height_bin(e.person_height_px) == name]
        if here or looks:
            row = {"bin_px": name, **_recall(here)}
            row["lookalike_events"] = len(looks)
            row["false_alerts_during_lookalikes"] = sum(
                1 for f in false if f.lookalike is not None and height_bin(f.person_height_px) == name
            )
            by_height.append(row)
    groups = sorted({c.group for c in clips})
    by_source = {}
    for group in groups:
        here = [e for e in events if e.group == group]
        seconds = sum(match_clip(c, grace_s)[2] for c in clips if c.group == group)
        by_source[group] = {**_recall(here), **_rate(sum(1 for f in false if f.group == group), seconds)}
    return {
        "grace_s": grace_s,
        "clips": len(clips),
        "positive_clips": sum(1 for c in clips if c.label == "positive"),
        "negative_clips": sum(1 for c in clips if c.label == "negative"),
        **_recall(events),
        "negative_camera_hours": total["camera_hours"],
        "negative_camera_minutes": round(sum(exposure.values()) / 60.0, 2),
        "false_alerts": total["false_alerts"],
        "false_alerts_per_camera_hour": total["per_camera_hour"],
        "false_alerts_per_camera_hour_upper95": total["per_camera_hour_upper95"],
        "false_alerts_by_category": by_category,
        "lookalike_events": during,
        "by_height": by_height,
        "by_source": by_source,
        "events_detail": [e.model_dump() for e in events],
        "false_alerts_detail": [f.model_dump() for f in false],
    }
