"""The person front end by stage on the eval stills: carriers in place, recall and false alarms, classifier fixed.

For each semi-synthetic eval positive the people a front end finds on the composite are compared with the
mouth synth pasted the balloon at (``training.misses.miss_reason``: ``no_person``, ``carrier_lost``,
``carrier_shifted``, ``not_gated``, or in place, reported as ``low_score`` whatever the score). Every pose of
a person counts (the person front end's alternatives too): the classifier, unchanged, scores the gated
poses and the image scores its highest. The real eval negatives give the false alarms at the model card's
threshold. Three front ends:

- ``today``: ``PoseEstimator`` with the still-photo settings, as ``detector score`` runs today;
- ``photo``: ``PersonFrontEnd`` with ``photo_settings()`` (each photo alone);
- ``live``: ``PersonFrontEnd`` with live settings (detector on every frame, no motion) that first sees the
  untouched host photo and then the composite, as a camera sees a person before the balloon comes up.
  Negatives are single frames.
"""

from __future__ import annotations

import csv
import time
from collections import Counter
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from detector.analysis import gated_people
from detector.evidence.crop import mouth_crop, to_model_input
from detector.evidence.geometry import body_scale_px, hand_to_mouth, mouth_point
from detector.frontend.pipeline import FrontEndSettings, PersonFrontEnd, photo_settings
from detector.model import LoadedModel
from detector.pose.estimator import ImageBGR, PersonPose, PoseEstimator
from detector.score import still_photo_pose
from detector.settings import AnalysisSettings
from training.dataset import load_dataset
from training.frontend import read_image
from training.misses import MISS_REASONS, miss_reason
from training.synth.writer import read_meta

StillsFrontEnd = Literal["today", "photo", "live"]


class StillsReport(BaseModel):
    """What ``nitrosignal train frontend-stills`` prints as JSON."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    front_end: StillsFrontEnd
    positives: int
    carriers_in_place: int = Field(description="Positives whose carrier is found in place and gated.")
    stages: dict[str, int] = Field(description="Every positive by the first stage that lost it ('low_score': kept).")
    missed_by_stage: dict[str, int] = Field(description="The positives scored under the threshold, by stage.")
    recall_synthetic: float
    threshold: float
    real_negatives: int
    false_positives: int
    false_positives_by_category: dict[str, int]
    ms_per_image_p50: float


class _Runner:
    """One front end, as the stills are analysed with it: groups of poses, one group per person."""

    def __init__(self, front_end: StillsFrontEnd, settings: AnalysisSettings) -> None:
        self._kind = front_end
        self._settings = settings
        self._estimator: PoseEstimator | None = None
        self._front_end: PersonFrontEnd | None = None

    def fresh(self) -> None:
        """Forget what was seen before (a new photo, unrelated to the last)."""
        self.close()
        still = still_photo_pose(self._settings.pose)
        if self._kind == "today":
            self._estimator = PoseEstimator(still)
        elif self._kind == "photo":
            self._front_end = PersonFrontEnd(still, photo_settings())
        else:
            live = FrontEndSettings(detect_every_n_frames=1, motion=False)
            self._front_end = PersonFrontEnd(still, live)

    def people(self, image: ImageBGR, timestamp_ms: int) -> list[tuple[PersonPose, ...]]:
        if self._estimator is not None:
            return [(pose,) for pose in self._estimator.estimate(image, timestamp_ms)]
        assert self._front_end is not None
        return [person.poses() for person in self._front_end.analyze(image, timestamp_ms).people]

    def close(self) -> None:
        for model in (self._estimator, self._front_end):
            if model is not None:
                model.close()
        self._estimator = None
        self._front_end = None


def score_people(
    image: ImageBGR, groups: list[tuple[PersonPose, ...]], model: LoadedModel, settings: AnalysisSettings
) -> tuple[float, list[PersonPose], list[int]]:
    """The image's score over every gated pose of every person, the poses flattened, and the gated indices."""
    flat = [pose for group in groups for pose in group]
    measures = [hand_to_mouth(pose, settings.pose.min_landmark_visibility) for pose in flat]
    gated = gated_people(measures, settings.evidence)
    spec = model.card.input
    crops = [crop for crop in (mouth_crop(image, flat[i], spec) for i in gated) if crop is not None]
    best = float(np.max(np.asarray(model.predict(to_model_input(crops, spec))))) if crops else 0.0
    return best, flat, gated


