"""The bench on a short real clip built at test time from a CC BY 4.0 frame."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from detector.bench import BenchReport, run_bench, scan_video
from detector.model import LoadedModel
from detector.settings import AnalysisSettings

REPO = Path(__file__).resolve().parents[3]
ASSETS = REPO / "tests" / "assets" / "detector"
GROUP_FRAME = ASSETS / "face-demographics-walking_gif_f12.jpg"


def read_image(path: Path) -> npt.NDArray[np.uint8]:
    """Read a test photo as uint8 BGR, failing loudly if it is missing."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, f"test photo missing: {path}"
    return np.ascontiguousarray(image, dtype=np.uint8)


def _clip(tmp_path: Path, frames: int) -> Path:
    """A short clip of a real frame drifting sideways (tests may write video; the detector never does)."""
    image = read_image(GROUP_FRAME)
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, (image.shape[1], image.shape[0]))
    assert writer.isOpened()
    for index in range(frames):
        writer.write(np.roll(image, 2 * index, axis=1))
    writer.release()
    return path


@pytest.mark.parametrize(("seconds", "expected_frames"), [(None, 12), (0.5, 5)])
def test_vision_bench_report(
    tmp_path: Path, shipped_model: LoadedModel, seconds: float | None, expected_frames: int
) -> None:
    report = run_bench(_clip(tmp_path, 12), seconds, AnalysisSettings(), shipped_model)
    assert isinstance(report, BenchReport)
    assert report.frames_analysed == expected_frames and report.frame_size == (480, 270)
    assert report.fps > 0 and report.bare_pose_fps > 0 and report.peak_rss_mb > 0
    assert set(report.stage_ms) == {"pose", "evidence", "classify", "total"}
    assert all(stats.p50 <= stats.p95 for stats in report.stage_ms.values())
    assert report.people_max >= 1 and report.confirmed_alerts == 0
    assert report.cpu_ms_per_frame > 0 and report.bare_pose_cpu_ms_per_frame > 0
    assert report.pipeline_over_bare_pose_cpu > 0 and 0 <= report.classified_per_frame <= report.people_max
    assert set(report.classifier_call_ms) == {"1", "4"} and report.classifier_call_ms["4"].mean > 0
    assert BenchReport.model_validate_json(report.model_dump_json()) == report


def test_vision_bench_rescales_frames(tmp_path: Path, shipped_model: LoadedModel) -> None:
    report = run_bench(_clip(tmp_path, 3), None, AnalysisSettings(), shipped_model, frame_width=640)
    assert report.frame_size == (640, 360)


def test_vision_bench_refuses_a_missing_video(tmp_path: Path, shipped_model: LoadedModel) -> None:
    with pytest.raises(ValueError, match="cannot read .*none.mp4 as a video clip"):
        run_bench(tmp_path / "none.mp4", None, AnalysisSettings(), shipped_model)


def test_vision_scan_video_counts_frames_and_alerts(tmp_path: Path, shipped_model: LoadedModel) -> None:
    """Two people walking, no balloon: every frame analysed, nothing confirmed."""
    scan = scan_video(_clip(tmp_path, 8), None, AnalysisSettings(), shipped_model)
    assert scan.frames_analysed == 8 and scan.confirmed_alerts == 0
    assert scan.positive_frames == 0 and 0.0 <= scan.max_score < shipped_model.card.threshold
