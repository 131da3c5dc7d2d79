"""When the classifier runs for a tracked person: only when their evidence can change the decision.

The confirmer needs a balloon score for every frame of a person whose hand is near the mouth, but the score
of one person changes slowly next to the frame rate. So a person is classified:

- at once when they newly reach the gate (a new person, or a hand that just came near the mouth);
- then every ``every_n_frames``-th analysed frame for as long as their hand stays near the mouth;

and in between their last score is carried forward. A person away from the gate scores 0 at once, as before,
and is classified afresh when they return. With ``every_n_frames=1`` every gated person is classified on
every frame, which is exactly the pipeline without a cadence. People are followed between frames with the
same short-lived, in-memory tracker the confirmer uses; its ids never leave this object.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from detector.tracking import Observation, ShortTracker


@dataclass(frozen=True)
class CadencePlan:
    """This frame's plan: whom to classify now, and the carried-forward scores of the others.

    Attributes:
        classify: indices (into the frame's people) to classify in this frame's one batched call.
        carried: index -> last score, for gated people whose turn has not come.
        track_ids: each person's track id, in frame order (in memory only).
    """

    classify: tuple[int, ...]
    carried: dict[int, float]
    track_ids: tuple[int, ...]


@dataclass
class _TrackState:
    score: float
    frames_since_classified: int


class ClassifierCadence:
    """Decides per frame which gated people the classifier runs for.

    Args:
        every_n_frames: re-classify a person whose hand stays near the mouth every this many analysed frames.
        match_ratio: tracker gate, in body scales (the confirmer's ``track_match_ratio``).
        max_gap_s: a person unseen this long is forgotten (the confirmer's ``track_max_gap_s``).
    """

    def __init__(self, every_n_frames: int, match_ratio: float, max_gap_s: float) -> None:
        if every_n_frames < 1:
            raise ValueError(f"every_n_frames must be at least 1, got {every_n_frames}")
        self._every = every_n_frames
        self._tracker = ShortTracker(match_ratio, max_gap_s)
        self._states: dict[int, _TrackState] = {}

    def plan(self, people: Sequence[Observation], gated: Sequence[int], now_s: float) -> CadencePlan:
        """Track this frame's people and say whom to classify.

        Args:
            people: every person in the frame, in frame order.
            gated: indices of the people the gate lets through (hand near the mouth, big enough).
            now_s: the frame's time in seconds.

        Returns:
            The plan; call :meth:`record` with the scores of ``plan.classify`` afterwards.
        """
        track_ids = tuple(self._tracker.update(people, now_s))
        live = set(self._tracker.tracks)
        gated_tracks = {track_ids[index] for index in gated}
        # Whoever left the gate (or the frame) starts afresh when they come back.
        self._states = {tid: state for tid, state in self._states.items() if tid in live and tid in gated_tracks}
        classify: list[int] = []
        carried: dict[int, float] = {}
        for index in gated:
            state = self._states.get(track_ids[index])
            if state is None or state.frames_since_classified + 1 >= self._every:
                classify.append(index)
            else:
                state.frames_since_classified += 1
                carried[index] = state.score
        return CadencePlan(classify=tuple(classify), carried=carried, track_ids=track_ids)

    def record(self, plan: CadencePlan, scores: Sequence[float]) -> None:
        """Remember the scores just computed for ``plan.classify`` (same order)."""
        if len(scores) != len(plan.classify):
            raise ValueError(f"expected {len(plan.classify)} scores, got {len(scores)}")
        for index, score in zip(plan.classify, scores, strict=True):
            self._states[plan.track_ids[index]] = _TrackState(score=float(score), frames_since_classified=0)

    def reset(self) -> None:
        """Forget every person (for unrelated frames, such as separate photos)."""
        self._tracker.clear()
        self._states.clear()
