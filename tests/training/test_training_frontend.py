"""The pose cache: filled by several processes, it holds exactly the poses one process computes in turn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training.frontend import PoseCache, read_image

REPO = Path(__file__).resolve().parents[2]
PHOTOS = sorted((REPO / "tests" / "assets" / "detector").glob("*.jpg")) + [
    REPO / "nitrosignal" / "assets" / "demo_person.jpg"
]


@pytest.fixture(scope="module")
def poses_in_turn() -> dict[Path, list[np.ndarray]]:
    with PoseCache(None) as cache:
        return {path: [pose.landmarks for pose in cache.poses(read_image(path))] for path in PHOTOS}


# workers → cache files written by prefetch (one per photo, or none when there is nothing to share out)
PREFETCH_TABLE = [(1, 0), (2, len(PHOTOS))]


@pytest.mark.parametrize(("workers", "files_written"), PREFETCH_TABLE)
def test_prefetched_poses_equal_poses_in_turn(
    tmp_path: Path, poses_in_turn: dict[Path, list[np.ndarray]], workers: int, files_written: int
) -> None:
    assert any(poses_in_turn.values()), "the fixture photos must show people"
    cache = PoseCache(tmp_path)
    cache.prefetch(PHOTOS, workers)
    assert len(list(tmp_path.rglob("*.npy"))) == files_written
    # Reading back goes through the cache where prefetch filled it, and computes the rest in this process.
    with cache:
        for path in PHOTOS:
            got = [pose.landmarks for pose in cache.poses(read_image(path))]
            assert len(got) == len(poses_in_turn[path]), path.name
            for ours, theirs in zip(got, poses_in_turn[path], strict=True):
                np.testing.assert_array_equal(ours, theirs)
