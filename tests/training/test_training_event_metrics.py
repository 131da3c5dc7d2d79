"""Event figures from alerts and events: recall, covered events, time to alert, false alerts per camera-hour."""

from __future__ import annotations

import math

import pytest

from training.event_metrics import ClipAlerts, garwood_upper, height_bin, match_clip, summarise
from training.events import ClipEvent

GRACE = 2.0


def _event(
    start: float, end: float, label: str = "positive", category: str = "balloon_at_mouth", height: float = 300.0
) -> ClipEvent:
    return ClipEvent(path="c.avi", start_s=start, end_s=end, label=label, category=category, person_height_px=height)


def _clip(
    events: list[ClipEvent],
    alerts: list[float],
    *,
    label: str = "positive",
    category: str = "balloon_at_mouth",
    length: float = 20.0,
    incidents: list[tuple[float, float]] | None = None,
    group: str = "video-a",
) -> ClipAlerts:
    spans = incidents if incidents is not None else [(at, at + 9.0) for at in alerts]
    return ClipAlerts("c.avi", label, category, group, length, tuple(events), tuple(alerts), tuple(spans))


@pytest.mark.parametrize(
    ("alerts", "incidents", "statuses", "delays", "per_event", "false"),
    [
        # Alerted 1.5 s after the start; the second event starts while that incident is open: covered.
        ([3.5], None, ["alerted", "covered"], [1.5, None], [1, 0], 0),
        # An alert in the grace after the end still counts; one later is false.
        ([7.9], [(7.9, 9.0)], ["alerted", "missed"], [5.9, None], [1, 0], 0),
        ([8.1], [(8.1, 8.5)], ["missed", "missed"], [None, None], [0, 0], 1),
        # The first event's incident ended before the second started: the second needs its own alert.
        ([3.0], [(3.0, 6.0)], ["alerted", "missed"], [1.0, None], [1, 0], 0),
        ([3.0, 11.0], [(3.0, 6.0), (11.0, 15.0)], ["alerted", "alerted"], [1.0, 1.0], [1, 1], 0),
        # Two alerts within one event cost two trips.
        ([2.5, 4.0], [(2.5, 3.0), (4.0, 12.0)], ["alerted", "covered"], [0.5, None], [2, 0], 0),
        # An alert before the first event is false (nothing was happening yet).
        ([1.0], [(1.0, 1.5)], ["missed", "missed"], [None, None], [0, 0], 1),
        ([], [], ["missed", "missed"], [None, None], [0, 0], 0),
    ],
)
def test_alerts_match_events(
    alerts: list[float],
    incidents: list[tuple[float, float]] | None,
    statuses: list[str],
    delays: list[float | None],
    per_event: list[int],
    false: int,
) -> None:
    clip = _clip([_event(2.0, 6.0), _event(10.0, 14.0)], alerts, incidents=incidents)
    results, false_alerts, exposure = match_clip(clip, GRACE)
    assert [r.status for r in results] == statuses
    assert [r.time_to_alert_s for r in results] == pytest.approx(delays)
    assert [r.alerts for r in results] == per_event
    assert len(false_alerts) == false
    assert all(f.category == "outside_events" for f in false_alerts)
    # 20 s clip less the two windows, each 4 s plus 2 s of grace.
    assert exposure == pytest.approx(8.0)


@pytest.mark.parametrize(
    ("events", "length", "exposure"),
    [
        ([_event(2.0, 6.0)], 20.0, 14.0),
        ([_event(2.0, 6.0), _event(7.0, 9.0)], 20.0, 11.0),  # windows 2-8 and 7-11 overlap: 9 s counted once
        ([_event(15.0, 19.5)], 20.0, 15.0),  # the grace beyond the clip's end is no camera time
    ],
)
def test_camera_time_of_a_positive_clip_leaves_out_its_event_windows(
    events: list[ClipEvent], length: float, exposure: float
) -> None:
    assert match_clip(_clip(events, [], length=length), GRACE)[2] == pytest.approx(exposure)


