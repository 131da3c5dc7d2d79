"""The front end by stage on stills: a real run on a one-positive, one-negative eval made from the demo photo."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest
from training_support import DEMO, demo_with_balloon  # type: ignore[import-not-found, unused-ignore]

from detector.model import default_model_path, load_model, shipped_signing_key_path
from detector.pose.estimator import PersonPose
from detector.settings import AnalysisSettings
from training.frontend import read_image
from training.frontend_stills import StillsFrontEnd, measure_stills, score_people
from training.misses import MISS_REASONS
from training.synth.writer import SynthMeta

PROVENANCE = """name: tiny
sources:
  - name: demo
    origin: the project's demo photo
    licence: see nitrosignal/assets/ATTRIBUTION.md
    legal_basis: test
    collected: "2026"
    paths: ["*"]
"""


def _tiny_eval(tmp_path: Path) -> tuple[Path, Path]:
    from detector.evidence.geometry import body_scale_px, mouth_point
    from training.frontend import PoseCache

    eval_dir, synth_dir = tmp_path / "eval", tmp_path / "synth"
    (eval_dir / "people").mkdir(parents=True)
    (synth_dir / "images").mkdir(parents=True)
    demo = read_image(DEMO)
    cv2.imwrite(str(eval_dir / "people" / "demo.png"), demo)
    (eval_dir / "labels.csv").write_text("path,label,category\npeople/demo.png,negative,person_no_balloon\n")
    cv2.imwrite(str(synth_dir / "images" / "demo_balloon.png"), demo_with_balloon())
    (synth_dir / "labels.csv").write_text("path,label,category\nimages/demo_balloon.png,positive,balloon_at_mouth\n")
    (synth_dir / "dataset.yaml").write_text(PROVENANCE)
    with PoseCache(None) as poses:
        person: PersonPose = max(poses.poses(demo), key=body_scale_px)
    mouth = mouth_point(person)
    meta = SynthMeta(
        path="images/demo_balloon.png",
        kind="balloon_at_mouth",
        host="people/demo.png",
        target_mouth=(float(mouth[0]), float(mouth[1])),
        target_scale=body_scale_px(person),
    )
    (synth_dir / "synth.jsonl").write_text(json.dumps(meta.model_dump()) + "\n")
    return eval_dir, synth_dir


@pytest.mark.parametrize("front_end", ["today", "photo", "live"])
def test_training_frontend_stills_counts_every_positive_and_negative(tmp_path: Path, front_end: StillsFrontEnd) -> None:
    eval_dir, synth_dir = _tiny_eval(tmp_path)
    model = load_model(default_model_path(), trusted_keys=[shipped_signing_key_path()])
    report = measure_stills(eval_dir, synth_dir, model, front_end)
    assert report.positives == 1 and report.real_negatives == 1
    assert set(report.stages) == set(MISS_REASONS) and sum(report.stages.values()) == 1
    assert report.carriers_in_place == 1, f"{front_end}: the demo carrier must be found in place, {report.stages}"
    assert report.false_positives == sum(report.false_positives_by_category.values())


def test_training_frontend_stills_scores_nobody_as_zero() -> None:
    image = read_image(DEMO)
    best, flat, gated = score_people(
        image, [], load_model(default_model_path(), trusted_keys=[shipped_signing_key_path()]), AnalysisSettings()
    )
    assert (best, flat, gated) == (0.0, [], [])
