"""Person front end with real MediaPipe on real photos: landmarks on regions, faces, carried people, bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from detector.evidence.geometry import body_scale_px, mouth_point
from detector.frontend.bench import run_frontend_bench, run_people_scaling
from detector.frontend.faces import FaceFinder
from detector.frontend.fusion import head_region
from detector.frontend.landmarks import RegionLandmarker
from detector.frontend.pipeline import FrontEndSettings, PersonFrontEnd
from detector.frontend.regions import PersonRegion
from detector.frontend.tiles import person_scale_tiles
from detector.frontend.tracks import region_of_pose
from detector.pose.estimator import PersonPose, PoseEstimator
from detector.settings import PoseSettings

REPO = Path(__file__).resolve().parents[3]
ASSETS = REPO / "tests" / "assets" / "detector"
DEMO_PERSON = REPO / "nitrosignal" / "assets" / "demo_person.jpg"
GROUP_FRAME = ASSETS / "face-demographics-walking_gif_f12.jpg"
LIVE = FrontEndSettings(motion=False)


def read_image(path: Path) -> npt.NDArray[np.uint8]:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, f"test photo missing: {path}"
    return np.ascontiguousarray(image, dtype=np.uint8)


@pytest.fixture(scope="module")
def landmarker() -> Iterator[RegionLandmarker]:
    with RegionLandmarker() as model:
        yield model


@pytest.fixture(scope="module")
def demo_pose(still_estimator: PoseEstimator) -> PersonPose:
    poses = still_estimator.estimate(read_image(DEMO_PERSON))
    assert len(poses) == 1
    return poses[0]


def test_vision_frontend_landmarks_on_a_region_without_the_person_detector(
    landmarker: RegionLandmarker, demo_pose: PersonPose
) -> None:
    frame = read_image(DEMO_PERSON)
    (result,) = landmarker.landmarks(frame, [region_of_pose(demo_pose)])
    assert result is not None
    scale = body_scale_px(demo_pose)
    shift = float(np.linalg.norm(mouth_point(result.pose) - mouth_point(demo_pose))) / scale
    assert shift < 0.15, f"the landmark model on the person's region put the mouth {shift:.2f} body scales away"
    # The next region follows the same person.
    assert abs(result.next_region.cx - result.region.cx) < 0.25 * result.region.side


@pytest.mark.parametrize(
    ("region", "expect_person"),
    [
        (PersonRegion(-5000, -5000, 300), False),  # wholly outside: nothing, no error
        (PersonRegion(60, 60, 100), False),  # an empty corner: the presence score says nobody
    ],
)
def test_vision_frontend_landmarks_where_nobody_is(
    landmarker: RegionLandmarker, region: PersonRegion, expect_person: bool
) -> None:
    frame = np.full((480, 640, 3), 128, dtype=np.uint8)
    (result,) = landmarker.landmarks(frame, [region])
    assert (result is not None) == expect_person


def test_vision_frontend_landmarks_on_a_region_leaving_the_frame(
    landmarker: RegionLandmarker, demo_pose: PersonPose
) -> None:
    """The demo photo is a close-up: the person's region reaches far below the frame and is clipped."""
    frame = read_image(DEMO_PERSON)
    region = region_of_pose(demo_pose)
    assert region.bounds().y1 > frame.shape[0]
    (result,) = landmarker.landmarks(frame, [region])
    assert result is not None and np.all(np.isfinite(result.pose.landmarks))


def test_vision_frontend_blazeface_finds_the_face_in_the_head_region(demo_pose: PersonPose) -> None:
    frame = read_image(DEMO_PERSON)
    with FaceFinder() as faces:
        (found,) = faces.find(frame, [head_region(demo_pose)])
    assert len(found) >= 1
    best = max(found, key=lambda face: face.score)
    apart = float(np.linalg.norm(best.mouth - mouth_point(demo_pose))) / body_scale_px(demo_pose)
    assert apart < 0.3


def test_vision_frontend_carries_a_person_whose_face_is_covered(demo_pose: PersonPose) -> None:
    """Seen once with the face visible, the person keeps their landmarks when a balloon hides the lower face."""
    clean = read_image(DEMO_PERSON)
    covered = clean.copy()
    mouth = mouth_point(demo_pose)
    scale = body_scale_px(demo_pose)
    centre = (round(mouth[0]), round(mouth[1] + 0.15 * scale))
    axes = (round(0.35 * scale), round(0.3 * scale))
    cv2.ellipse(covered, centre, axes, 0, 0, 360, (40, 40, 220), thickness=-1)
    settings = LIVE.model_copy(update={"detect_every_n_frames": 100, "faces": False, "person_tiles": "off"})
    with PersonFrontEnd(PoseSettings(), settings) as front_end:
        first = front_end.analyze(clean, 0)
        second = front_end.analyze(covered, 100)
    assert [p.source for p in first.people] == ["detect"]
    assert [p.source for p in second.people] == ["track"], "the carried region must keep the person"
    shift = float(np.linalg.norm(mouth_point(second.people[0].pose) - mouth) / scale)
    assert shift < 0.5


def test_vision_frontend_finds_the_walking_group_and_times_every_stage() -> None:
    frame = read_image(GROUP_FRAME)
    with PersonFrontEnd(PoseSettings(), LIVE) as front_end:
        results = [front_end.analyze(frame, 100 * index) for index in range(3)]
    assert len(results[0].people) >= 2
    assert {p.source for p in results[1].people} == {"track"}
    for result in results:
        assert set(result.stage_ms) == {"track", "detect", "tiles", "motion", "face_proposals", "faces"}
        assert all(ms >= 0.0 for ms in result.stage_ms.values())


