"""The classifier cadence: fewer classifier runs, the same confirmation decisions.

Scripted scenes run twice through the real IncidentConfirmer: once with every gated person classified on
every frame (the pipeline without a cadence), once through ClassifierCadence, which classifies a person when
they reach the gate and then every k-th frame, carrying the last score in between. The events must be the
same (phase, people, order), each at most k - 1 frames later, with far fewer classifier runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from detector.analysis import FrameAnalysis, PersonEvidence
from detector.confirm import IncidentConfirmer
from detector.evidence.cadence import ClassifierCadence
from detector.settings import ConfirmSettings
from detector.tracking import Observation

FPS = 10.0
SETTINGS = ConfirmSettings()
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Person:
    """Where a person stands, and per frame: hand near the mouth? their true balloon score?"""

    anchor: tuple[float, float]
    gated: tuple[bool, ...]
    score: tuple[float, ...]


def _span(frames: int, *parts: tuple[int, int, float]) -> tuple[tuple[bool, ...], tuple[float, ...]]:
    """Per-frame gate and score from (start, end, score) parts; outside every part the hand is down."""
    gated, score = [False] * frames, [0.0] * frames
    for start, end, value in parts:
        for frame in range(start, end):
            gated[frame], score[frame] = True, value
    return tuple(gated), tuple(score)


def _person(x: float, frames: int, *parts: tuple[int, int, float]) -> Person:
    gated, score = _span(frames, *parts)
    return Person((x, 0.5), gated, score)


SCENES = {
    # A balloon at the lips for 3 s: one alert, which ends once the hand comes down.
    "balloon": (_person(0.3, 200, (10, 40, 0.9)),),
    # Drinking: the hand at the mouth for 8 s, never a balloon.
    "drinking": (_person(0.3, 200, (5, 85, 0.2)),),
    # A balloon for half a second: too short to confirm.
    "brief": (_person(0.3, 120, (10, 15, 0.95)),),
    # The hand goes up with nothing, then comes back with a balloon: classified afresh at once.
    "hand_returns": (_person(0.3, 200, (5, 20, 0.1), (30, 70, 0.9)),),
    # The balloon appears while the hand stays at the mouth.
    "balloon_appears": (_person(0.3, 200, (5, 20, 0.1), (20, 60, 0.9)),),
    # Two people, one after the other: one incident with two people.
    "two_people": (_person(0.2, 220, (10, 60, 0.9)), _person(0.7, 220, (30, 90, 0.85))),
    # A crowd of four at the gate, one of them with a balloon.
    "crowd": (
        _person(0.1, 200, (0, 120, 0.05)),
        _person(0.35, 200, (0, 120, 0.9)),
        _person(0.6, 200, (0, 120, 0.3)),
        _person(0.85, 200, (0, 120, 0.1)),
    ),
}


def _run(scene: tuple[Person, ...], every: int) -> tuple[list[tuple[str, int, int]], int]:
    """Events as (phase, people, frame) and the number of crops classified."""
    confirmer = IncidentConfirmer(SETTINGS, (), model_threshold=0.66)
    cadence = ClassifierCadence(every, SETTINGS.track_match_ratio, SETTINGS.track_max_gap_s)
    events: list[tuple[str, int, int]] = []
    classified = 0
    for frame in range(len(scene[0].gated)):
        now_s = frame / FPS
        observations = [Observation(p.anchor, 0.05) for p in scene]
        gated = [i for i, p in enumerate(scene) if p.gated[frame]]
        plan = cadence.plan(observations, gated, now_s)
        cadence.record(plan, [scene[i].score[frame] for i in plan.classify])
        classified += len(plan.classify)
        scores = {i: scene[i].score[frame] for i in plan.classify} | plan.carried
        people = tuple(
            PersonEvidence(local_id=i, hand_mouth_ratio=0.5, balloon_score=scores.get(i, 0.0), anchor=p.anchor,
                           body_scale=0.05)
            for i, p in enumerate(scene)
        )  # fmt: skip
        for event in confirmer.update(FrameAnalysis(people, frame_size=(640, 640)), EPOCH + timedelta(seconds=now_s)):
            events.append((event.phase.value, event.people_involved, frame))
    return events, classified


@pytest.mark.parametrize("every", [2, 3, 5])
@pytest.mark.parametrize("scene", sorted(SCENES))
def test_the_cadence_keeps_the_confirmation_decisions(scene: str, every: int) -> None:
    exact, exact_runs = _run(SCENES[scene], every=1)
    paced, paced_runs = _run(SCENES[scene], every=every)
    assert [(phase, people) for phase, people, _ in paced] == [(phase, people) for phase, people, _ in exact]
    for (_, _, late), (_, _, early) in zip(paced, exact, strict=True):
        assert 0 <= late - early <= every - 1
    # Every run of frames at the gate costs one classification at its start and one every `every` frames.
    assert paced_runs <= exact_runs // every + 2 * len(SCENES[scene])


def test_the_scenes_mean_something() -> None:
    """Guard against a vacuous comparison: the exact pipeline alerts where it should and not elsewhere."""
    events = {name: _run(scene, every=1)[0] for name, scene in SCENES.items()}
    alerted = {name for name, happened in events.items() if any(phase == "new" for phase, _, _ in happened)}
    assert alerted == {"balloon", "hand_returns", "balloon_appears", "two_people", "crowd"}
    assert max(people for _, people, _ in events["two_people"]) == 2


@pytest.mark.parametrize(
    ("frames_at_gate", "every", "expected_runs"),
    [(1, 3, 1), (3, 3, 1), (4, 3, 2), (30, 3, 10), (30, 1, 30), (30, 5, 6)],
)
def test_a_person_at_the_gate_is_classified_at_once_then_every_k_frames(
    frames_at_gate: int, every: int, expected_runs: int
) -> None:
    cadence = ClassifierCadence(every, SETTINGS.track_match_ratio, SETTINGS.track_max_gap_s)
    runs = 0
    for frame in range(frames_at_gate):
        plan = cadence.plan([Observation((0.5, 0.5), 0.05)], [0], frame / FPS)
        cadence.record(plan, [0.9] * len(plan.classify))
        runs += len(plan.classify)
        assert plan.classify == (0,) or plan.carried == {0: 0.9}
    assert runs == expected_runs


def test_leaving_the_gate_drops_the_carried_score_and_a_new_person_is_classified_at_once() -> None:
    cadence = ClassifierCadence(5, SETTINGS.track_match_ratio, SETTINGS.track_max_gap_s)
    here, newcomer = Observation((0.3, 0.5), 0.05), Observation((0.8, 0.5), 0.05)
    plan = cadence.plan([here], [0], 0.0)
    assert plan.classify == (0,)
    cadence.record(plan, [0.9])
    assert cadence.plan([here], [0], 0.1).carried == {0: 0.9}
    away = cadence.plan([here], [], 0.2)  # hand down: nothing to classify, nothing carried
    assert (away.classify, away.carried) == ((), {})
    assert cadence.plan([here], [0], 0.3).classify == (0,)  # back at the gate: classified afresh
    assert 1 in cadence.plan([here, newcomer], [0, 1], 0.4).classify


@pytest.mark.parametrize(("every", "expectation"), [(0, pytest.raises(ValueError, match="at least 1"))])
def test_the_cadence_refuses_a_period_below_one(every: int, expectation: pytest.RaisesExc[ValueError]) -> None:
    with expectation:
        ClassifierCadence(every, 1.5, 2.0)
