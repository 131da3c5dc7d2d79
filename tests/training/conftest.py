"""Fixtures for the training tests: a tiny data folder built in tmp from licence-permitted repo assets.

People: ``nitrosignal/assets/astronaut.png`` (public domain), ``demo_person.jpg`` and the detector's test
photos (CC BY 4.0 Roboflow smoker export and Intel sample-video frames). Balloons: rendered balloons on a
textured background, with Matterport-format boxes, because no licence-free real balloon photo can ship.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from training_support import write_balloon_folder  # type: ignore[import-not-found, unused-ignore]

from training.dataset import Provenance, SourceProvenance, write_provenance

REPO = Path(__file__).resolve().parents[2]
ASSETS = REPO / "nitrosignal" / "assets"
DETECTOR_ASSETS = REPO / "tests" / "assets" / "detector"


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def build_data_folder(root: Path) -> Path:
    """Write the tiny data folder (shared layout) and a provenance manifest; returns the manifest path."""
    (root / "people").mkdir(parents=True)
    (root / "hand_at_mouth" / "smoking_vaping").mkdir(parents=True)
    (root / "balloons").mkdir(parents=True)
    shutil.copy(ASSETS / "astronaut.png", root / "people" / "astronaut.png")
    shutil.copy(DETECTOR_ASSETS / "classroom_gif_f12.jpg", root / "people" / "intel_classroom_f12.jpg")
    shutil.copy(ASSETS / "demo_person.jpg", root / "hand_at_mouth" / "smoking_vaping" / "smoker_demo.jpg")
    shutil.copy(DETECTOR_ASSETS / "smoker_p37.jpg", root / "hand_at_mouth" / "smoking_vaping" / "smoker_p37.jpg")
    shutil.copy(DETECTOR_ASSETS / "smoker_p02.jpg", root / "hand_at_mouth" / "smoking_vaping" / "smoker_p02.jpg")
    write_balloon_folder(root / "balloons", 2)
    manifest = root.parent / f"{root.name}-manifest.yaml"
    write_provenance(
        manifest,
        Provenance(
            name="test-assets",
            sources=(
                SourceProvenance(
                    name="nasa-astronaut",
                    origin="NASA via scikit-image (nitrosignal/assets/astronaut.png)",
                    licence="public domain",
                    legal_basis="public domain work of the US federal government",
                    collected="unknown",
                    paths=("people/astronaut.png",),
                ),
                SourceProvenance(
                    name="intel-sample-videos",
                    origin="intel-iot-devkit/sample-videos",
                    licence="CC BY 4.0",
                    legal_basis="CC BY 4.0",
                    collected="unknown",
                    paths=("people/intel_*",),
                ),
                SourceProvenance(
                    name="roboflow-smoker",
                    origin="Roboflow cctv-smoking/smoker v1 via muhammadammad846/AI-Smoker-Detection",
                    licence="CC BY 4.0",
                    legal_basis="CC BY 4.0",
                    collected="unknown",
                    paths=("hand_at_mouth/smoking_vaping/*",),
                ),
                SourceProvenance(
                    name="rendered-balloon-photos",
                    origin="rendered by the test",
                    licence="generated",
                    legal_basis="no personal data",
                    collected="generated",
                    paths=("balloons/*",),
                ),
            ),
        ),
    )
    return manifest


@pytest.fixture(scope="session")
def data_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(data folder, manifest) shared by the tests of a session."""
    root = tmp_path_factory.mktemp("data") / "train"
    return root, build_data_folder(root)


@pytest.fixture(scope="session")
def work_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pose/crop cache shared by the tests of a session."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def synth_dataset(data_folder: tuple[Path, Path], work_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic dataset (seed 3) built once per session."""
    from training.synth.build import SynthConfig, synthesise

    root, manifest = data_folder
    out = tmp_path_factory.mktemp("synth") / "ds"
    synthesise(root, out, SynthConfig(seed=3, scenes_per_person=6, val_fraction=0.3), manifest, work_cache)
    return out
