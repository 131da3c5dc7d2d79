"""Person front end without models: regions, clipping, carried regions, face fusion and motion proposals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from detector.evidence.geometry import body_scale_px, mouth_point
from detector.frontend.faces import Face
from detector.frontend.fusion import AGREE_SCALES, fuse, head_region, with_face
from detector.frontend.landmarks import RegionPose
from detector.frontend.proposals import WARMUP_FRAMES, MotionProposer
from detector.frontend.regions import MAX_CROP_SIDE_PX, REGION_MARGIN, PersonRegion, cut_region, normalise_radians
from detector.frontend.tracks import RegionTracker, region_of_pose, same_region
from detector.pose import estimator as lm
from detector.pose.estimator import PersonPose
from detector.pose.regions import Box


def upright_pose(cx: float = 200.0, top: float = 100.0, height: float = 300.0) -> PersonPose:
    """A standing person's 33 landmarks: head at the top, hips half-way, feet at the bottom."""
    array = np.zeros((33, 3))
    array[:, 2] = 0.9
    unit = height / 8.0
    head_y = top + unit * 0.5
    for index in range(11):
        array[index, :2] = (cx, head_y)
    array[lm.LEFT_EYE, :2] = (cx + unit * 0.2, head_y - unit * 0.1)
    array[lm.RIGHT_EYE, :2] = (cx - unit * 0.2, head_y - unit * 0.1)
    array[lm.MOUTH_LEFT, :2] = (cx + unit * 0.1, head_y + unit * 0.3)
    array[lm.MOUTH_RIGHT, :2] = (cx - unit * 0.1, head_y + unit * 0.3)
    array[lm.LEFT_SHOULDER, :2] = (cx + unit, top + unit * 1.5)
    array[lm.RIGHT_SHOULDER, :2] = (cx - unit, top + unit * 1.5)
    for index in range(13, 23):
        array[index, :2] = (cx, top + unit * 3)
    array[lm.LEFT_HIP, :2] = (cx + unit * 0.6, top + unit * 4)
    array[lm.RIGHT_HIP, :2] = (cx - unit * 0.6, top + unit * 4)
    for index in range(25, 33):
        array[index, :2] = (cx, top + height)
    return PersonPose(array)


@pytest.mark.parametrize(
    ("scale_point", "rotation"),
    [
        ((100.0, 0.0), 0.0),  # body circle above the hips: upright
        ((200.0, 100.0), math.pi / 2),  # to the right: lying with the head right, turned a quarter clockwise
        ((0.0, 100.0), -math.pi / 2),
        ((100.0, 200.0), -math.pi),  # upside down
    ],
)
def test_vision_frontend_region_from_alignment_points(scale_point: tuple[float, float], rotation: float) -> None:
    region = PersonRegion.from_alignment((100.0, 100.0), scale_point)
    assert (region.cx, region.cy) == (100.0, 100.0)
    assert region.side == pytest.approx(2 * 100.0 * REGION_MARGIN)
    assert region.rotation == pytest.approx(rotation)


@pytest.mark.parametrize(("angle", "wrapped"), [(0.0, 0.0), (3 * math.pi, -math.pi), (-3 * math.pi / 2, math.pi / 2)])
def test_vision_frontend_angles_wrap(angle: float, wrapped: float) -> None:
    assert normalise_radians(angle) == pytest.approx(wrapped)


@pytest.mark.parametrize(
    "values",
    [(math.nan, 0.0, 10.0, 0.0), (0.0, math.inf, 10.0, 0.0), (0.0, 0.0, 0.0, 0.0), (0.0, 0.0, -5.0, 0.0)],
)
def test_vision_frontend_region_refuses_bad_values(values: tuple[float, float, float, float]) -> None:
    with pytest.raises(ValueError, match="region"):
        PersonRegion(*values)