def _host_like(host: ImageBGR | None, composite: ImageBGR) -> ImageBGR | None:
    """The untouched host at the composite's size (synth shrinks large photos), or None if it is not the same."""
    if host is None:
        return None
    if host.shape != composite.shape:
        same_aspect = abs(host.shape[1] / host.shape[0] - composite.shape[1] / composite.shape[0]) < 0.01
        if not same_aspect or host.shape[2:] != composite.shape[2:]:
            return None
        size = (composite.shape[1], composite.shape[0])
        host = np.ascontiguousarray(cv2.resize(host, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    return host


def measure_stills(eval_dir: Path, synth_dir: Path, model: LoadedModel, front_end: StillsFrontEnd) -> StillsReport:
    """Carriers in place, recall and false alarms of one front end on the eval stills.

    Args:
        eval_dir: the real eval folder (``labels.csv``; the hosts of the synthetic positives).
        synth_dir: the eval positives synth built from it (``labels.csv``, ``synth.jsonl``).
        model: the classifier, unchanged; its card's threshold applies.
        front_end: ``today``, ``photo`` or ``live``.
    """
    settings = AnalysisSettings()
    threshold = model.card.threshold
    metas = read_meta(synth_dir)
    runner = _Runner(front_end, settings)
    stages: list[str] = []
    scores: list[float] = []
    seconds: list[float] = []
    try:
        runner.fresh()
        for row in load_dataset(synth_dir).rows:
            meta = metas.get(row.path)
            if row.label != "positive" or meta is None or meta.target_mouth is None:
                continue
            image = read_image(synth_dir / row.path)
            if front_end == "live":
                runner.fresh()
                untouched = cv2.imread(str(eval_dir / meta.host), cv2.IMREAD_COLOR)
                host = _host_like(None if untouched is None else np.asarray(untouched, dtype=np.uint8), image)
                if host is not None:
                    runner.people(host, 0)
            start = time.perf_counter()
            groups = runner.people(image, 1000)
            seconds.append(time.perf_counter() - start)
            score, flat, gated = score_people(image, groups, model, settings)
            reason, _ = miss_reason(
                [(float(x), float(y)) for x, y in (mouth_point(p) for p in flat)],
                [body_scale_px(p) for p in flat],
                gated,
                (float(meta.target_mouth[0]), float(meta.target_mouth[1])),
                float(meta.target_scale or 1.0),
            )
            stages.append(reason)
            scores.append(score)
        negatives: list[tuple[str, float]] = []
        with (eval_dir / "labels.csv").open(newline="", encoding="utf-8") as handle:
            rows = [r for r in csv.DictReader(handle) if r["label"] == "negative"]
        for record in rows:
            if front_end == "live":
                runner.fresh()
            image = read_image(eval_dir / record["path"])
            start = time.perf_counter()
            groups = runner.people(image, 0)
            seconds.append(time.perf_counter() - start)
            negatives.append((record.get("category") or "", score_people(image, groups, model, settings)[0]))
    finally:
        runner.close()
    counts = Counter(stages)
    missed = Counter(stage for stage, score in zip(stages, scores, strict=True) if score < threshold)
    alarms = Counter(category for category, score in negatives if score >= threshold)
    return StillsReport(
        front_end=front_end,
        positives=len(stages),
        carriers_in_place=counts.get("low_score", 0),
        stages={reason: counts.get(reason, 0) for reason in MISS_REASONS},
        missed_by_stage={reason: missed.get(reason, 0) for reason in MISS_REASONS},
        recall_synthetic=round(sum(s >= threshold for s in scores) / max(1, len(scores)), 3),
        threshold=threshold,
        real_negatives=len(negatives),
        false_positives=sum(alarms.values()),
        false_positives_by_category=dict(sorted(alarms.items())),
        ms_per_image_p50=round(1000 * float(np.median(seconds)) if seconds else 0.0, 1),
    )
