"""Temporal confirmation: N of M, minimum duration, cooldowns, lifecycle, and no endless alerts."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from detector.analysis import FrameAnalysis, PersonEvidence
from detector.confirm import IncidentConfirmer, IncidentEvent, point_in_polygon
from detector.settings import ConfirmSettings, ZoneSettings
from nitrosignal.wire.messages import AlertPhase

T0 = datetime(2026, 6, 1, 22, 0, 0, 250000, tzinfo=UTC)
FPS = 10.0
A, B = (0.3, 0.5), (0.7, 0.5)  # two people far apart


def _frame(people: Sequence[tuple[tuple[float, float], float]]) -> FrameAnalysis:
    return FrameAnalysis(
        people=tuple(
            PersonEvidence(local_id=i, hand_mouth_ratio=0.2, balloon_score=s, anchor=a, body_scale=0.05)
            for i, (a, s) in enumerate(people)
        ),
        stage_ms={},
        frame_size=(1280, 720),
    )


def _settings(**changes: Any) -> ConfirmSettings:
    base: dict[str, Any] = dict(
        window_frames=10,
        required_frames=6,
        min_duration_s=0.5,
        alert_threshold=0.6,
        track_cooldown_s=60.0,
        camera_cooldown_s=20.0,
        update_min_interval_s=5.0,
        end_after_quiet_s=3.0,
        expires_after_s=30.0,
        max_incident_s=40.0,
    )
    base.update(changes)
    return ConfirmSettings(**base)


def _run(
    confirmer: IncidentConfirmer, scores: Sequence[Sequence[tuple[tuple[float, float], float]]], start_s: float = 0.0
) -> list[tuple[float, IncidentEvent]]:
    events = []
    for index, people in enumerate(scores):
        at = start_s + index / FPS
        for event in confirmer.update(_frame(people), T0 + timedelta(seconds=at)):
            events.append((at, event))
    return events


def _phases(events: list[tuple[float, IncidentEvent]]) -> list[str]:
    return [event.phase.value for _, event in events]


@pytest.mark.parametrize(
    ("pattern", "settings", "expected_new_at"),
    [
        # 6 positives in a row reach N=6 of M=10 at frame 5 (0.5 s after the first).
        ([0.9] * 8, {}, 0.5),
        # Two of every three positive: the 6th positive is frame 7 (t=0.7 s), 6 of the 8 frames seen.
        ([0.9, 0.9, 0.1] * 10, {}, 0.7),
        # Alternating: at most 5 of any 10 frames, never 6.
        ([0.9, 0.1] * 20, {}, None),
        # Only 5 of every 10 positive: never confirmed.
        ([0.9, 0.9, 0.9, 0.9, 0.9, 0.1, 0.1, 0.1, 0.1, 0.1] * 3, {}, None),
        # Below the threshold: never.
        ([0.59] * 30, {}, None),
        # A longer minimum duration delays the alert until positives span 1.5 s.
        ([0.9] * 30, {"min_duration_s": 1.5, "window_frames": 30}, 1.5),
        # ... and a window too short to span it never confirms.
        ([0.9] * 30, {"min_duration_s": 1.5}, None),
        # N = M = 1 and no duration: the first positive frame alerts.
        ([0.1, 0.9], {"window_frames": 1, "required_frames": 1, "min_duration_s": 0.0}, 0.1),
    ],
)
def test_vision_n_of_m_over_min_duration(
    pattern: list[float], settings: dict[str, Any], expected_new_at: float | None
) -> None:
    confirmer = IncidentConfirmer(_settings(**settings), [])
    events = _run(confirmer, [[(A, s)] for s in pattern])
    new = [at for at, event in events if event.phase is AlertPhase.NEW]
    if expected_new_at is None:
        assert new == []
    else:
        assert new and new[0] == pytest.approx(expected_new_at)


def test_vision_lifecycle_new_update_end_with_expiry() -> None:
    confirmer = IncidentConfirmer(_settings(), [])
    # Person A confirms, later person B joins (update), then both stop: end after the quiet period.
    frames = [[(A, 0.9)]] * 60 + [[(A, 0.9), (B, 0.95)]] * 20 + [[(A, 0.1), (B, 0.1)]] * 40
    events = _run(confirmer, frames)
    assert _phases(events) == ["new", "update", "end"]
    ids = {event.incident_id for _, event in events}
    assert len(ids) == 1 and next(iter(ids)).version == 4
    (t_new, new), (t_update, update), (t_end, end) = events
    assert new.people_involved == 1 and update.people_involved == 2
    assert update.confidence >= new.confidence
    # End comes end_after_quiet_s after the last positive frame (t = 7.9 s).
    assert t_end == pytest.approx(7.9 + 3.0, abs=0.11)
    for at, event in events:
        assert event.occurred_at == (T0 + timedelta(seconds=at)).replace(microsecond=0)
        assert event.expires_at == event.occurred_at + timedelta(seconds=30)
        assert round(event.confidence, 2) == event.confidence


def test_vision_updates_are_rate_limited() -> None:
    confirmer = IncidentConfirmer(_settings(update_min_interval_s=100.0, max_incident_s=300.0), [])
    frames = [[(A, 0.9)]] * 10 + [[(A, 0.9), (B, 0.9)]] * 100
    assert _phases(_run(confirmer, frames)) == ["new"]


def test_vision_standing_person_does_not_alert_forever() -> None:
    """Frigate #3965: endless evidence from one still person gives one capped incident, then cooldown."""
    confirmer = IncidentConfirmer(_settings(max_incident_s=40.0, track_cooldown_s=120.0, camera_cooldown_s=20.0), [])
    events = _run(confirmer, [[(A, 0.9)]] * int(200 * FPS))
    phases = _phases(events)
    assert phases.count("new") == 2  # at ~0.5 s, and again only after the 120 s track cooldown
    first_end = next(at for at, e in events if e.phase is AlertPhase.END)
    assert first_end == pytest.approx(0.5 + 40.0, abs=0.11)
    second_new = [at for at, e in events if e.phase is AlertPhase.NEW][1]
    assert second_new >= first_end + 120.0
    # Between them no message at all, and every incident is closed by an end or still open.
    between = [p for at, e in events for p in [e.phase] if first_end < at < second_new]
    assert between == []