def test_vision_frontend_region_from_box_holds_the_body() -> None:
    region = PersonRegion.from_box(Box(100, 50, 140, 250))
    bounds = region.bounds()
    assert bounds.x0 < 100 and bounds.x1 > 140 and bounds.y0 < 50 and bounds.y1 > 250
    assert region.rotation == 0.0


@pytest.mark.parametrize(
    ("region", "expect_crop", "expect_origin"),
    [
        (PersonRegion(320, 240, 100), True, (270.0, 190.0)),  # inside
        (PersonRegion(10, 10, 100), True, (0.0, 0.0)),  # leaves the frame top-left: clipped
        (PersonRegion(635, 475, 100), True, (585.0, 425.0)),  # leaves bottom-right: clipped
        (PersonRegion(-500, -500, 100), False, None),  # wholly outside
        (PersonRegion(320, 240, 4000), True, (0.0, 0.0)),  # far larger than the frame
    ],
)
def test_vision_frontend_regions_are_clipped_to_the_frame(
    region: PersonRegion, expect_crop: bool, expect_origin: tuple[float, float] | None
) -> None:
    frame = np.zeros((480, 640, 3), dtype=np.uint8)
    crop = cut_region(frame, region)
    assert (crop is not None) == expect_crop
    if crop is None:
        return
    assert crop.origin == expect_origin
    assert crop.image.dtype == np.uint8 and crop.image.flags["C_CONTIGUOUS"]
    assert max(crop.image.shape[:2]) <= max(MAX_CROP_SIDE_PX, 1) * 2
    # The region's centre, normalised to the crop, maps back to the same frame pixel.
    back = crop.to_frame(np.array([crop.centre]))
    assert back[0] == pytest.approx([region.cx, region.cy], abs=1.5 / crop.scale)


def test_vision_frontend_region_of_a_pose_centres_on_the_hips() -> None:
    pose = upright_pose()
    region = region_of_pose(pose)
    hips = (pose.point(lm.LEFT_HIP) + pose.point(lm.RIGHT_HIP)) / 2
    assert (region.cx, region.cy) == pytest.approx(tuple(hips))
    assert region.rotation == pytest.approx(0.0, abs=1e-6)
    assert region.side >= 300.0


def _result(region: PersonRegion) -> RegionPose:
    return RegionPose(pose=upright_pose(), next_region=region, region=region)


def test_vision_frontend_tracker_carries_drops_and_deduplicates() -> None:
    tracker = RegionTracker(max_regions=3, max_misses=1)
    first, second = PersonRegion(100, 100, 80), PersonRegion(400, 100, 80)
    assert tracker.add(first) and tracker.add(second)
    assert not tracker.add(PersonRegion(105, 102, 80)), "the same person must not be carried twice"
    moved = PersonRegion(110, 100, 80)
    tracker.update([_result(moved), None])
    assert tracker.regions() == [moved, second]
    tracker.update([_result(moved), None])
    assert tracker.regions() == [moved], "a region lost for more than max_misses frames is dropped"
    with pytest.raises(ValueError, match="one result per carried region"):
        tracker.update([])
    assert same_region(moved, PersonRegion(112, 101, 90))


def _face_at(mouth: tuple[float, float], eye_gap: float = 10.0, score: float = 0.9) -> Face:
    mx, my = mouth
    points = np.array(
        [
            [mx - eye_gap / 2, my - eye_gap],
            [mx + eye_gap / 2, my - eye_gap],
            [mx, my - eye_gap / 2],
            [mx, my],
            [mx - eye_gap, my - eye_gap / 2],
            [mx + eye_gap, my - eye_gap / 2],
        ]
    )
    return Face(Box(mx - eye_gap, my - 1.5 * eye_gap, mx + eye_gap, my + eye_gap / 2), points, score)


