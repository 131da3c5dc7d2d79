"""One frame in, per-person evidence out: pose, hand-to-mouth geometry, and the classifier on a cheap gate.

This is the single code path shared by live detection, ``detector score`` and ``detector bench``. The
classifier runs only on people whose hand is near the mouth, and among those only when their evidence can
change the decision (:mod:`detector.evidence.cadence`): all of a frame's due people in one batched call.
Everything here stays in memory: the anchor is for zone lookup and tracking on the device and is never sent.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from detector.evidence.cadence import CadencePlan, ClassifierCadence
from detector.evidence.crop import mouth_crop, to_model_input
from detector.evidence.geometry import HandMouth, hand_to_mouth
from detector.model import LoadedModel
from detector.pose.estimator import ImageBGR, PersonPose, PoseEstimator
from detector.settings import AnalysisSettings, EvidenceSettings
from detector.tracking import Observation

STAGES = ("pose", "evidence", "classify")


@dataclass(frozen=True)
class PersonEvidence:
    """Evidence about one person in one frame (in memory only, never on the wire).

    Attributes:
        local_id: index of the person within this frame's analysis.
        hand_mouth_ratio: nearest-hand-to-mouth distance in body scales; None when no hand is visible.
        balloon_score: balloon-at-mouth probability; 0.0 when the hand is not near the mouth. Between two
            classifications of the same person it is their last score, carried forward.
        anchor: the mouth position normalised to 0..1 of the frame (x, y).
        body_scale: the body scale as a fraction of the frame width (for tracking).
    """

    local_id: int
    hand_mouth_ratio: float | None
    balloon_score: float
    anchor: tuple[float, float]
    body_scale: float = 0.0

    def __post_init__(self) -> None:
        if not (0.0 <= self.balloon_score <= 1.0):
            raise ValueError(f"balloon_score must be within 0..1, got {self.balloon_score}")
        if not all(0.0 <= value <= 1.0 for value in self.anchor):
            raise ValueError(f"anchor must be normalised to 0..1, got {self.anchor}")


@dataclass(frozen=True)
class FrameAnalysis:
    """All people in one frame, plus how long each stage took (milliseconds) and how many were classified."""

    people: tuple[PersonEvidence, ...]
    stage_ms: dict[str, float] = field(default_factory=dict)
    frame_size: tuple[int, int] = (0, 0)
    classified: int = 0


@contextmanager
def _timed(stage_ms: dict[str, float], stage: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        stage_ms[stage] = stage_ms.get(stage, 0.0) + (time.perf_counter() - start) * 1000.0


def _observation(measure: HandMouth, width: int, height: int) -> Observation:
    """The person as the trackers see them: mouth normalised to the frame, body scale over frame width."""
    anchor = (
        float(np.clip(measure.mouth_xy[0] / width, 0.0, 1.0)),
        float(np.clip(measure.mouth_xy[1] / height, 0.0, 1.0)),
    )
    return Observation(anchor, max(measure.body_scale_px / width, 1e-3), height / width if width > 0 else 1.0)


def gated_people(measures: list[HandMouth], evidence: EvidenceSettings) -> list[int]:
    """Indices of the people the classifier runs for: big enough, a hand near the mouth; nearest hand first.

    Args:
        measures: each person's hand-to-mouth measurement, in pose order.
        evidence: the gate's settings.
    """
    candidates = [
        (m.ratio, index)
        for index, m in enumerate(measures)
        if m.ratio is not None
        and m.ratio <= evidence.hand_mouth_max_ratio
        and m.body_scale_px >= evidence.min_body_scale_px
    ]
    return [index for _, index in sorted(candidates)[: evidence.max_classified_people]]


class FrameAnalyzer:
    """Runs pose, geometry and the gated classifier on frames.

    Args:
        settings: pose, evidence and confirmation settings.
        model: the verified balloon-at-mouth classifier.
    """

    def __init__(self, settings: AnalysisSettings, model: LoadedModel) -> None:
        self._settings = settings
        self._model = model
        # The classifier's threads are set where its session is made (detector.model.load_model).
        self._cadence = ClassifierCadence(
            settings.evidence.classify_every_n_frames,
            settings.confirm.track_match_ratio,
            settings.confirm.track_max_gap_s,
        )
        self._estimator = PoseEstimator(settings.pose)

    @property
    def model(self) -> LoadedModel:
        """The classifier in use."""
        return self._model

    @property
    def settings(self) -> AnalysisSettings:
        """The settings in use."""
        return self._settings

    def analyze(self, frame_bgr: ImageBGR, timestamp_ms: int | None = None) -> FrameAnalysis:
        """Analyse one BGR frame.

        Args:
            frame_bgr: uint8 (H, W, 3) BGR frame, already privacy-masked.
            timestamp_ms: frame time for the pose model's video mode; the monotonic clock if None.

        Returns:
            Evidence per person and per-stage timings.
        """
        stage_ms: dict[str, float] = {}
        height, width = frame_bgr.shape[:2]
        now_s = timestamp_ms / 1000.0 if timestamp_ms is not None else time.monotonic()
        with _timed(stage_ms, "pose"):
            poses = self._estimator.estimate(frame_bgr, timestamp_ms)
        with _timed(stage_ms, "evidence"):
            measures = [hand_to_mouth(p, self._settings.pose.min_landmark_visibility) for p in poses]
            gated = self._gate(measures)
            observations = [_observation(m, width, height) for m in measures]
            plan = self._cadence.plan(observations, gated, now_s)
        scores = np.zeros(len(poses), dtype=np.float64)
        for index, score in plan.carried.items():
            scores[index] = score
        with _timed(stage_ms, "classify"):
            if plan.classify:
                scores[list(plan.classify)] = self._classify_due(frame_bgr, poses, plan)
        people = tuple(
            PersonEvidence(
                local_id=index,
                hand_mouth_ratio=measure.ratio,
                balloon_score=float(scores[index]),
                anchor=observation.anchor,
                body_scale=measure.body_scale_px / width,
            )
            for index, (measure, observation) in enumerate(zip(measures, observations, strict=True))
        )
        return FrameAnalysis(
            people=people, stage_ms=stage_ms, frame_size=(width, height), classified=len(plan.classify)
        )

    def _gate(self, measures: list[HandMouth]) -> list[int]:
        return gated_people(measures, self._settings.evidence)

    def _classify_due(self, frame_bgr: ImageBGR, poses: list[PersonPose], plan: CadencePlan) -> list[float]:
        scores = self._classify(frame_bgr, [poses[i] for i in plan.classify])
        self._cadence.record(plan, scores)
        return scores

    def reset(self) -> None:
        """Forget who was seen before: the next frame is unrelated to the last (a separate photo)."""
        self._cadence.reset()

    def _classify(self, frame_bgr: ImageBGR, poses: list[PersonPose]) -> list[float]:
        spec = self._model.card.input
        crops = [mouth_crop(frame_bgr, pose, spec) for pose in poses]
        present = [crop for crop in crops if crop is not None]
        predicted = iter(self._model.predict(to_model_input(present, spec)).tolist()) if present else iter([])
        return [next(predicted) if crop is not None else 0.0 for crop in crops]

    def close(self) -> None:
        """Release the pose model."""
        self._estimator.close()

    def __enter__(self) -> FrameAnalyzer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