def test_negative_clip_alerts_are_false_and_named_by_the_look_alike_they_fall_in() -> None:
    cup = _event(2.0, 5.0, "negative", "cup_at_mouth", height=150.0)
    clip = _clip([cup], [4.0, 15.0], label="negative", category="cup_at_mouth")
    results, false_alerts, exposure = match_clip(clip, GRACE)
    assert results == [] and exposure == 20.0
    assert [(f.category, f.lookalike, f.person_height_px) for f in false_alerts] == [
        ("cup_at_mouth", "cup_at_mouth", 150.0),
        ("cup_at_mouth", None, None),
    ]


@pytest.mark.parametrize(
    ("count", "upper"),
    # Two-sided 95 % Garwood bounds, half the chi-square 0.975 quantile with 2(k + 1) degrees of freedom.
    [(0, 3.6889), (1, 5.5716), (2, 7.2247), (5, 11.6683), (10, 18.3904), (50, 65.9186)],
)
def test_garwood_upper_bound(count: int, upper: float) -> None:
    assert garwood_upper(count) == pytest.approx(upper, abs=1e-3)


def test_garwood_refuses_a_negative_count() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        garwood_upper(-1)


@pytest.mark.parametrize(
    ("height", "name"),
    [(None, "unknown"), (50.0, "0-100"), (100.0, "100-200"), (399.9, "200-400"), (400.0, ">=400"), (5000.0, ">=400")],
)
def test_height_bins(height: float | None, name: str) -> None:
    assert height_bin(height) == name


def test_summary_over_clips() -> None:
    clips = [
        _clip([_event(2.0, 6.0, height=80.0)], [3.0], group="video-a"),
        _clip([_event(2.0, 6.0, height=300.0)], [], group="video-b"),
        _clip([], [5.0], label="negative", category="untouched", length=3600.0, group="video-b"),
        _clip([_event(1.0, 4.0, "negative", "phone_at_ear", 300.0)], [], label="negative", category="phone_at_ear"),
    ]
    summary = summarise(clips, GRACE)
    assert (summary["events"], summary["alerted"], summary["missed"]) == (2, 1, 1)
    assert summary["event_recall"] == 0.5 and summary["time_to_alert_median_s"] == 1.0
    assert summary["alerts_per_event"] == 0.5
    # One false alert in one hour of untouched footage plus 14 + 14 + 20 seconds elsewhere.
    hours = (3600.0 + 14.0 + 14.0 + 20.0) / 3600.0
    assert summary["false_alerts"] == 1
    assert summary["false_alerts_per_camera_hour"] == pytest.approx(1 / hours, abs=1e-3)
    assert summary["false_alerts_per_camera_hour_upper95"] == pytest.approx(5.5716 / hours, abs=1e-3)
    assert summary["false_alerts_by_category"]["untouched"]["false_alerts"] == 1
    assert summary["lookalike_events"] == {"phone_at_ear": {"events": 1, "seconds": 3.0, "false_alerts_during": 0}}
    heights = {row["bin_px"]: row for row in summary["by_height"]}
    assert heights["0-100"]["event_recall"] == 1.0 and heights["200-400"]["event_recall"] == 0.0
    assert heights["200-400"]["lookalike_events"] == 1
    assert summary["by_source"]["video-a"]["event_recall"] == 1.0
    assert summary["by_source"]["video-b"]["false_alerts"] == 1


def test_no_alert_at_all_gives_no_time_to_alert() -> None:
    summary = summarise([_clip([_event(2.0, 6.0)], [])], GRACE)
    assert summary["event_recall"] == 0.0 and math.isnan(summary["time_to_alert_median_s"])


def test_the_card_carries_the_event_figures_it_could_measure() -> None:
    from training.pipeline import headline

    clips = summarise([_clip([_event(2.0, 6.0)], [])], GRACE)
    card, fpr = headline({"clip_events": clips})
    assert card["event_recall"] == 0.0 and card["event_positive_events"] == 1.0 and fpr == {}
    assert card["event_false_alerts_per_camera_hour_upper95"] == clips["false_alerts_per_camera_hour_upper95"]
    # No alert, so no time to alert: left off the card rather than written as NaN.
    assert "event_time_to_alert_median_s" not in card and "event_time_to_alert_p90_s" not in card
