"""Clips in the dataset format: checked and counted, cut into negative crops, and evaluated as wholes."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
from training_support import DEMO, demo_with_balloon, write_clip  # type: ignore[import-not-found, unused-ignore]

from detector.model import default_model_path
from training.check import check_dataset
from training.crops import CLIP_FRAME_STEP, cut_crops
from training.dataset import (
    DatasetError,
    LabelRow,
    Provenance,
    SourceProvenance,
    load_dataset,
    write_labels,
    write_provenance,
)
from training.frontend import read_image
from training.train import TRAIN_CROP_SPEC

SOURCE = SourceProvenance(
    name="test-clips",
    origin="made by the test from nitrosignal/assets/demo_person.jpg",
    licence="CC0 (the demo photo's licence)",
    legal_basis="licence of the source photo",
    collected="generated",
    paths=("*",),
)


def _clip_dataset(root: Path, clips: dict[str, tuple[str, int, int]]) -> Path:
    """A dataset of clips: name -> (label, plain demo frames, demo frames with a balloon at the mouth)."""
    plain = read_image(DEMO)
    with_balloon = demo_with_balloon()
    rows = []
    for name, (label, plain_frames, balloon_frames) in clips.items():
        write_clip(root / name, [plain] * plain_frames + [with_balloon] * balloon_frames)
        rows.append(LabelRow(path=name, label=label, category="balloon_at_mouth" if label == "positive" else "walk"))
    write_labels(root / "labels.csv", rows)
    write_provenance(root / "dataset.yaml", Provenance(name="clips", sources=(SOURCE,)))
    return root


@pytest.mark.parametrize(
    ("broken", "expectation"),
    [
        (None, contextlib.nullcontext()),
        (b"not a video", pytest.raises(DatasetError, match="raise.avi: cannot be decoded as a video clip")),
        (b"", pytest.raises(DatasetError, match="raise.avi: cannot be decoded as a video clip")),
    ],
)
def test_check_counts_clips_and_their_frames_and_refuses_an_undecodable_one(
    tmp_path: Path, broken: bytes | None, expectation: contextlib.AbstractContextManager[Any]
) -> None:
    root = _clip_dataset(tmp_path, {"raise.avi": ("positive", 3, 2), "walk.avi": ("negative", 4, 0)})
    if broken is not None:
        (root / "raise.avi").write_bytes(broken)
    with expectation:
        report = check_dataset(root)
        assert (report.clips, report.clip_frames) == (2, 9)
        assert report.by_label == {"positive": 1, "negative": 1}
        assert report.lines()[0] == "dataset clips: 0 images, 2 clips (9 frames), provenance OK"


@pytest.mark.parametrize(
    ("label", "frames", "expected_crops"),
    [
        # Every CLIP_FRAME_STEP-th frame of a negative clip, one person each: frames 0 and 10 of 12.
        ("negative", 12, 2),
        ("negative", 1, 1),
        # A positive clip does not say which frames show the balloon: left out of training, not "lost by pose".
        ("positive", 12, 0),
    ],
)
def test_clip_crops_are_negative_frames_only(tmp_path: Path, label: str, frames: int, expected_crops: int) -> None:
    assert CLIP_FRAME_STEP == 10
    root = _clip_dataset(tmp_path / "ds", {"c.avi": (label, frames, 0)})
    crops = cut_crops(load_dataset(root), TRAIN_CROP_SPEC, tmp_path / "cache")
    assert len(crops.labels) == expected_crops
    assert set(crops.labels.tolist()) <= {0}
    assert set(crops.categories.tolist()) <= {"walk"}
    assert crops.missed_positive.tolist() == [False]
    assert crops.crops.shape[1:] == (TRAIN_CROP_SPEC.size_px, TRAIN_CROP_SPEC.size_px, 3)


def test_evaluate_scores_each_clip_as_a_whole(tmp_path: Path) -> None:
    from training.evaluate import run_evaluation

    root = _clip_dataset(
        tmp_path / "ds",
        {"raise.avi": ("positive", 3, 3), "late.avi": ("positive", 5, 1), "walk.avi": ("negative", 6, 0)},
    )
    metrics = run_evaluation([root], default_model_path(), tmp_path / "report", tmp_path / "cache")
    assert metrics["images"] == 3
    assert metrics["recall"] == 1.0
    assert metrics["fpr_real_negatives"] == 0.0
    assert (tmp_path / "report" / "report.md").is_file()
