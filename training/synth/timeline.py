"""The time course of a composited clip: when an object is raised, held and lowered, and which source frame shows.

An event has the shape officers see in the street: the object is raised from the hand to the mouth (or the
ear) in about half a second, held there (a balloon for 2-8 s, shrinking a little as it is inhaled), and
lowered again. :func:`lift` gives, for any moment, how far the object is on its way from the hand (0) to
the mouth (1), with eased starts and stops. A clip may hold two events with a pause between them.

A host is often visible for only a few seconds of a short source clip. :func:`bounce` plays the host's
frames forward and back (ping-pong) for as long as the composited clip needs: every picture stays a real
frame, and the motion stays continuous.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EventShape:
    """One raise-hold-lower event, in seconds of the composited clip."""

    start_s: float
    raise_s: float
    hold_s: float
    lower_s: float

    def __post_init__(self) -> None:
        if min(self.raise_s, self.lower_s) <= 0 or self.hold_s < 0 or self.start_s < 0:
            raise ValueError(f"an event needs positive raise and lower times and a non-negative hold: {self}")

    @property
    def held_s(self) -> float:
        """When the object reaches the mouth."""
        return self.start_s + self.raise_s

    @property
    def lowering_s(self) -> float:
        """When the object starts down again."""
        return self.held_s + self.hold_s

    @property
    def end_s(self) -> float:
        """When the object is back at the hand: the event's end."""
        return self.lowering_s + self.lower_s


def _ease(x: float) -> float:
    """Smoothstep: 0 at 0, 1 at 1, zero speed at both ends."""
    x = min(1.0, max(0.0, x))
    return x * x * (3.0 - 2.0 * x)


def lift(at_s: float, events: tuple[EventShape, ...]) -> float:
    """How far the object is from the hand (0) to the mouth (1) at ``at_s``."""
    best = 0.0
    for event in events:
        if event.start_s <= at_s < event.held_s:
            best = max(best, _ease((at_s - event.start_s) / event.raise_s))
        elif event.held_s <= at_s < event.lowering_s:
            best = 1.0
        elif event.lowering_s <= at_s < event.end_s:
            best = max(best, 1.0 - _ease((at_s - event.lowering_s) / event.lower_s))
    return best


def deflation(at_s: float, events: tuple[EventShape, ...], final: float) -> float:
    """A balloon's size factor: 1 until held, shrinking to ``final`` over each hold, in steps over events.

    Every event inhales part of what is left: after ``n`` of ``k`` events the factor is ``final ** (n / k)``.
    """
    if not events:
        return 1.0
    step = final ** (1.0 / len(events))
    factor = 1.0
    for event in events:
        if at_s >= event.lowering_s:
            factor *= step
        elif at_s > event.held_s and event.hold_s > 0:
            progress = (at_s - event.held_s) / event.hold_s
            factor *= 1.0 - (1.0 - step) * progress
    return factor


def bounce(frame_number: int, first: int, last: int, phase: int = 0) -> int:
    """The source frame shown as frame ``frame_number`` of a clip that plays ``first..last`` forward and back.

    Args:
        frame_number: Frame of the composited clip (0, 1, ...).
        first: First source frame of the host's run.
        last: Last source frame of the host's run.
        phase: Frames into the forward-and-back cycle at which the composited clip starts.
    """
    span = last - first
    if span <= 0:
        return first
    position = (frame_number + phase) % (2 * span)
    return first + position if position <= span else last - (position - span)


@dataclass(frozen=True)
class ClipPlan:
    """A composited clip's length and its events."""

    length_s: float
    events: tuple[EventShape, ...]


def plan_events(
    rng: np.random.Generator,
    *,
    hold_s: tuple[float, float],
    two_events: bool,
    lead_in_s: tuple[float, float] = (1.5, 3.0),
    raise_s: tuple[float, float] = (0.4, 0.6),
    pause_s: tuple[float, float] = (2.0, 5.0),
    tail_s: tuple[float, float] = (3.0, 5.0),
) -> ClipPlan:
    """Draw when the events of one clip happen.

    Args:
        rng: The clip's generator.
        hold_s: Range of the time held at the mouth or ear.
        two_events: Whether the clip holds a second event after a pause.
        lead_in_s: Range of the time before the first raise (the detector first sees the person untouched).
        raise_s: Range of the time a raise, and a lowering, take.
        pause_s: Range of the pause between two events.
        tail_s: Range of the time after the last event.
    """
    start = float(rng.uniform(*lead_in_s))
    events = []
    for _ in range(2 if two_events else 1):
        event = EventShape(
            start_s=start,
            raise_s=float(rng.uniform(*raise_s)),
            hold_s=float(rng.uniform(*hold_s)),
            lower_s=float(rng.uniform(*raise_s)),
        )
        events.append(event)
        start = event.end_s + float(rng.uniform(*pause_s))
    return ClipPlan(length_s=events[-1].end_s + float(rng.uniform(*tail_s)), events=tuple(events))
