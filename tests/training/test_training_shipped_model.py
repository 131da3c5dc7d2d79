"""The shipped default model: trained (not the baseline), signed, and it finds the demo's rendered balloon."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from detector.model import default_model_path, load_model
from detector.score import score_paths
from detector.settings import AnalysisSettings
from nitrosignal.modelcard import read_card
from training.export import load_public_key, verify_card
from training.frontend import PoseCache, read_image
from training.synth.composite import composite_balloon, sprite_cutout
from training.synth.placement import person_from_pose
from training.synth.rendered import render_balloon

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "nitrosignal" / "assets" / "demo_person.jpg"


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
    image = read_image(DEMO)
    with PoseCache(None) as poses:
        person = max((person_from_pose(p) for p in poses.poses(image)), key=lambda p: p.scale)
    sprite = render_balloon(int(person.scale * width * 1.5), colour, np.random.default_rng(1))
    composite = composite_balloon(image, sprite_cutout(sprite, "test"), person.mouth, person.scale * width, angle, 0.4)
    path = tmp_path / "demo_with_balloon.jpg"
    cv2.imwrite(str(path), composite)
    model = load_model(default_model_path())
    with_balloon, without = score_paths([path, DEMO], AnalysisSettings(), model)
    assert with_balloon.score >= model.card.threshold > without.score