def test_vision_camera_cooldown_blocks_another_person() -> None:
    confirmer = IncidentConfirmer(_settings(camera_cooldown_s=20.0), [])
    # A confirms and stops; right after the end, B starts: blocked until the camera cooldown ends.
    frames = [[(A, 0.9)]] * 10 + [[(A, 0.1)]] * 35 + [[(B, 0.9)]] * 300
    events = _run(confirmer, frames)
    assert _phases(events)[:3] == ["new", "end", "new"]
    t_end, t_second = events[1][0], events[2][0]
    assert t_second - t_end >= 20.0


def test_vision_track_cooldown_survives_a_lost_track() -> None:
    """A person who vanishes briefly and reappears on the same spot is still cooling down."""
    confirmer = IncidentConfirmer(_settings(track_cooldown_s=60.0, camera_cooldown_s=0.0, track_max_gap_s=1.0), [])
    frames = [[(A, 0.9)]] * 10 + [[(A, 0.1)]] * 35 + [[]] * 30 + [[(A, 0.9)]] * 700
    events = _run(confirmer, frames)
    news = [at for at, e in events if e.phase is AlertPhase.NEW]
    assert len(news) == 2 and news[1] >= events[1][0] + 60.0


def test_vision_close_all_ends_an_open_incident() -> None:
    confirmer = IncidentConfirmer(_settings(), [])
    _run(confirmer, [[(A, 0.9)]] * 10)
    assert confirmer.incident_open
    ended = confirmer.close_all(T0 + timedelta(seconds=5))
    assert [e.phase for e in ended] == [AlertPhase.END] and not confirmer.incident_open
    assert confirmer.close_all(T0 + timedelta(seconds=6)) == []


@pytest.mark.parametrize(
    ("anchor", "expected_zone"),
    [((0.2, 0.2), "square"), ((0.8, 0.8), "corner"), ((0.5, 0.9), None)],
)
def test_vision_incident_takes_the_zone_of_the_person(anchor: tuple[float, float], expected_zone: str | None) -> None:
    zones = [
        ZoneSettings(name="square", polygon=[(0.0, 0.0), (0.4, 0.0), (0.4, 0.4), (0.0, 0.4)]),
        ZoneSettings(name="corner", polygon=[(1.0, 1.0), (0.6, 1.0), (1.0, 0.6)]),
    ]
    events = _run(IncidentConfirmer(_settings(), zones), [[(anchor, 0.9)]] * 10)
    assert events and events[0][1].zone == expected_zone


@pytest.mark.parametrize(
    ("point", "expected"),
    [((0.5, 0.25), True), ((0.25, 0.5), False), ((1.5, 0.5), False), ((0.9, 0.1), True)],
)
def test_vision_point_in_polygon(point: tuple[float, float], expected: bool) -> None:
    # The triangle below the diagonal of the unit square.
    assert point_in_polygon(point, [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0)]) is expected


@pytest.mark.parametrize(
    ("changes", "expectation"),
    [
        ({}, contextlib.nullcontext()),
        ({"required_frames": 11}, pytest.raises(ValueError, match=r"required_frames \(N=11\) must not exceed")),
        ({"end_after_quiet_s": 40.0}, pytest.raises(ValueError, match="must exceed end_after_quiet_s")),
        ({"wndow_frames": 3}, pytest.raises(ValueError, match="Extra inputs are not permitted")),
    ],
)
def test_vision_confirm_settings_are_strict(changes: dict[str, Any], expectation: Any) -> None:
    with expectation:
        _settings(**changes)


@pytest.mark.parametrize(
    ("polygon", "expectation"),
    [
        ([(0.0, 0.0), (1.0, 0.0), (1.0, 1.0)], contextlib.nullcontext()),
        ([(0.0, 0.0), (1.0, 0.0)], pytest.raises(ValueError, match="at least 3")),
        ([(0.0, 0.0), (1.2, 0.0), (1.0, 1.0)], pytest.raises(ValueError, match=r"point 1 must be normalised")),
    ],
)
def test_vision_zone_polygons_are_normalised(polygon: list[tuple[float, float]], expectation: Any) -> None:
    with expectation:
        ZoneSettings(name="zone-a", polygon=polygon)


def test_vision_threshold_comes_from_the_card_when_unset() -> None:
    assert IncidentConfirmer(_settings(alert_threshold=None), [], model_threshold=0.7).threshold == 0.7
    with pytest.raises(ValueError, match="no alert threshold"):
        IncidentConfirmer(_settings(alert_threshold=None), [])
