"""Replaying a clip through the live path: the capture thread's thinning rule, the motion gate, what it keeps."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from detector.config import MotionSettings
from detector.model import LoadedModel
from detector.replay import Replay, ReplayedAlert, replay_clip
from detector.settings import AnalysisSettings
from detector.sources import AnalysisRate

REPO = Path(__file__).resolve().parents[3]
GROUP_FRAME = REPO / "tests" / "assets" / "detector" / "face-demographics-walking_gif_f12.jpg"


@pytest.mark.parametrize(
    ("source_fps", "analysis_fps", "frames", "taken"),
    [
        (20.0, 20.0, 20, list(range(20))),
        (20.0, 10.0, 20, list(range(0, 20, 2))),
        (20.0, 4.0, 20, [0, 5, 10, 15]),
        (50.0, 10.0, 26, [0, 5, 10, 15, 20, 25]),
        (12.0, 10.0, 12, [0, 2, 3, 4, 5, 6, 8, 9, 10, 11]),  # ten of twelve a second
        (5.0, 10.0, 5, [0, 1, 2, 3, 4]),
    ],
)
def test_analysis_rate_takes_the_capture_threads_frames(
    source_fps: float, analysis_fps: float, frames: int, taken: list[int]
) -> None:
    rate = AnalysisRate(analysis_fps)
    assert [index for index in range(frames) if rate.take(index / source_fps)] == taken


def test_analysis_rate_refuses_a_rate_of_zero() -> None:
    with pytest.raises(ValueError, match="positive"):
        AnalysisRate(0.0)


def _clip(tmp_path: Path, frames: int, fps: float, still: bool) -> Path:
    """People walking past (a real frame drifting sideways), or an empty, still wall."""
    image = cv2.imread(str(GROUP_FRAME), cv2.IMREAD_COLOR)
    assert image is not None
    if still:
        image = np.full_like(image, 128)
        image[::16] = 90
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (image.shape[1], image.shape[0]))
    for index in range(frames):
        writer.write(image if still else np.roll(image, 3 * index, axis=1))
    writer.release()
    return path


@pytest.mark.parametrize(
    ("analysis_fps", "motion", "still", "analysed", "posed"),
    [
        (None, None, False, 20, 20),  # detector scan: every frame
        (10.0, None, False, 10, 10),  # the camera's rate
        (10.0, MotionSettings(), False, 10, 10),  # people moving: the gate lets every frame through
        # An empty, still scene: the gate runs pose only every max_skip_s (at 0.0 and 0.5 s).
        (10.0, MotionSettings(hold_s=0.0, max_skip_s=0.5), True, 10, 2),
        (10.0, None, True, 10, 10),
    ],
)
def test_replay_analyses_what_the_camera_would(
    tmp_path: Path,
    shipped_model: LoadedModel,
    analysis_fps: float | None,
    motion: MotionSettings | None,
    still: bool,
    analysed: int,
    posed: int,
) -> None:
    clip = _clip(tmp_path, 20, 20.0, still)
    replay = replay_clip(clip, AnalysisSettings(), shipped_model, analysis_fps=analysis_fps, motion=motion)
    assert replay.frames_read == 20 and replay.frames_analysed == analysed and replay.frames_posed == posed
    assert replay.duration_s == pytest.approx(1.0)
    assert len(replay.scores) == replay.frames_posed and replay.alerts == ()
    assert replay.people_max == (0 if still else 2)


def test_a_replay_holds_no_position_and_no_track_id() -> None:
    """What a replay keeps may be written into reports: times, phases, scores, counts, never where anyone was."""
    assert set(ReplayedAlert.model_fields) == {"at_s", "phase", "incident", "confidence"}
    assert set(Replay.model_fields) == {
        "frames_read",
        "frames_analysed",
        "frames_posed",
        "positive_frames",
        "max_score",
        "people_max",
        "duration_s",
        "alerts",
        "scores",
    }
