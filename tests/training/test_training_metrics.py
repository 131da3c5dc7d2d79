"""Metrics: average precision, curves and thresholds against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from training.metrics import (
    average_precision,
    expected_calibration_error,
    roc_auc,
    threshold_for_fpr,
    threshold_for_precision,
)


@pytest.mark.parametrize(
    ("scores", "labels", "ap"),
    [
        ([0.9, 0.8, 0.1, 0.05], [1, 1, 0, 0], 1.0),
        ([0.9, 0.8, 0.1, 0.05], [0, 1, 0, 1], (1 / 2 + 2 / 4) / 2),
        ([0.1, 0.2, 0.3, 0.4], [1, 0, 0, 0], 0.25),
    ],
)
def test_average_precision(scores: list[float], labels: list[int], ap: float) -> None:
    assert average_precision(np.array(scores), np.array(labels)) == pytest.approx(ap)


def test_roc_auc_perfect_and_inverted() -> None:
    labels = np.array([1, 1, 0, 0])
    assert roc_auc(np.array([0.9, 0.8, 0.2, 0.1]), labels) == pytest.approx(1.0)
    assert roc_auc(np.array([0.1, 0.2, 0.8, 0.9]), labels) == pytest.approx(0.0)


@pytest.mark.parametrize(("max_fpr", "false_alarms"), [(0.0, 0), (0.1, 1), (0.25, 2)])
def test_threshold_for_fpr_keeps_the_rate(max_fpr: float, false_alarms: int) -> None:
    negatives = np.linspace(0.0, 0.95, 10)
    scores = np.r_[negatives, [0.99, 0.5]]
    labels = np.r_[np.zeros(10, int), [1, 1]]
    threshold = threshold_for_fpr(scores, labels, max_fpr)
    assert int((negatives >= threshold).sum()) == false_alarms


def test_threshold_for_precision() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    labels = np.array([1, 1, 0, 1])
    assert threshold_for_precision(scores, labels, 1.0) == pytest.approx(0.8)
    assert threshold_for_precision(scores, labels, 0.75) == pytest.approx(0.6)
    assert threshold_for_precision(np.array([0.9]), np.array([0]), 0.5) is None


def test_calibration_error() -> None:
    labels = np.array([1, 0] * 50)
    assert expected_calibration_error(np.full(100, 0.5), labels) == pytest.approx(0.0)
    assert expected_calibration_error(np.full(100, 0.95), labels) == pytest.approx(0.45)
