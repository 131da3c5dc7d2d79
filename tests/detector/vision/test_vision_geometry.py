"""Hand-to-mouth geometry: normalised by body scale, so the ratio does not depend on image size."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from detector.evidence.geometry import HEAD_TO_BODY, body_scale_px, hand_to_mouth, mouth_point
from detector.pose import estimator as lm
from detector.pose.estimator import PersonPose, PoseEstimator

REPO = Path(__file__).resolve().parents[3]
ASSETS = REPO / "tests" / "assets" / "detector"
DEMO_PERSON = REPO / "nitrosignal" / "assets" / "demo_person.jpg"
SMOKER_P02 = ASSETS / "smoker_p02.jpg"
SMOKER_P37 = ASSETS / "smoker_p37.jpg"


def read_image(path: Path) -> npt.NDArray[np.uint8]:
    """Read a test photo as uint8 BGR, failing loudly if it is missing."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, f"test photo missing: {path}"
    return np.ascontiguousarray(image, dtype=np.uint8)


def _pose(points: dict[int, tuple[float, float]], hidden: tuple[int, ...] = ()) -> PersonPose:
    """A synthetic upright person: shoulders 100 px apart, mouth at (200, 100), hands far away by default."""
    array = np.zeros((33, 3))
    array[:, 0], array[:, 1], array[:, 2] = 200.0, 400.0, 1.0
    base = {
        lm.MOUTH_LEFT: (190.0, 100.0),
        lm.MOUTH_RIGHT: (210.0, 100.0),
        lm.LEFT_EYE: (190.0, 85.0),
        lm.RIGHT_EYE: (210.0, 85.0),
        lm.LEFT_SHOULDER: (250.0, 150.0),
        lm.RIGHT_SHOULDER: (150.0, 150.0),
    }
    for index, (x, y) in {**base, **points}.items():
        array[index, :2] = (x, y)
    for index in hidden:
        array[index, 2] = 0.0
    return PersonPose(array)


ALL_HAND_POINTS = (15, 16, 17, 18, 19, 20, 21, 22)


@pytest.mark.parametrize(
    ("points", "hidden", "min_visibility", "expected", "expectation"),
    [
        # Right index tip 30 px below the mouth, shoulders 100 px apart: 0.3 body scales.
        ({lm.RIGHT_INDEX: (200.0, 130.0)}, (), 0.5, 0.3, contextlib.nullcontext()),
        # Left wrist exactly at the mouth.
        ({lm.LEFT_WRIST: (200.0, 100.0)}, (), 0.5, 0.0, contextlib.nullcontext()),
        # The nearest hand point is hidden: the next one counts (hands at 300 px -> 3.0).
        ({lm.RIGHT_INDEX: (200.0, 130.0)}, (lm.RIGHT_INDEX,), 0.5, 3.0, contextlib.nullcontext()),
        # No hand visible at all: no ratio.
        ({}, ALL_HAND_POINTS, 0.5, None, contextlib.nullcontext()),
        # Shoulders seen edge-on (5 px apart): the head-based scale (15 px * HEAD_TO_BODY) takes over.
        (
            {lm.LEFT_SHOULDER: (202.0, 150.0), lm.RIGHT_SHOULDER: (198.0, 150.0), lm.LEFT_WRIST: (200.0, 130.0)},
            (),
            0.5,
            30.0 / (15.0 * HEAD_TO_BODY),
            contextlib.nullcontext(),
        ),
        ({}, (), 1.5, None, pytest.raises(ValueError, match=r"min_visibility must be within 0..1, got 1.5")),
    ],
)
def test_vision_hand_to_mouth_table(
    points: dict[int, tuple[float, float]],
    hidden: tuple[int, ...],
    min_visibility: float,
    expected: float | None,
    expectation: Any,
) -> None:
    with expectation:
        measure = hand_to_mouth(_pose(points, hidden), min_visibility)
        if expected is None:
            assert measure.ratio is None
        else:
            assert measure.ratio == pytest.approx(expected, abs=1e-6)
        assert measure.mouth_xy == (200.0, 100.0)


@pytest.mark.parametrize("factor", [0.5, 2.0, 7.3])
def test_vision_geometry_scales_with_the_person(factor: float) -> None:
    pose = _pose({lm.RIGHT_INDEX: (200.0, 130.0)})
    scaled = PersonPose(pose.landmarks * np.array([factor, factor, 1.0]))
    assert body_scale_px(scaled) == pytest.approx(body_scale_px(pose) * factor)
    assert np.allclose(mouth_point(scaled), mouth_point(pose) * factor)
    assert hand_to_mouth(scaled, 0.5).ratio == pytest.approx(hand_to_mouth(pose, 0.5).ratio)


@pytest.mark.parametrize(
    ("path", "scales"), [(DEMO_PERSON, (1.0, 0.5, 0.3)), (SMOKER_P02, (1.0, 0.6)), (SMOKER_P37, (1.0, 1.8))]
)
def test_vision_ratio_is_the_same_on_resized_photos(
    still_estimator: PoseEstimator, path: Any, scales: tuple[float, ...]
) -> None:
    """Real MediaPipe on a real photo at several sizes: the ratio moves little, the pixel distance a lot."""
    image = read_image(path)
    ratios, scales_px = [], []
    for factor in scales:
        resized = np.asarray(cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA), np.uint8)
        poses = still_estimator.estimate(resized)
        assert len(poses) == 1, f"expected one person in {path.name} at x{factor}, got {len(poses)}"
        measure = hand_to_mouth(poses[0], 0.3)
        assert measure.ratio is not None
        ratios.append(measure.ratio)
        scales_px.append(measure.body_scale_px)
    # Landmarks jitter by a few pixels between sizes, so the ratio moves a little; a hand at the mouth and
    # a hand at the hip differ by more than 1.0, so a spread of 0.3 is still the same verdict.
    assert max(ratios) - min(ratios) <= 0.3
    # The body scale itself follows the image size closely.
    in_original_px = [scale / factor for scale, factor in zip(scales_px, scales, strict=True)]
    assert max(in_original_px) / min(in_original_px) <= 1.1
