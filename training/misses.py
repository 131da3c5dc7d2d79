"""Why a synthetic positive was missed: the front end (pose, gate) or the classifier.

A missed positive calls for a different remedy depending on where it was lost, so evaluation names the
stage. For each synthetic positive scored below the threshold, the people that the detector's pose finds
on the composite are compared with the mouth at which synth pasted the balloon (``synth.jsonl``). The poses
come from the pose cache that cropping filled, with the still-photo settings that scoring uses; MediaPipe's
estimator is not stateless, so on about one photo in 15 they can differ from the poses scoring saw. The
first reason that applies is given:

- ``no_person``: pose found nobody on the composite;
- ``carrier_lost``: nobody of the carrier's size has a mouth within the carrier-matching distance that
  training uses (``training.crops.find_carrier``): pose lost the person holding the balloon;
- ``carrier_shifted``: the carrier was found, but with the mouth more than ``SHIFT_SCALES`` body scales
  from where the balloon was pasted, so the crop is cut around the wrong place (a balloon over the face
  often pulls the whole face onto it);
- ``not_gated``: the carrier was found in place, but the detector's gate (hand near the mouth, big enough)
  does not let the classifier run for them;
- ``low_score``: the carrier was found in place and classified, and the classifier scored them below the
  threshold.

Real positives carry no pasted mouth, so they get no reason.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Final, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from detector.analysis import gated_people
from detector.evidence.geometry import hand_to_mouth
from detector.settings import AnalysisSettings
from training.crops import find_carrier
from training.dataset import Dataset
from training.frontend import PoseCache, body_scale_px, mouth_point, read_image
from training.synth.writer import read_meta

MissReason = Literal["no_person", "carrier_lost", "carrier_shifted", "not_gated", "low_score"]
MISS_REASONS: Final[tuple[MissReason, ...]] = (
    "no_person",
    "carrier_lost",
    "carrier_shifted",
    "not_gated",
    "low_score",
)
# A quarter of the crop's side (1.1 body scales) and more: the pasted balloon's neck is no longer where a
# balloon at the lips sits in the crop.
SHIFT_SCALES: Final = 0.3


class MissedPositive(BaseModel):
    """One synthetic positive below the threshold and the stage that lost it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str
    score: float
    reason: MissReason
    mouth_shift_scales: float | None = None


def miss_reason(
    mouths: list[tuple[float, float]],
    scales: list[float],
    gated: list[int],
    target_mouth: tuple[float, float],
    target_scale: float,
) -> tuple[MissReason, float | None]:
    """The stage that lost a missed positive, and the carrier's mouth shift in body scales (None if not found).

    Args:
        mouths: each person's mouth in pixels, as pose found them on the composite.
        scales: each person's body scale in pixels.
        gated: indices of the people the detector's gate lets through.
        target_mouth: where synth pasted the balloon.
        target_scale: the carrier's body scale on the untouched photo.
    """
    if not mouths:
        return "no_person", None
    carrier = find_carrier(mouths, scales, target_mouth, target_scale)
    if carrier < 0:
        return "carrier_lost", None
    shift = float(np.hypot(mouths[carrier][0] - target_mouth[0], mouths[carrier][1] - target_mouth[1]))
    shift /= max(target_scale, 1.0)
    if shift > SHIFT_SCALES:
        return "carrier_shifted", shift
    if carrier not in gated:
        return "not_gated", shift
    return "low_score", shift


def explain_misses(
    dataset: Dataset,
    scores: dict[str, float],
    threshold: float,
    settings: AnalysisSettings,
    cache_dir: Path | None,
) -> list[MissedPositive]:
    """Name the stage that lost each synthetic positive of a dataset scored below ``threshold``.

    Args:
        dataset: a synthetic dataset (with ``synth.jsonl``); other datasets give no rows.
        scores: image score per dataset-relative path.
        threshold: the operating threshold.
        settings: the detector's analysis settings (the gate's).
        cache_dir: the pose cache that scoring and cropping filled, or None.
    """
    metas = read_meta(dataset.root)
    missed = []
    with PoseCache(cache_dir) as poses:
        for row in dataset.rows:
            meta = metas.get(row.path)
            if row.label != "positive" or meta is None or meta.target_mouth is None:
                continue
            score = scores[row.path]
            if score >= threshold:
                continue
            people = poses.poses(read_image(dataset.image_path(row)))
            measures = [hand_to_mouth(p, settings.pose.min_landmark_visibility) for p in people]
            reason, shift = miss_reason(
                [(float(x), float(y)) for x, y in (mouth_point(p) for p in people)],
                [body_scale_px(p) for p in people],
                gated_people(measures, settings.evidence),
                (float(meta.target_mouth[0]), float(meta.target_mouth[1])),
                float(meta.target_scale or 1.0),
            )
            missed.append(
                MissedPositive(
                    path=row.path,
                    score=score,
                    reason=reason,
                    mouth_shift_scales=None if shift is None else round(shift, 3),
                )
            )
    return missed


def count_reasons(missed: list[MissedPositive]) -> dict[str, int]:
    """Missed positives per reason, every reason listed (zero included), in pipeline order."""
    counts = Counter(m.reason for m in missed)
    return {reason: counts.get(reason, 0) for reason in MISS_REASONS}