@pytest.mark.parametrize(
    ("offset_scales", "variant_expected"),
    [(0.0, False), (AGREE_SCALES * 0.8, False), (0.5, True), (0.9, True), (3.0, False)],
)
def test_vision_frontend_face_fusion_by_overlap(offset_scales: float, variant_expected: bool) -> None:
    """A face near the pose's head whose mouth disagrees gives a second pose; one far away belongs to nobody."""
    pose = upright_pose()
    scale = body_scale_px(pose)
    mouth = mouth_point(pose)
    face = _face_at((float(mouth[0] + offset_scales * scale), float(mouth[1])))
    variant, apart = fuse(pose, [face])
    assert (variant is not None) == variant_expected
    if variant is not None:
        assert mouth_point(variant) == pytest.approx(face.mouth, abs=1e-6)
        # The body and hands are the pose's own.
        assert np.array_equal(variant.landmarks[11:], pose.landmarks[11:])
        assert apart == pytest.approx(offset_scales, rel=0.05)


def test_vision_frontend_head_region_and_face_pose_stay_finite() -> None:
    pose = upright_pose()
    region = head_region(pose)
    assert region.side >= 16.0
    fused = with_face(pose, _face_at((200.0, 130.0)))
    assert np.all(np.isfinite(fused.landmarks))


def test_vision_frontend_motion_proposes_a_walking_person_only_after_warmup() -> None:
    rng = np.random.default_rng(0)
    background = rng.integers(90, 110, size=(540, 960, 3), dtype=np.uint8)
    proposer = MotionProposer()
    found: list[list[Box]] = []
    for step in range(WARMUP_FRAMES + 10):
        frame = background.copy()
        x = 100 + step * 12
        frame[200:380, x : x + 60] = 20  # a dark figure 180 px tall at 540 px (360 px at 1080p)
        found.append(proposer.propose(frame))
    assert all(boxes == [] for boxes in found[: WARMUP_FRAMES - 1])
    last = found[-1]
    assert len(last) >= 1
    box = last[0]
    x = 100 + (WARMUP_FRAMES + 9) * 12
    assert box.x0 <= x + 30 <= box.x1 and box.y0 <= 290 <= box.y1


def test_vision_frontend_motion_restarts_on_a_new_frame_size() -> None:
    proposer = MotionProposer()
    for _ in range(WARMUP_FRAMES + 2):
        proposer.propose(np.zeros((240, 320, 3), dtype=np.uint8))
    assert proposer.propose(np.zeros((100, 50, 3), dtype=np.uint8)) == []


def test_vision_frontend_motion_ignores_a_frame_that_changes_as_a_whole() -> None:
    """A moving camera or a light switched on changes most of the frame: that is nobody walking."""
    proposer = MotionProposer()
    rng = np.random.default_rng(1)
    dark = rng.integers(40, 60, size=(270, 480, 3), dtype=np.uint8)
    for _ in range(WARMUP_FRAMES + 5):
        proposer.propose(dark)
    bright = dark.copy()
    bright[:, :] += 120
    bright[60:200, 100:140] = 5  # and a person-shaped dark figure
    assert proposer.propose(bright) == []


@pytest.mark.parametrize(
    ("every", "watch", "due_per_frame"),
    [
        (1, False, [[0], [0], [0], [0]]),  # every frame
        (3, False, [[0], [], [], [0]]),  # hands away from the mouth: looked at again every third frame
        (3, True, [[0], [0], [0], [0]]),  # a hand near the mouth: every frame
    ],
)
def test_vision_frontend_tracker_refreshes_people_with_hands_away_less_often(
    every: int, watch: bool, due_per_frame: list[list[int]]
) -> None:
    tracker = RegionTracker()
    region = PersonRegion(100, 100, 80)
    tracker.add(region)
    seen = []
    for frame in range(len(due_per_frame)):
        due = tracker.due(every)
        seen.append(due)
        # A person not looked at on this frame keeps the landmarks of the last look.
        assert len(tracker.held(due)) == (0 if due or frame == 0 else 1)
        tracker.advance({index: _result(region) for index in due}, lambda _pose: watch)
    assert seen == due_per_frame
