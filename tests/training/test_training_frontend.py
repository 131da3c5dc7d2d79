"""The pose cache: however many processes fill it, it holds the same poses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from training.frontend import PoseCache, read_image

REPO = Path(__file__).resolve().parents[2]
PHOTOS = sorted((REPO / "tests" / "assets" / "detector").glob("*.jpg")) + [
    REPO / "nitrosignal" / "assets" / "demo_person.jpg"
]

Poses = dict[Path, list[NDArray[np.float64]]]


def _filled(folder: Path, workers: int, chunk: int) -> dict[str, NDArray[np.float64]]:
    PoseCache(folder).prefetch(PHOTOS, workers, chunk)
    return {path.name: np.load(path) for path in folder.rglob("*.npy")}


@pytest.fixture(scope="module")
def poses_in_turn() -> Poses:
    """One estimator analysing the photos in order, without a disk cache."""
    with PoseCache(None) as cache:
        return {path: [pose.landmarks for pose in cache.poses(read_image(path))] for path in PHOTOS}


# photos per fresh estimator: one chunk for all, or three chunks shared out over the workers
@pytest.mark.parametrize("chunk", [len(PHOTOS), 2])
def test_the_number_of_workers_does_not_change_the_poses(tmp_path: Path, chunk: int) -> None:
    one = _filled(tmp_path / "one", workers=1, chunk=chunk)
    two = _filled(tmp_path / "two", workers=2, chunk=chunk)
    assert len(one) == len(PHOTOS) and one.keys() == two.keys()
    for name, landmarks in one.items():
        np.testing.assert_array_equal(landmarks, two[name])


def test_prefetched_poses_are_what_the_reader_gets(tmp_path: Path, poses_in_turn: Poses) -> None:
    assert any(poses_in_turn.values()), "the fixture photos must show people"
    cache = PoseCache(tmp_path)
    cache.prefetch(PHOTOS, workers=2, chunk=len(PHOTOS))
    with cache:
        for path in PHOTOS:
            got = [pose.landmarks for pose in cache.poses(read_image(path))]
            assert len(got) == len(poses_in_turn[path]), path.name
            for ours, theirs in zip(got, poses_in_turn[path], strict=True):
                np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_photo_in_several_chunks_keeps_its_first_chunks_poses(tmp_path: Path, workers: int) -> None:
    # Synth can produce the same pixels twice; both chunks analyse the photo, in different company, and
    # two processes must neither trip over each other's files nor race for which poses are kept.
    alone = _filled(tmp_path / "alone", workers=1, chunk=len(PHOTOS))
    PoseCache(tmp_path / "twice").prefetch(PHOTOS + PHOTOS[::-1], workers, chunk=len(PHOTOS))
    twice = {path.name: np.load(path) for path in (tmp_path / "twice").rglob("*.npy")}
    assert twice.keys() == alone.keys()
    for name, landmarks in alone.items():
        np.testing.assert_array_equal(landmarks, twice[name])


def test_a_filled_cache_is_not_analysed_again(tmp_path: Path) -> None:
    _filled(tmp_path, workers=2, chunk=2)
    written = {path: path.stat().st_mtime_ns for path in tmp_path.rglob("*.npy")}
    PoseCache(tmp_path).prefetch(PHOTOS, workers=2, chunk=2)
    assert {path: path.stat().st_mtime_ns for path in tmp_path.rglob("*.npy")} == written
    assert not list(tmp_path.rglob("*.tmp.npy"))
