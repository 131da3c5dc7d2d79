"""synth on a tiny real-photo folder: real pose, deterministic per seed, provenance inherited, checkable."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest

from training.check import check_dataset
from training.crops import BYSTANDER, crops_for
from training.dataset import read_labels, read_provenance
from training.frontend import DEFAULT_CROP_SPEC
from training.synth.build import SynthConfig, synthesise
from training.synth.writer import read_meta


def test_synth_writes_a_checkable_dataset(synth_dataset: Path) -> None:
    report = check_dataset(synth_dataset)
    assert report.by_label.get("positive", 0) > 0 and report.by_label.get("negative", 0) > 0
    provenance = read_provenance(synth_dataset / "dataset.yaml")
    names = {s.name for s in provenance.sources}
    # Hosts, balloons (cut from the balloon photos or rendered) and the real negatives keep their provenance.
    assert {"roboflow-smoker", "nasa-astronaut"} <= names
    assert names & {"rendered-balloon-photos", "procedural-render"}
    smoker = next(s for s in provenance.sources if s.name == "roboflow-smoker")
    assert smoker.licence == "CC BY 4.0"
    rows = read_labels(synth_dataset / "labels.csv")
    real = [r for r in rows if r.path.startswith("real/")]
    assert real and all(r.label == "negative" for r in real)
    assert {r.category for r in real} == {"smoking_vaping", "person_no_balloon"}
    metas = read_meta(synth_dataset)
    composites = [r for r in rows if r.path.startswith("images/")]
    assert len(metas) == len(composites) and all(m.target_mouth is not None for m in metas.values())
    assert all(r.split in ("train", "val") for r in rows)


def test_synth_is_deterministic_per_seed(
    data_folder: tuple[Path, Path], work_cache: Path, synth_dataset: Path, tmp_path: Path
) -> None:
    root, manifest = data_folder
    again = tmp_path / "again"
    synthesise(root, again, SynthConfig(seed=3, scenes_per_person=6, val_fraction=0.3), manifest, work_cache)
    assert (again / "labels.csv").read_text() == (synth_dataset / "labels.csv").read_text()
    rows = read_labels(again / "labels.csv")
    assert all(filecmp.cmp(again / r.path, synth_dataset / r.path, shallow=False) for r in rows)
    other = tmp_path / "other"
    synthesise(root, other, SynthConfig(seed=4, scenes_per_person=6, val_fraction=0.3), manifest, work_cache)
    assert (other / "labels.csv").read_text() != (synth_dataset / "labels.csv").read_text()


def test_synth_refuses_a_host_without_provenance(
    data_folder: tuple[Path, Path], work_cache: Path, tmp_path: Path
) -> None:
    root, manifest = data_folder
    bad = tmp_path / "manifest.yaml"
    bad.write_text(manifest.read_text().replace("hand_at_mouth/smoking_vaping/*", "nowhere/*"))
    with pytest.raises(ValueError, match="no provenance"):
        synthesise(root, tmp_path / "out", SynthConfig(seed=0), bad, work_cache)


def test_crops_label_the_carrier_with_the_detector_front_end(synth_dataset: Path, work_cache: Path) -> None:
    spec = DEFAULT_CROP_SPEC.model_copy(update={"size_px": 64})
    crops = crops_for(synth_dataset, spec, work_cache)
    assert crops.crops.shape[1:] == (64, 64, 3)
    assert crops.labels.sum() > 0
    # Positive crops carry a positive image's category; everyone else in that photo is a bystander.
    positive_categories = set(crops.categories[crops.labels == 1])
    assert positive_categories <= {"balloon_at_mouth", "rendered_balloon_at_mouth"}
    assert BYSTANDER not in positive_categories
    # Second call comes from the cache and is identical.
    again = crops_for(synth_dataset, spec, work_cache)
    assert (again.crops == crops.crops).all() and (again.labels == crops.labels).all()
