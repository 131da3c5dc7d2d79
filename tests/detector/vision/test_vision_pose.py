"""Pose: the in-memory bundle, PersonPose validation, tiles, and real MediaPipe on real photos."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import zipfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from detector.pose.bundle import BUNDLE_DETECTOR_NAME, BUNDLE_LANDMARK_NAME, pose_landmarker_bundle
from detector.pose.estimator import PersonPose, PoseEstimator, same_face
from detector.pose.regions import Box, box_overlap, expand_box, tile_boxes
from detector.settings import PoseSettings

# Still photos: every tile scanned on every photo, as `detector score` does.
STILL_POSE = PoseSettings(running_mode="image", tile_every_n_frames=1, tiles_per_scan="all")

REPO = Path(__file__).resolve().parents[3]
ASSETS = REPO / "tests" / "assets" / "detector"
CLASSROOM_FRAME = ASSETS / "classroom_gif_f12.jpg"
DEMO_PERSON = REPO / "nitrosignal" / "assets" / "demo_person.jpg"
GROUP_FRAME = ASSETS / "face-demographics-walking_gif_f12.jpg"


def read_image(path: Path) -> npt.NDArray[np.uint8]:
    """Read a test photo as uint8 BGR, failing loudly if it is missing."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, f"test photo missing: {path}"
    return np.ascontiguousarray(image, dtype=np.uint8)


def test_vision_bundle_is_a_zip_of_both_models_in_memory() -> None:
    bundle = pose_landmarker_bundle()
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        names = sorted(archive.namelist())
        assert names == sorted([BUNDLE_DETECTOR_NAME, BUNDLE_LANDMARK_NAME])
        # Stored uncompressed so MediaPipe can map the models directly.
        assert all(info.compress_type == zipfile.ZIP_STORED for info in archive.infolist())
        # The TFLite flatbuffer identifier sits at bytes 4..8; metadata was added, so the files grew.
        assert all(archive.read(name)[4:8] == b"TFL3" for name in names)


_WRITES: list[str] = []
_RECORDING: list[bool] = []


def _record_writes(event: str, args: tuple[Any, ...]) -> None:
    # Audit hooks cannot be removed, so this one only records while a test switches it on.
    if not _RECORDING:
        return
    if event == "open" and isinstance(args[0], str | bytes | Path):
        mode, flags = args[1], args[2]
        if (isinstance(mode, str) and any(c in mode for c in "wax+")) or (flags & (os.O_WRONLY | os.O_RDWR)):
            _WRITES.append(f"open {args[0]!r} {mode!r}")
    elif event in {"os.mkdir", "os.rename", "os.remove", "shutil.copyfile"}:
        _WRITES.append(f"{event} {args[0]!r}")


def test_vision_bundle_build_writes_nothing() -> None:
    """Building the bundle opens no file for writing and makes no folder, not even a temporary one."""
    # A first build imports mediapipe's writer modules, whose import side effects are not ours to judge.
    pose_landmarker_bundle()
    sys.addaudithook(_record_writes)
    pose_landmarker_bundle.cache_clear()
    _RECORDING.append(True)
    try:
        bundle = pose_landmarker_bundle()
    finally:
        _RECORDING.clear()
    assert len(bundle) > 1_000_000
    assert _WRITES == []


@pytest.mark.parametrize(
    ("shape", "fill", "expectation"),
    [
        ((33, 3), 1.0, contextlib.nullcontext()),
        ((17, 3), 1.0, pytest.raises(ValueError, match=r"shape \(33, 3\), got \(17, 3\)")),
        ((33, 2), 1.0, pytest.raises(ValueError, match=r"got \(33, 2\)")),
        ((33, 3), float("nan"), pytest.raises(ValueError, match="finite")),
    ],
)
def test_vision_person_pose_validates_shape(shape: tuple[int, int], fill: float, expectation: Any) -> None:
    with expectation:
        pose = PersonPose(np.full(shape, fill))
        assert pose.landmarks.shape == (33, 3)
        assert not pose.landmarks.flags.writeable


@pytest.mark.parametrize(
    ("size", "grid", "overlap", "expected_count", "expectation"),
    [
        ((1280, 720), (2, 1), 0.2, 2, contextlib.nullcontext()),
        ((1280, 720), (3, 2), 0.1, 6, contextlib.nullcontext()),
        ((640, 480), (1, 1), 0.0, 1, contextlib.nullcontext()),
        ((640, 480), (0, 1), 0.0, 0, pytest.raises(ValueError, match="at least one column")),
        ((640, 480), (2, 2), 0.5, 0, pytest.raises(ValueError, match="overlap")),
    ],
)
def test_vision_tiles_cover_the_frame(
    size: tuple[int, int], grid: tuple[int, int], overlap: float, expected_count: int, expectation: Any
) -> None:
    with expectation:
        boxes = tile_boxes(size[0], size[1], grid, overlap)
        assert len(boxes) == expected_count
        assert min(b.x0 for b in boxes) == 0 and min(b.y0 for b in boxes) == 0
        assert max(b.x1 for b in boxes) == pytest.approx(size[0]) and max(b.y1 for b in boxes) == pytest.approx(size[1])
        if grid[0] > 1:
            # Neighbouring tiles share a strip, so a person on the seam is whole in one of them.
            assert boxes[1].x0 < boxes[0].x1


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        (Box(0, 0, 10, 10), Box(20, 20, 30, 30), 0.0),
        (Box(0, 0, 10, 10), Box(2, 2, 8, 8), 1.0),
        (Box(0, 0, 10, 10), Box(5, 0, 15, 10), 0.5),
    ],
)
def test_vision_box_overlap(first: Box, second: Box, expected: float) -> None:
    assert box_overlap(first, second) == pytest.approx(expected)


