"""FrameAnalyzer on real photos: evidence per person, the hand-at-mouth gate, timings, and settings."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from detector.analysis import FrameAnalyzer, PersonEvidence
from detector.model import LoadedModel
from detector.settings import AnalysisSettings, EvidenceSettings, PoseSettings

# Still photos: every tile scanned on every photo, as `detector score` does.
STILL_POSE = PoseSettings(running_mode="image", tile_every_n_frames=1, tiles_per_scan="all")

REPO = Path(__file__).resolve().parents[3]
ASSETS = REPO / "tests" / "assets" / "detector"
DEMO_PERSON = REPO / "nitrosignal" / "assets" / "demo_person.jpg"
GROUP_FRAME = ASSETS / "face-demographics-walking_gif_f12.jpg"
SMOKER_P37 = ASSETS / "smoker_p37.jpg"


def read_image(path: Path) -> npt.NDArray[np.uint8]:
    """Read a test photo as uint8 BGR, failing loudly if it is missing."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, f"test photo missing: {path}"
    return np.ascontiguousarray(image, dtype=np.uint8)


@pytest.mark.parametrize(
    ("path", "max_ratio", "expect_classified"),
    [
        # A hand at the mouth (smoker): the classifier runs (its baseline score is some value > 0).
        (SMOKER_P37, 0.6, True),
        # Same photo with a gate so tight nobody passes: the classifier never runs, scores stay 0.0.
        (SMOKER_P37, 0.01, False),
        # People walking with hands down: gate closed.
        (GROUP_FRAME, 0.6, False),
    ],
)
def test_vision_classifier_runs_only_behind_the_gate(
    shipped_model: LoadedModel, path: Any, max_ratio: float, expect_classified: bool
) -> None:
    settings = AnalysisSettings(pose=STILL_POSE, evidence=EvidenceSettings(hand_mouth_max_ratio=max_ratio))
    with FrameAnalyzer(settings, shipped_model) as analyzer:
        analysis = analyzer.analyze(read_image(path))
    assert analysis.people and set(analysis.stage_ms) == {"pose", "evidence", "classify"}
    classified = [p for p in analysis.people if p.balloon_score > 0.0]
    near = [p for p in analysis.people if p.hand_mouth_ratio is not None and p.hand_mouth_ratio <= max_ratio]
    assert bool(classified) is expect_classified
    assert all(p in near for p in classified)
    for person in analysis.people:
        assert all(0.0 <= value <= 1.0 for value in person.anchor)


def test_vision_anchor_is_the_mouth_normalised(shipped_model: LoadedModel) -> None:
    image = read_image(DEMO_PERSON)
    with FrameAnalyzer(AnalysisSettings(pose=STILL_POSE), shipped_model) as analyzer:
        analysis = analyzer.analyze(image)
    assert analysis.frame_size == (image.shape[1], image.shape[0])
    (person,) = analysis.people
    # The man's mouth is in the left-centre of the photo, at about 43% across and 49% down.
    assert person.anchor == pytest.approx((0.43, 0.49), abs=0.05)
    assert person.hand_mouth_ratio is not None and person.hand_mouth_ratio < 0.6


@pytest.mark.parametrize(
    ("kwargs", "expectation"),
    [
        (
            {"local_id": 0, "hand_mouth_ratio": None, "balloon_score": 0.0, "anchor": (0.5, 0.5)},
            contextlib.nullcontext(),
        ),
        (
            {"local_id": 0, "hand_mouth_ratio": 0.1, "balloon_score": 1.2, "anchor": (0.5, 0.5)},
            pytest.raises(ValueError, match="balloon_score must be within 0..1, got 1.2"),
        ),
        (
            {"local_id": 0, "hand_mouth_ratio": 0.1, "balloon_score": 0.2, "anchor": (640.0, 0.5)},
            pytest.raises(ValueError, match="anchor must be normalised"),
        ),
    ],
)
def test_vision_person_evidence_validates(kwargs: dict[str, Any], expectation: Any) -> None:
    with expectation:
        PersonEvidence(**kwargs)


@pytest.mark.parametrize(
    ("data", "expectation"),
    [
        ({}, contextlib.nullcontext()),
        ({"pose": {"num_poses": 2, "tile_grid": [3, 2]}}, contextlib.nullcontext()),
        ({"pose": {"tile_grid": [0, 2]}}, pytest.raises(ValueError, match="tile_grid must be")),
        ({"pose": {"numposes": 2}}, pytest.raises(ValueError, match="Extra inputs are not permitted")),
        ({"evidence": {"hand_mouth_max_ratio": -1}}, pytest.raises(ValueError, match="greater than 0")),
    ],
)
def test_vision_analysis_settings_are_strict(data: dict[str, Any], expectation: Any) -> None:
    with expectation:
        AnalysisSettings.model_validate(data)


def test_vision_blank_frame_has_nobody(shipped_model: LoadedModel) -> None:
    with FrameAnalyzer(AnalysisSettings(), shipped_model) as analyzer:
        analysis = analyzer.analyze(np.zeros((360, 640, 3), dtype=np.uint8))
    assert analysis.people == ()
