"""Shared fixtures for the detector vision tests: real MediaPipe and the shipped model."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from detector.model import LoadedModel, default_model_path, load_model, shipped_signing_key_path
from detector.pose.estimator import PoseEstimator
from detector.settings import PoseSettings

# Still photos: every tile scanned on every photo, as `detector score` does.
STILL_POSE = PoseSettings(running_mode="image", tile_every_n_frames=1, tiles_per_scan="all")


@pytest.fixture(scope="session")
def still_estimator() -> Iterator[PoseEstimator]:
    """An image-mode estimator with tiles, shared across tests (building the graph takes a while)."""
    estimator = PoseEstimator(STILL_POSE)
    yield estimator
    estimator.close()


@pytest.fixture(scope="session")
def shipped_model() -> LoadedModel:
    """The shipped balloon-at-mouth model, verified against its card and signature (one classifier thread)."""
    return load_model(default_model_path(), trusted_keys=[shipped_signing_key_path()])