def test_vision_expand_box_is_clipped_to_frame() -> None:
    grown = expand_box(Box(0, 0, 100, 50), 2.0, 150, 150)
    assert grown == Box(0.0, 0.0, 150.0, 125.0)


def test_vision_pose_finds_the_person_in_demo_photo(still_estimator: PoseEstimator) -> None:
    image = read_image(DEMO_PERSON)
    poses = still_estimator.estimate(image)
    assert len(poses) == 1
    box = poses[0].box()
    # The man fills the middle of the photo; his nose lies inside the image.
    nose = poses[0].point(0)
    assert 0 < nose[0] < image.shape[1] and 0 < nose[1] < image.shape[0]
    assert box.x1 - box.x0 > image.shape[1] * 0.3


@pytest.mark.parametrize(("path", "minimum"), [(GROUP_FRAME, 2), (CLASSROOM_FRAME, 2)])
def test_vision_pose_finds_several_people(still_estimator: PoseEstimator, path: Any, minimum: int) -> None:
    poses = still_estimator.estimate(read_image(path))
    assert len(poses) >= minimum
    # Different people, not the same one found twice by overlapping tiles.
    boxes = [p.box() for p in poses]
    assert all(box_overlap(a, b) <= 0.4 for i, a in enumerate(boxes) for b in boxes[i + 1 :])


def test_vision_tiles_find_people_a_single_pass_misses() -> None:
    image = read_image(CLASSROOM_FRAME)
    with (
        # At the strict detector threshold the full frame misses the small person (the default, 0.3, finds
        # them in this frame); what is tested here is that tiles find who the full frame misses.
        PoseEstimator(PoseSettings(running_mode="image", tile_grid=(1, 1), min_detection_confidence=0.5)) as single,
        PoseEstimator(STILL_POSE.model_copy(update={"min_detection_confidence": 0.5})) as tiled,
    ):
        assert len(tiled.estimate(image)) > len(single.estimate(image))


@pytest.mark.parametrize(
    ("frame", "expectation"),
    [
        (np.zeros((64, 64, 3), dtype=np.uint8), contextlib.nullcontext()),
        (np.zeros((64, 64), dtype=np.uint8), pytest.raises(ValueError, match=r"\(H, W, 3\) uint8")),
        (np.zeros((64, 64, 3), dtype=np.float32), pytest.raises(ValueError, match="uint8")),
    ],
)
def test_vision_estimate_validates_frames(still_estimator: PoseEstimator, frame: Any, expectation: Any) -> None:
    with expectation:
        assert still_estimator.estimate(frame) == []


def test_vision_video_mode_tracks_over_frames() -> None:
    image = read_image(DEMO_PERSON)
    with PoseEstimator(PoseSettings(running_mode="video")) as estimator:
        counts = [len(estimator.estimate(image, timestamp_ms=40 * i)) for i in range(3)]
    assert counts == [1, 1, 1]


@pytest.mark.parametrize(
    ("track_regions", "expected"),
    [
        # Round-robin tiles: the small person is seen on tile frames only (0, 4, 8 with one tile each 4 frames).
        (False, [2, 1, 1, 1, 1, 1, 1, 1, 2]),
        # Regions keep re-analysing where the small person was found: seen on every frame.
        (True, [2, 2, 2, 2, 2, 2, 2, 2, 2]),
    ],
)
def test_vision_round_robin_tiles_and_regions(track_regions: bool, expected: list[int]) -> None:
    image = read_image(CLASSROOM_FRAME)
    settings = PoseSettings(
        tile_every_n_frames=4, tiles_per_scan="one", track_regions=track_regions, min_detection_confidence=0.5
    )
    with PoseEstimator(settings) as estimator:
        assert [len(estimator.estimate(image)) for _ in range(9)] == expected


def _face_at(mouth_x: float, mouth_y: float, eye_to_mouth: float, body_dx: float = 0.0) -> PersonPose:
    """A synthetic pose: eyes above the mouth by ``eye_to_mouth`` px, the body shifted by ``body_dx``."""
    landmarks = np.zeros((33, 3))
    landmarks[:, 0] = mouth_x + body_dx
    landmarks[:, 1] = mouth_y + 3 * eye_to_mouth
    landmarks[:, 2] = 0.9
    for index in (9, 10):
        landmarks[index, :2] = (mouth_x, mouth_y)
    for index in (2, 5):
        landmarks[index, :2] = (mouth_x, mouth_y - eye_to_mouth)
    return PersonPose(landmarks)


@pytest.mark.parametrize(
    ("case", "second", "same"),
    [
        ("the same face with a body guessed far to the left", _face_at(105.0, 100.0, 20.0, body_dx=-300.0), True),
        ("a neighbour one face height away", _face_at(130.0, 100.0, 20.0), False),
        ("someone across the frame", _face_at(400.0, 120.0, 20.0), False),
    ],
)
def test_vision_same_face_merges_a_double_detection(case: str, second: PersonPose, same: bool) -> None:
    assert same_face(_face_at(100.0, 100.0, 20.0), second) is same, case
