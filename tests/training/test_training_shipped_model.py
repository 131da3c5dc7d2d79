"""The shipped default model: trained (not the baseline), signed, and it finds the demo's rendered balloon."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest
from training_support import DEMO, demo_with_balloon, write_clip  # type: ignore[import-not-found, unused-ignore]

from detector.model import default_model_path, load_model
from detector.score import score_paths
from detector.settings import AnalysisSettings
from nitrosignal.modelcard import read_card
from training.export import load_public_key, verify_card
from training.frontend import read_image

REPO = Path(__file__).resolve().parents[2]


def test_shipped_model_is_trained_and_signed() -> None:
    model = default_model_path()
    card = read_card(model)
    assert not card.baseline and card.training_data and card.metrics
    assert "fpr_real_negatives" in card.metrics and card.false_positive_rate_by_category
    signature = model.with_name(model.name + ".sig").read_bytes()
    verify_card(card, signature, load_public_key(REPO / "detector" / "models" / "signing-key.pub"))


@pytest.mark.parametrize(
    ("colour", "angle", "width"),
    # Coloured balloons, as the demo uses; white ones are a documented weakness of the shipped model (card).
    [((230, 30, 40), 180.0, 0.45), ((200, 60, 200), 200.0, 0.6), ((30, 160, 60), 160.0, 0.6)],
)
def test_rendered_balloon_at_the_demo_mouth_is_detected(
    tmp_path: Path, colour: tuple[int, int, int], angle: float, width: float
) -> None:
    path = tmp_path / "demo_with_balloon.jpg"
    cv2.imwrite(str(path), demo_with_balloon(colour, angle, width))
    model = load_model(default_model_path())
    with_balloon, without = score_paths([path, DEMO], AnalysisSettings(), model)
    assert with_balloon.score >= model.card.threshold > without.score


@pytest.mark.parametrize(
    ("plain_frames", "balloon_frames", "detected"),
    [(4, 4, True), (0, 3, True), (6, 0, False)],
)
def test_a_clip_is_detected_when_some_frames_show_the_balloon(
    tmp_path: Path, plain_frames: int, balloon_frames: int, detected: bool
) -> None:
    """A clip (the dataset format's other medium) is scored as a whole, through the live analyzer."""
    plain = read_image(DEMO)
    frames = [plain] * plain_frames + [demo_with_balloon((230, 30, 40), 180.0, 0.45)] * balloon_frames
    clip = write_clip(tmp_path / "raise.avi", frames)
    model = load_model(default_model_path())
    (line,) = score_paths([clip], AnalysisSettings(), model)
    assert line.frames == len(frames)
    assert (line.score >= model.card.threshold) is detected
