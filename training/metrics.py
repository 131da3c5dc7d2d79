"""Ranking and calibration metrics in plain numpy: AP, PR and ROC curves, thresholds, reliability bins."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Curve:
    """Points of a curve with the thresholds they were taken at (descending)."""

    x: FloatArray
    y: FloatArray
    thresholds: FloatArray


def _sorted(scores: FloatArray, labels: NDArray[np.int64]) -> tuple[FloatArray, FloatArray, FloatArray]:
    if scores.shape != labels.shape:
        raise ValueError(f"scores and labels must have one shape, got {scores.shape} and {labels.shape}")
    order = np.argsort(-scores, kind="mergesort")
    s, y = scores[order], labels[order].astype(np.float64)
    # Cumulative counts at each distinct threshold (last index of every run of equal scores).
    distinct = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1] if len(s) else np.array([], dtype=np.int64)
    tp = np.cumsum(y)[distinct]
    fp = np.cumsum(1.0 - y)[distinct]
    return tp, fp, s[distinct]


def pr_curve(scores: FloatArray, labels: NDArray[np.int64]) -> Curve:
    """Precision (y) against recall (x), one point per distinct score."""
    tp, fp, thresholds = _sorted(scores, labels)
    positives = max(1.0, float(labels.sum()))
    precision = tp / np.maximum(tp + fp, 1.0)
    return Curve(x=tp / positives, y=precision, thresholds=thresholds)


def roc_curve(scores: FloatArray, labels: NDArray[np.int64]) -> Curve:
    """True-positive rate (y) against false-positive rate (x)."""
    tp, fp, thresholds = _sorted(scores, labels)
    positives = max(1.0, float(labels.sum()))
    negatives = max(1.0, float(len(labels) - labels.sum()))
    return Curve(x=np.r_[0.0, fp / negatives], y=np.r_[0.0, tp / positives], thresholds=np.r_[np.inf, thresholds])


def average_precision(scores: FloatArray, labels: NDArray[np.int64]) -> float:
    """Average precision (step-wise area under the PR curve, as scikit-learn computes it)."""
    if labels.sum() == 0:
        return float("nan")
    curve = pr_curve(scores, labels)
    recall = np.r_[0.0, curve.x]
    return float(np.sum(np.diff(recall) * curve.y))


def roc_auc(scores: FloatArray, labels: NDArray[np.int64]) -> float:
    """Area under the ROC curve (trapezoids)."""
    if labels.sum() == 0 or labels.sum() == len(labels):
        return float("nan")
    curve = roc_curve(scores, labels)
    return float(np.trapz(curve.y, curve.x))


def threshold_for_precision(scores: FloatArray, labels: NDArray[np.int64], precision: float) -> float | None:
    """Lowest threshold whose precision reaches ``precision`` (maximum recall at that precision), or None."""
    curve = pr_curve(scores, labels)
    ok = np.nonzero(curve.y >= precision)[0]
    return float(curve.thresholds[ok[-1]]) if ok.size else None


def threshold_for_fpr(scores: FloatArray, labels: NDArray[np.int64], max_fpr: float) -> float:
    """Lowest threshold at which the false-positive rate (score >= threshold) is at most ``max_fpr``."""
    negatives = np.sort(scores[labels == 0])[::-1]
    if negatives.size == 0:
        return 0.5
    allowed = int(np.floor(max_fpr * negatives.size))
    # Strictly above the (allowed+1)-th highest negative score.
    return float(np.nextafter(negatives[allowed], 1.0)) if allowed < negatives.size else 0.0


def reliability(
    scores: FloatArray, labels: NDArray[np.int64], bins: int = 10
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Reliability diagram data: mean predicted probability, observed positive rate and count per bin."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(scores, edges[1:-1]), 0, bins - 1)
    mean_pred = np.full(bins, np.nan)
    observed = np.full(bins, np.nan)
    counts = np.zeros(bins)
    for b in range(bins):
        mask = which == b
        counts[b] = mask.sum()
        if counts[b]:
            mean_pred[b] = scores[mask].mean()
            observed[b] = labels[mask].mean()
    return mean_pred, observed, counts


def expected_calibration_error(scores: FloatArray, labels: NDArray[np.int64], bins: int = 10) -> float:
    """Count-weighted mean |predicted - observed| over reliability bins."""
    mean_pred, observed, counts = reliability(scores, labels, bins)
    mask = counts > 0
    return float(np.sum(np.abs(mean_pred[mask] - observed[mask]) * counts[mask]) / max(1.0, counts.sum()))
