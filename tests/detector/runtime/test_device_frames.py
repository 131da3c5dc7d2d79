"""Frame stages before any model: privacy masks, the motion gate and the bounded frame queue."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from pydantic import ValidationError

from detector.config import MotionSettings, PrivacyMask
from detector.frame_queue import FrameQueue
from detector.masking import MaskApplier
from detector.motion import MotionGate


def _noise(height: int = 360, width: int = 640, seed: int = 1) -> npt.NDArray[np.uint8]:
    return np.random.default_rng(seed).integers(60, 200, size=(height, width, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    ("polygons", "shape", "black_points", "kept_points"),
    [
        ([[(0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0)]], (360, 640, 3), [(10, 10), (350, 300)], [(10, 400)]),
        ([[(0.0, 0.0), (1.0, 0.0), (1.0, 0.25), (0.0, 0.25)]], (720, 1280, 3), [(5, 1270), (170, 640)], [(200, 640)]),
        (
            [[(0.1, 0.1), (0.2, 0.1), (0.2, 0.2)], [(0.8, 0.8), (1.0, 0.8), (1.0, 1.0), (0.8, 1.0)]],
            (100, 100),
            [(11, 19), (95, 95)],
            [(50, 50)],
        ),
        ([], (100, 100, 3), [], [(0, 0), (99, 99)]),
    ],
)
def test_mask_blacks_out_polygons_in_place(
    polygons: list[list[tuple[float, float]]],
    shape: tuple[int, ...],
    black_points: list[tuple[int, int]],
    kept_points: list[tuple[int, int]],
) -> None:
    masks = tuple(PrivacyMask(name=f"m{i}", polygon=tuple(p)) for i, p in enumerate(polygons))
    frame = np.full(shape, 200, dtype=np.uint8)
    result = MaskApplier(masks).apply(frame)
    assert result is frame  # in place: no unmasked copy survives
    for y, x in black_points:
        assert not frame[y, x].any(), (y, x)
    for y, x in kept_points:
        assert (frame[y, x] == 200).all(), (y, x)


@pytest.mark.parametrize(
    ("polygon", "expectation"),
    [
        (((0.0, 0.0), (1.0, 0.0), (1.0, 1.0)), contextlib.nullcontext()),
        (((0.0, 0.0), (1.2, 0.0), (1.0, 1.0)), pytest.raises(ValidationError, match="normalised")),
        (((0.0, 0.0), (1.0, 0.0)), pytest.raises(ValidationError, match="at least 3")),
    ],
)
def test_mask_polygon_validation(
    polygon: tuple[tuple[float, float], ...], expectation: contextlib.AbstractContextManager[Any]
) -> None:
    with expectation:
        PrivacyMask(name="window", polygon=polygon)


def test_mask_refuses_a_non_image() -> None:
    with pytest.raises(ValueError, match="uint8"):
        MaskApplier(()).apply(np.zeros((4, 4, 3), dtype=np.float32))


def _moved(frame: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    moved = frame.copy()
    moved[100:220, 200:300] = 20  # a dark figure walks in
    return moved


@pytest.mark.parametrize(
    ("change", "expected_motion", "expected_recalibrated"),
    [
        (lambda f: f.copy(), False, False),  # still scene
        (_moved, True, False),  # a person appears
        (lambda f: np.clip(f.astype(np.int16) + 60, 0, 255).astype(np.uint8), False, True),  # infrared switch
        (lambda f: (f // 3).astype(np.uint8), False, True),  # lights go out
        (lambda f: np.clip(f.astype(np.int16) + 8, 0, 255).astype(np.uint8), False, False),  # slow dusk
    ],
)
def test_motion_gate(change: Any, expected_motion: bool, expected_recalibrated: bool) -> None:
    settings = MotionSettings(hold_s=0.0, max_skip_s=100.0)
    gate = MotionGate(settings)
    base = _noise()
    for step in range(5):
        gate.update(base, float(step))
    decision = gate.update(change(base), 5.0)
    assert decision.motion is expected_motion
    assert decision.recalibrated is expected_recalibrated
    assert decision.run_pose is expected_motion


def test_motion_gate_recalibrates_then_sees_motion_in_the_new_light() -> None:
    gate = MotionGate(MotionSettings(hold_s=0.0, max_skip_s=100.0))
    base = _noise()
    gate.update(base, 0.0)
    gate.update(base, 1.0)
    bright = np.clip(base.astype(np.int16) + 70, 0, 255).astype(np.uint8)  # headlights
    assert gate.update(bright, 2.0).recalibrated
    assert not gate.update(bright, 3.0).motion  # the new light is the new background
    assert gate.update(_moved(bright), 4.0).motion


@pytest.mark.parametrize(
    ("times", "people_seen", "expected"),
    [
        ([0.0, 1.0, 1.5], False, [False, False, False]),  # still, no one: skip (first frame only calibrates)
        ([0.0, 1.0, 2.6], False, [False, False, True]),  # at least every max_skip_s
        ([0.0, 0.5, 1.0], True, [True, True, True]),  # someone is there: keep looking
    ],
)
def test_motion_gate_keepalive(times: list[float], people_seen: bool, expected: list[bool]) -> None:
    gate = MotionGate(MotionSettings(hold_s=0.0, max_skip_s=2.5))
    gate._last_pose_at = 0.0  # as if pose just ran at t=0
    base = _noise()
    assert [gate.update(base, t, people_seen=people_seen).run_pose for t in times] == expected


@pytest.mark.parametrize(
    ("capacity", "items", "expected_left", "expected_dropped"),
    [
        (3, [1, 2], [1, 2], 0),
        (3, [1, 2, 3, 4, 5], [3, 4, 5], 2),
        (1, [1, 2, 3], [3], 2),
    ],
)
def test_frame_queue_drops_the_oldest_and_counts(
    capacity: int, items: list[int], expected_left: list[int], expected_dropped: int
) -> None:
    frames: FrameQueue[int] = FrameQueue(capacity)
    for item in items:
        assert frames.put(item)
    stats = frames.stats()
    assert (stats.put, stats.dropped, stats.depth) == (len(items), expected_dropped, len(expected_left))
    assert [frames.get(0) for _ in expected_left] == expected_left
    assert frames.get(0.01) is None


def test_frame_queue_blocking_put_waits_instead_of_dropping() -> None:
    frames: FrameQueue[int] = FrameQueue(1)
    assert frames.put(1, block=True)
    assert frames.put(2, block=True, timeout_s=0.05) is False
    assert frames.stats().dropped == 0
    with pytest.raises(ValueError, match="at least 1"):
        FrameQueue(0)
