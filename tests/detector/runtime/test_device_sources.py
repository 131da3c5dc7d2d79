"""Capture from a real video file through OpenCV: thinning to the analysis rate, pacing, drops, end of file."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from detector.config import FileSource
from detector.frame_queue import FrameQueue
from detector.sources import CapturedFrame, CaptureThread, FeedState


@pytest.fixture(scope="module")
def counter_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 frames at 20 fps (one second); frame i has grey level 10 * i."""
    path = tmp_path_factory.mktemp("capture") / "counter.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 20, (64, 48))
    for index in range(20):
        writer.write(np.full((48, 64, 3), 10 * index, dtype=np.uint8))
    writer.release()
    return path


def _drain(frames: FrameQueue[CapturedFrame], capture: CaptureThread, timeout_s: float) -> list[CapturedFrame]:
    taken: list[CapturedFrame] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        frame = frames.get(0.05)
        if frame is not None:
            taken.append(frame)
        elif capture.state is FeedState.ENDED:
            break
    return taken


@pytest.mark.parametrize(
    ("analysis_fps", "expected_indices"),
    [
        (20.0, list(range(20))),
        (10.0, list(range(0, 20, 2))),
        (4.0, [0, 5, 10, 15]),
    ],
)
def test_file_as_fast_as_possible_is_thinned_to_the_analysis_rate_without_drops(
    counter_video: Path, analysis_fps: float, expected_indices: list[int]
) -> None:
    settings = FileSource(path=counter_video, realtime=False, analysis_fps=analysis_fps, queue_size=1)
    frames: FrameQueue[CapturedFrame] = FrameQueue(settings.queue_size)
    capture = CaptureThread(settings, frames)
    capture.start()
    try:
        taken = _drain(frames, capture, 10)
    finally:
        capture.stop()
    assert [f.index for f in taken] == expected_indices
    assert [round(f.media_s, 2) for f in taken] == [round(i / 20, 2) for i in expected_indices]
    assert frames.stats().dropped == 0
    assert capture.frames_read == 20
    assert capture.state is FeedState.CLOSED


def test_realtime_file_is_paced_and_a_slow_consumer_loses_the_oldest_frames(counter_video: Path) -> None:
    settings = FileSource(path=counter_video, realtime=True, analysis_fps=20.0, queue_size=2)
    frames: FrameQueue[CapturedFrame] = FrameQueue(settings.queue_size)
    capture = CaptureThread(settings, frames)
    started = time.monotonic()
    capture.start()
    try:
        while capture.state is not FeedState.ENDED and time.monotonic() - started < 10:
            time.sleep(0.05)  # nobody reads: the queue overflows
        elapsed = time.monotonic() - started
        newest = [frames.get(0), frames.get(0)]
    finally:
        capture.stop()
    assert elapsed >= 0.9  # one second of video takes about one second
    assert frames.stats().dropped == 18
    assert [f.index for f in newest if f is not None] == [18, 19]  # the most recent frames survived


def test_missing_file_is_a_lost_feed_not_an_empty_scene(tmp_path: Path) -> None:
    settings = FileSource(path=tmp_path / "nothing.avi", reconnect_initial_s=0.05)
    capture = CaptureThread(settings, FrameQueue(2))
    capture.start()
    try:
        deadline = time.monotonic() + 5
        while capture.state is not FeedState.LOST and time.monotonic() < deadline:
            time.sleep(0.02)
        assert capture.state is FeedState.LOST
    finally:
        capture.stop()
