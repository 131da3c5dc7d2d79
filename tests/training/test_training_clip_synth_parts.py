"""The parts of synth-clips that need no video: event shapes, ping-pong playback, host runs, camera look."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from detector.pose import estimator as lm
from detector.pose.estimator import PersonPose
from training.synth.hosts import _runs, faces_camera, smooth_landmarks
from training.synth.realism import edge_blur_sigma, motion_kernel, noise_sigma
from training.synth.timeline import EventShape, bounce, deflation, lift, plan_events

EVENT = EventShape(start_s=2.0, raise_s=0.5, hold_s=4.0, lower_s=0.5)


@pytest.mark.parametrize(
    ("at_s", "expected"),
    [(0.0, 0.0), (1.99, 0.0), (2.0, 0.0), (2.25, 0.5), (2.5, 1.0), (4.0, 1.0), (6.49, 1.0), (6.75, 0.5), (7.0, 0.0)],
)
def test_lift_raises_holds_and_lowers(at_s: float, expected: float) -> None:
    assert lift(at_s, (EVENT,)) == pytest.approx(expected, abs=1e-2)


def test_deflation_shrinks_over_the_holds_only() -> None:
    second = EventShape(start_s=10.0, raise_s=0.5, hold_s=2.0, lower_s=0.5)
    sizes = [deflation(t, (EVENT, second), 0.81) for t in np.arange(0.0, 14.0, 0.1)]
    assert sizes[0] == 1.0 and sizes[-1] == pytest.approx(0.81)
    assert all(b <= a + 1e-12 for a, b in zip(sizes, sizes[1:], strict=False))
    assert deflation(8.0, (EVENT, second), 0.81) == pytest.approx(0.9)  # half of it inhaled after one of two events


@pytest.mark.parametrize(
    ("first", "last", "phase", "expected"),
    [
        (3, 6, 0, [3, 4, 5, 6, 5, 4, 3, 4, 5]),
        (3, 6, 2, [5, 6, 5, 4, 3, 4, 5, 6, 5]),
        (7, 7, 0, [7] * 9),
    ],
)
def test_bounce_plays_forward_and_back(first: int, last: int, phase: int, expected: list[int]) -> None:
    assert [bounce(n, first, last, phase) for n in range(9)] == expected


def test_plans_are_drawn_from_the_generator_and_within_their_ranges() -> None:
    plans = [
        plan_events(np.random.default_rng(seed), hold_s=(2.0, 8.0), two_events=seed % 2 == 0) for seed in range(40)
    ]
    assert plans[3] == plan_events(np.random.default_rng(3), hold_s=(2.0, 8.0), two_events=False)
    for seed, plan in enumerate(plans):
        assert len(plan.events) == (2 if seed % 2 == 0 else 1)
        assert all(2.0 <= e.hold_s <= 8.0 and 0.4 <= e.raise_s <= 0.6 for e in plan.events)
        assert 1.5 <= plan.events[0].start_s <= 3.0 and plan.length_s >= plan.events[-1].end_s + 3.0
        if len(plan.events) == 2:
            assert 2.0 <= plan.events[1].start_s - plan.events[0].end_s <= 5.0


def test_an_event_needs_a_raise_and_a_lowering() -> None:
    with pytest.raises(ValueError, match="positive raise"):
        EventShape(start_s=1.0, raise_s=0.0, hold_s=2.0, lower_s=0.5)


@pytest.mark.parametrize(
    ("usable", "max_gap", "runs"),
    [
        ([1, 1, 0, 1, 1, 0, 0, 0, 1], 1, [(0, 4), (8, 8)]),
        ([1, 1, 0, 1, 1, 0, 0, 0, 1], 3, [(0, 8)]),
        ([0, 0, 0], 2, []),
    ],
)
def test_runs_bridge_short_gaps(usable: list[int], max_gap: int, runs: list[tuple[int, int]]) -> None:
    assert _runs(np.asarray(usable, dtype=bool), max_gap) == runs


def test_smoothing_fills_gaps_and_keeps_a_still_person_still() -> None:
    still = np.zeros((33, 3))
    still[:, 0], still[:, 1], still[:, 2] = 100.0, 50.0, 0.9
    moving = {0: still, 1: still + [2.0, 0.0, 0.0], 4: still + [8.0, 0.0, 0.0]}
    filled = smooth_landmarks(moving, 0, 4, sigma_frames=0.0)
    assert filled.shape == (5, 33, 3)
    assert filled[2:4, 0, 0].tolist() == pytest.approx([104.0, 106.0])  # the gap filled on the line
    smoothed = smooth_landmarks({i: still for i in range(6)}, 0, 5, sigma_frames=1.5)
    assert np.allclose(smoothed, still)


def _person(facing: bool) -> PersonPose:
    landmarks = np.zeros((33, 3))
    landmarks[:, 2] = 1.0
    side = 1.0 if facing else -1.0  # from the front, the person's left is on the image's right
    for left, right, y in ((lm.LEFT_SHOULDER, lm.RIGHT_SHOULDER, 200.0), (lm.LEFT_EYE, lm.RIGHT_EYE, 100.0)):
        offset = 40.0 if left == lm.LEFT_SHOULDER else 10.0
        landmarks[left, :2] = (300.0 + side * offset, y)
        landmarks[right, :2] = (300.0 - side * offset, y)
    landmarks[lm.MOUTH_LEFT, :2] = (305.0, 130.0)
    landmarks[lm.MOUTH_RIGHT, :2] = (295.0, 130.0)
    return PersonPose(landmarks)


@pytest.mark.parametrize(("facing", "expected"), [(True, True), (False, False)])
def test_people_turned_away_are_no_hosts(facing: bool, expected: bool) -> None:
    assert faces_camera(_person(facing)) is expected


def _edge_picture(sigma: float, noise: float) -> npt.NDArray[np.uint8]:
    picture = np.zeros((120, 160), np.float32)
    picture[:, 80:] = 200.0
    picture[60:, :40] = 120.0
    if sigma > 0:
        picture = np.asarray(cv2.GaussianBlur(picture, (0, 0), sigma), dtype=np.float32)
    picture += np.random.default_rng(0).normal(0.0, noise, picture.shape)
    return np.clip(picture, 0, 255).astype(np.uint8)


@pytest.mark.parametrize(("sigma", "low", "high"), [(0.0, 0.0, 0.6), (1.5, 1.0, 2.2), (3.0, 2.4, 3.6)])
def test_edge_blur_is_measured(sigma: float, low: float, high: float) -> None:
    assert low <= edge_blur_sigma(_edge_picture(sigma, 0.0)) <= high


@pytest.mark.parametrize(("noise", "low", "high"), [(0.0, 0.0, 0.5), (4.0, 3.2, 4.8)])
def test_noise_is_measured(noise: float, low: float, high: float) -> None:
    assert low <= noise_sigma(_edge_picture(1.0, noise)) <= high


@pytest.mark.parametrize(("dx", "dy", "size"), [(0.4, 0.3, None), (6.0, 0.0, 7), (0.0, -9.0, 9), (3.0, 4.0, 5)])
def test_motion_kernels_follow_the_motion(dx: float, dy: float, size: int | None) -> None:
    kernel = motion_kernel(dx, dy)
    if size is None:
        assert kernel is None
        return
    assert kernel is not None and kernel.shape == (size, size) and kernel.sum() == pytest.approx(1.0)
