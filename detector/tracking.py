"""Short-lived tracking of people between analysed frames, so evidence can be confirmed over time.

Track ids are small integers that live only in this process's memory; they are forgotten when a person is
not seen for a moment and are never sent or stored (DESIGN.md §3: no track id outlives one incident).
People are matched greedily to the nearest track whose last position is within a few body scales.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Observation:
    """One person in one frame, as the tracker sees them.

    Attributes:
        anchor: position normalised to 0..1 of the frame (x, y).
        scale: body scale as a fraction of the frame width (for distance gating).
        aspect: frame height / width, so normalised y distances are measured in the same unit as x.
    """

    anchor: tuple[float, float]
    scale: float
    aspect: float = 1.0


@dataclass
class Track:
    """A person followed over a few seconds (in memory only)."""

    track_id: int
    anchor: tuple[float, float]
    scale: float
    last_seen: float


class ShortTracker:
    """Greedy nearest-neighbour tracker over normalised anchors.

    Args:
        match_ratio: an observation matches a track when it moved less than this many body scales.
        max_gap_s: a track not seen for this long is dropped.
    """

    def __init__(self, match_ratio: float, max_gap_s: float) -> None:
        if match_ratio <= 0 or max_gap_s <= 0:
            raise ValueError(f"match_ratio and max_gap_s must be positive, got {match_ratio} and {max_gap_s}")
        self._match_ratio = match_ratio
        self._max_gap_s = max_gap_s
        self._tracks: dict[int, Track] = {}
        self._ids = itertools.count(1)

    @property
    def tracks(self) -> dict[int, Track]:
        """Live tracks by id (read-only use)."""
        return self._tracks

    def update(self, observations: Sequence[Observation], now_s: float) -> list[int]:
        """Assign a track id to each observation, creating tracks as needed.

        Args:
            observations: people in the current frame.
            now_s: the frame's time in seconds (any monotonic origin).

        Returns:
            Track ids, one per observation, in the same order.
        """
        self._tracks = {tid: t for tid, t in self._tracks.items() if now_s - t.last_seen <= self._max_gap_s}
        pairs: list[tuple[float, int, int]] = []
        for index, obs in enumerate(observations):
            for tid, track in self._tracks.items():
                dx = obs.anchor[0] - track.anchor[0]
                dy = (obs.anchor[1] - track.anchor[1]) * obs.aspect
                distance = float(np.hypot(dx, dy)) / max(1e-6, max(obs.scale, track.scale))
                if distance <= self._match_ratio:
                    pairs.append((distance, index, tid))
        assigned: dict[int, int] = {}
        used: set[int] = set()
        for _, index, tid in sorted(pairs):
            if index not in assigned and tid not in used:
                assigned[index] = tid
                used.add(tid)
        ids = []
        for index, obs in enumerate(observations):
            tid = assigned[index] if index in assigned else next(self._ids)
            self._tracks[tid] = Track(tid, obs.anchor, obs.scale, now_s)
            ids.append(tid)
        return ids

    def clear(self) -> None:
        """Forget every track (ids are still never reused)."""
        self._tracks.clear()
