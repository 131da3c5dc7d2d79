"""One frame in, per-person evidence out: pose, hand-to-mouth geometry, and the classifier on a cheap gate.

This is the single code path shared by live detection, ``detector score`` and ``detector bench``. The
classifier runs only on people whose hand is near the mouth, batched. Everything here stays in memory: the
anchor is for zone lookup and tracking on the device and is never sent.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch

from detector.evidence.crop import mouth_crop, to_model_input
from detector.evidence.geometry import HandMouth, hand_to_mouth
from detector.model import LoadedModel
from detector.pose.estimator import ImageBGR, PersonPose, PoseEstimator
from detector.settings import AnalysisSettings, EvidenceSettings

STAGES = ("pose", "evidence", "classify")


@dataclass(frozen=True)
class PersonEvidence:
    """Evidence about one person in one frame (in memory only, never on the wire).

    Attributes:
        local_id: index of the person within this frame's analysis.
        hand_mouth_ratio: nearest-hand-to-mouth distance in body scales; None when no hand is visible.
        balloon_score: balloon-at-mouth probability; 0.0 when the classifier was not run (hand not near).
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
    """All people in one frame, plus how long each stage took (milliseconds)."""

    people: tuple[PersonEvidence, ...]
    stage_ms: dict[str, float] = field(default_factory=dict)
    frame_size: tuple[int, int] = (0, 0)


@contextmanager
def _timed(stage_ms: dict[str, float], stage: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        stage_ms[stage] = stage_ms.get(stage, 0.0) + (time.perf_counter() - start) * 1000.0


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
        # Process-wide, but the detector process is dedicated to this loop; more threads only contend with
        # MediaPipe's on a small device.
        torch.set_num_threads(settings.evidence.classifier_threads)
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
        with _timed(stage_ms, "pose"):
            poses = self._estimator.estimate(frame_bgr, timestamp_ms)
        with _timed(stage_ms, "evidence"):
            measures = [hand_to_mouth(p, self._settings.pose.min_landmark_visibility) for p in poses]
            gated = self._gate(measures)
        scores = np.zeros(len(poses), dtype=np.float64)
        with _timed(stage_ms, "classify"):
            if gated:
                scores[gated] = self._classify(frame_bgr, [poses[i] for i in gated])
        people = tuple(
            PersonEvidence(
                local_id=index,
                hand_mouth_ratio=measure.ratio,
                balloon_score=float(scores[index]),
                anchor=(
                    float(np.clip(measure.mouth_xy[0] / width, 0.0, 1.0)),
                    float(np.clip(measure.mouth_xy[1] / height, 0.0, 1.0)),
                ),
                body_scale=measure.body_scale_px / width,
            )
            for index, measure in enumerate(measures)
        )
        return FrameAnalysis(people=people, stage_ms=stage_ms, frame_size=(width, height))

    def _gate(self, measures: list[HandMouth]) -> list[int]:
        return gated_people(measures, self._settings.evidence)

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
