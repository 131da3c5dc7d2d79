"""The pose-normalised mouth crop and the classifier's tensor preparation."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from detector.evidence.crop import DEFAULT_CROP_SPEC, mouth_crop, to_model_input
from detector.pose.estimator import PersonPose, PoseEstimator
from nitrosignal.modelcard import CropSpec

REPO = Path(__file__).resolve().parents[3]
ASSETS = REPO / "tests" / "assets" / "detector"
DEMO_PERSON = REPO / "nitrosignal" / "assets" / "demo_person.jpg"


def read_image(path: Path) -> npt.NDArray[np.uint8]:
    """Read a test photo as uint8 BGR, failing loudly if it is missing."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, f"test photo missing: {path}"
    return np.ascontiguousarray(image, dtype=np.uint8)


@pytest.mark.parametrize("size_px", [32, 96, 128])
def test_vision_crop_has_the_card_size(still_estimator: PoseEstimator, size_px: int) -> None:
    image = read_image(DEMO_PERSON)
    pose = still_estimator.estimate(image)[0]
    spec = DEFAULT_CROP_SPEC.model_copy(update={"size_px": size_px})
    crop = mouth_crop(image, pose, spec)
    assert crop is not None and crop.shape == (size_px, size_px, 3) and crop.dtype == np.uint8


def test_vision_crop_is_the_same_for_near_and_far(still_estimator: PoseEstimator) -> None:
    """The same person at a third of the size gives nearly the same crop (body-scaled, not pixel-sized)."""
    image = read_image(DEMO_PERSON)
    small = np.asarray(cv2.resize(image, None, fx=1 / 3, fy=1 / 3, interpolation=cv2.INTER_AREA), np.uint8)
    near = mouth_crop(image, still_estimator.estimate(image)[0], DEFAULT_CROP_SPEC)
    far = mouth_crop(small, still_estimator.estimate(small)[0], DEFAULT_CROP_SPEC)
    assert near is not None and far is not None
    difference = np.abs(near.astype(np.float64) - far.astype(np.float64)).mean()
    # An unrelated crop (shifted by a quarter of the frame) differs far more.
    shifted = np.roll(near, near.shape[0] // 4, axis=(0, 1))
    unrelated = np.abs(near.astype(np.float64) - shifted.astype(np.float64)).mean()
    assert difference < 20.0 and difference < unrelated / 2


def test_vision_crop_pads_outside_the_frame() -> None:
    landmarks = np.zeros((33, 3))
    landmarks[:, 2] = 1.0
    landmarks[9, :2], landmarks[10, :2] = (0.0, 0.0), (4.0, 0.0)  # mouth at the top-left corner
    landmarks[11, :2], landmarks[12, :2] = (40.0, 30.0), (0.0, 30.0)
    frame = np.full((100, 100, 3), 200, dtype=np.uint8)
    crop = mouth_crop(frame, PersonPose(landmarks), DEFAULT_CROP_SPEC)
    assert crop is not None
    assert crop[0, 0].tolist() == [0, 0, 0] and crop[-1, -1].tolist() == [200, 200, 200]


def test_vision_crop_refuses_a_person_without_size() -> None:
    landmarks = np.ones((33, 3))
    assert mouth_crop(np.zeros((50, 50, 3), dtype=np.uint8), PersonPose(landmarks), DEFAULT_CROP_SPEC) is None


def test_vision_crop_refuses_unknown_geometry() -> None:
    spec = DEFAULT_CROP_SPEC.model_copy(update={"crop_version": "mouth-v99"})
    with pytest.raises(ValueError, match="unknown crop_version 'mouth-v99'"):
        mouth_crop(np.zeros((50, 50, 3), dtype=np.uint8), PersonPose(np.ones((33, 3))), spec)


@pytest.mark.parametrize(
    ("crops", "expected_shape", "expectation"),
    [
        ([np.zeros((96, 96, 3), dtype=np.uint8)] * 3, (3, 3, 96, 96), contextlib.nullcontext()),
        ([], (0, 3, 96, 96), contextlib.nullcontext()),
        ([np.zeros((64, 64, 3), dtype=np.uint8)], None, pytest.raises(ValueError, match=r"crop 0 must be uint8")),
        ([np.zeros((96, 96, 3), dtype=np.float32)], None, pytest.raises(ValueError, match="float32")),
    ],
)
def test_vision_model_input_shape(crops: list[npt.NDArray[np.uint8]], expected_shape: Any, expectation: Any) -> None:
    with expectation:
        tensor = to_model_input(crops, DEFAULT_CROP_SPEC)
        assert tuple(tensor.shape) == expected_shape and tensor.dtype == np.float32


def test_vision_model_input_is_rgb_and_normalised() -> None:
    spec = CropSpec(size_px=16, mean=(0.5, 0.25, 0.0), std=(0.5, 0.25, 1.0), crop_version="mouth-v1")
    crop = np.zeros((16, 16, 3), dtype=np.uint8)
    crop[:, :, 2] = 255  # pure red in BGR
    tensor = to_model_input([crop], spec)
    assert tensor[0, :, 0, 0].tolist() == pytest.approx([1.0, -1.0, 0.0])


@pytest.mark.parametrize(
    ("crop_version", "offset_scales", "inside"),
    [
        ("mouth-v1", 0.4, True),
        ("mouth-v1", 0.7, False),
        ("mouth-v2", 0.4, True),
        ("mouth-v2", 0.7, True),
        ("mouth-v2", 0.9, False),
        ("mouth-v3", 0.3, True),
        ("mouth-v3", 0.5, False),
    ],
)
def test_vision_crop_side_follows_the_geometry_version(crop_version: str, offset_scales: float, inside: bool) -> None:
    """A bright square beside the mouth is inside the crop only when the version's side reaches it."""
    scale = 100.0
    mouth = np.array([500.0, 400.0])
    landmarks = np.zeros((33, 3))
    landmarks[:, 2] = 1.0
    landmarks[:, :2] = mouth  # eyes on the mouth: the shoulders alone set the body scale
    landmarks[11, :2], landmarks[12, :2] = mouth + (scale / 2, 150.0), mouth + (-scale / 2, 150.0)
    frame = np.zeros((1000, 1000, 3), dtype=np.uint8)
    # The crop's centre is 0.1 body scales below the mouth, in both versions.
    x, y = int(mouth[0] + offset_scales * scale), int(mouth[1] + 0.1 * scale)
    frame[y - 2 : y + 3, x - 2 : x + 3] = 255
    spec = DEFAULT_CROP_SPEC.model_copy(update={"crop_version": crop_version})
    crop = mouth_crop(frame, PersonPose(landmarks), spec)
    assert crop is not None
    assert bool(crop.max() > 0) is inside