def test_vision_frontend_reset_forgets_carried_people() -> None:
    frame = read_image(GROUP_FRAME)
    with PersonFrontEnd(PoseSettings(), LIVE.model_copy(update={"detect_every_n_frames": 50})) as front_end:
        front_end.analyze(frame, 0)
        assert {p.source for p in front_end.analyze(frame, 100).people} == {"track"}
        front_end.reset()
        assert {p.source for p in front_end.analyze(frame, 200).people} == {"detect"}


def test_vision_frontend_bench_times_stages_against_bare_pose(tmp_path: Path) -> None:
    video = tmp_path / "walk.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, (480, 270))
    frame = read_image(GROUP_FRAME)
    for index in range(6):
        writer.write(np.roll(frame, index * 3, axis=1))
    writer.release()
    report = run_frontend_bench(video, seconds=10.0)
    assert report.frames == 6 and report.people_mean >= 1.0
    assert report.cpu_ms_per_frame > 0 and report.bare_pose_cpu_ms_per_frame > 0
    assert set(report.stage_ms) == {"track", "detect", "tiles", "motion", "face_proposals", "faces", "total"}
    (point,) = run_people_scaling(read_image(DEMO_PERSON), counts=(2,), frames=3)
    assert point.people == 2 and point.found_mean >= 1.0


def _grey(shape: tuple[int, ...]) -> npt.NDArray[np.uint8]:
    colour = read_image(GROUP_FRAME)
    grey = cv2.cvtColor(colour, cv2.COLOR_BGR2GRAY)
    return np.ascontiguousarray(grey.reshape(shape[:2] + (1,) * (len(shape) - 2)))


@pytest.mark.parametrize(
    ("make_frame", "people_at_least"),
    [
        (lambda: np.zeros((1080, 1920, 3), dtype=np.uint8), 0),  # no people
        (lambda: np.full((77, 333, 3), 200, dtype=np.uint8), 0),  # an unexpected size
        (lambda: np.zeros((9, 9, 3), dtype=np.uint8), 0),  # tiny
        (lambda: _grey((270, 480)), 1),  # grey (infrared cameras deliver one channel)
        (lambda: _grey((270, 480, 1)), 1),
        (lambda: cv2.cvtColor(read_image(GROUP_FRAME), cv2.COLOR_BGR2BGRA), 1),
    ],
)
def test_vision_frontend_bad_input_is_analysed_without_error(make_frame: object, people_at_least: int) -> None:
    frame = make_frame()  # type: ignore[operator]
    with PersonFrontEnd(PoseSettings(), LIVE) as front_end:
        for index in range(2):
            result = front_end.analyze(frame, index * 100)
            assert len(result.people) >= people_at_least


@pytest.mark.parametrize(
    "frame",
    [
        np.zeros((10, 10, 3), dtype=np.float32),
        np.zeros((10, 10, 2), dtype=np.uint8),
        np.zeros((10,), dtype=np.uint8),
    ],
)
def test_vision_frontend_refuses_what_is_not_an_image(frame: npt.NDArray[np.generic]) -> None:
    with PersonFrontEnd(PoseSettings(), LIVE) as front_end, pytest.raises(ValueError, match="frame must"):
        front_end.analyze(frame)  # type: ignore[arg-type]


def test_vision_frontend_refuses_to_run_once_closed() -> None:
    front_end = PersonFrontEnd(PoseSettings(), LIVE)
    front_end.close()
    front_end.close()
    with pytest.raises(RuntimeError, match="closed"):
        front_end.analyze(np.zeros((10, 10, 3), dtype=np.uint8))


@pytest.mark.parametrize(
    ("size", "fraction", "count"),
    [
        ((1920, 1080), 0.44, 18),  # 475 px tiles: 6 columns, 3 rows
        ((1280, 720), 0.44, 18),  # the same scene at 720p: the same tiling
        ((480, 480), 1.0, 0),  # one tile would be the frame: no tiles
        ((640, 480), 1.0, 2),
        ((300, 200), 0.44, 2),  # never smaller than the detector's own input
    ],
)
def test_vision_frontend_person_scale_tiles_cover_the_frame(size: tuple[int, int], fraction: float, count: int) -> None:
    width, height = size
    tiles = person_scale_tiles(width, height, fraction, 0.25)
    assert len(tiles) == count
    if tiles:
        assert min(t.x0 for t in tiles) == 0 and min(t.y0 for t in tiles) == 0
        assert max(t.x1 for t in tiles) == width and max(t.y1 for t in tiles) == height


PRIVACY_SCRIPT = """
import numpy as np, cv2, sys
from detector.frontend.pipeline import FrontEndSettings, PersonFrontEnd
from detector.settings import PoseSettings
frame = np.ascontiguousarray(cv2.imread(sys.argv[1]))
with PersonFrontEnd(PoseSettings(), FrontEndSettings()) as front_end:
    for index in range(20):
        front_end.analyze(np.roll(frame, index * 4, axis=1), index * 100)
"""


def test_vision_frontend_writes_nothing_to_disk(tmp_path: Path) -> None:
    """Frames, crops, regions and landmarks stay in memory: the front end writes no file anywhere it could."""
    home, work, temp = tmp_path / "home", tmp_path / "work", tmp_path / "tmp"
    for folder in (home, work, temp):
        folder.mkdir()
    env = {**os.environ, "HOME": str(home), "TMPDIR": str(temp), "MPLCONFIGDIR": str(home / "mpl")}
    subprocess.run([sys.executable, "-c", PRIVACY_SCRIPT, str(GROUP_FRAME)], cwd=work, env=env, check=True, timeout=300)
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    # matplotlib (imported by mediapipe) may cache fonts under its config folder; nothing else may appear.
    assert [p for p in written if not p.startswith("home/mpl")] == []
