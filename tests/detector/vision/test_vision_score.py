"""The score command's engine: same analyzer as live detection, one JSON line per photo or clip."""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from detector.analysis import FrameAnalyzer
from detector.media import ImageReadError, read_clip
from detector.model import LoadedModel
from detector.score import ScoreLine, expand_paths, score_paths
from detector.settings import AnalysisSettings, EvidenceSettings, PoseSettings

# Still photos: every tile scanned on every photo, as `detector score` does.
STILL_POSE = PoseSettings(running_mode="image", tile_every_n_frames=1, tiles_per_scan="all")

REPO = Path(__file__).resolve().parents[3]
ASSETS = REPO / "tests" / "assets" / "detector"
DEMO_PERSON = REPO / "nitrosignal" / "assets" / "demo_person.jpg"
GROUP_FRAME = ASSETS / "face-demographics-walking_gif_f12.jpg"
SMOKER_P37 = ASSETS / "smoker_p37.jpg"


def _folder(tmp_path: Path) -> Path:
    """A folder with a blank image, a real photo in a subfolder and a non-image file that is skipped."""
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    assert cv2.imwrite(str(folder / "blank.png"), np.full((240, 320, 3), 127, dtype=np.uint8))
    shutil.copyfile(DEMO_PERSON, folder / "sub" / "person.jpg")
    (folder / "notes.txt").write_text("not an image")
    return folder


@pytest.mark.parametrize(
    ("names", "expected", "expectation"),
    [
        (["photos"], [("blank.png", 0), ("person.jpg", 1)], contextlib.nullcontext()),
        (["photos/blank.png"], [("blank.png", 0)], contextlib.nullcontext()),
        (["photos/missing.jpg"], [], pytest.raises(FileNotFoundError, match="missing.jpg")),
        (["photos/notes.txt"], [], pytest.raises(ImageReadError, match="cannot read .*notes.txt")),
    ],
)
def test_vision_score_lines(
    tmp_path: Path, shipped_model: LoadedModel, names: list[str], expected: list[tuple[str, int]], expectation: Any
) -> None:
    _folder(tmp_path)
    with expectation:
        lines = list(score_paths([tmp_path / n for n in names], AnalysisSettings(), shipped_model))
        assert [(Path(line.path).name, line.people) for line in lines] == expected
        for line in lines:
            parsed = json.loads(line.model_dump_json())
            assert set(parsed) == {"path", "people", "score", "frames"}
            assert parsed["frames"] == 1
            assert 0.0 <= parsed["score"] <= 1.0
            if line.people == 0:
                assert parsed["score"] == 0.0


def test_vision_score_is_the_max_over_people_from_the_live_analyzer(shipped_model: LoadedModel) -> None:
    """Score must equal the highest balloon score the live FrameAnalyzer gives the same photo."""
    settings = AnalysisSettings(pose=STILL_POSE)
    paths = [DEMO_PERSON, GROUP_FRAME, SMOKER_P37]
    lines = list(score_paths(paths, settings, shipped_model))
    with FrameAnalyzer(settings, shipped_model) as analyzer:
        for path, line in zip(paths, lines, strict=True):
            analyzer.reset()  # unrelated photos: nobody in one is the same person as in the last
            analysis = analyzer.analyze(np.asarray(cv2.imread(str(path)), dtype=np.uint8))
            assert line.people == len(analysis.people)
            best = max((p.balloon_score for p in analysis.people), default=0.0)
            assert line.score == pytest.approx(best, abs=1e-4)


def test_vision_folders_are_walked_for_photos_and_clips_only(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    write_clip(folder / "sub" / "walk.avi", [DEMO_PERSON])
    assert [p.name for p in expand_paths([folder])] == ["blank.png", "person.jpg", "walk.avi"]


def write_clip(path: Path, photos: list[Path], size: tuple[int, int] = (640, 480), fps: float = 10.0) -> Path:
    """An MJPG clip with one frame per photo, each resized to ``size``."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, size)
    assert writer.isOpened()
    for photo in photos:
        writer.write(cv2.resize(np.asarray(cv2.imread(str(photo))), size))
    writer.release()
    return path


CLIP_FRAMES = [DEMO_PERSON, DEMO_PERSON, GROUP_FRAME, GROUP_FRAME, SMOKER_P37, SMOKER_P37]


@pytest.mark.parametrize("running_mode", ["image", "video"])
def test_vision_clip_score_is_the_max_over_its_frames_with_the_live_settings(
    tmp_path: Path, shipped_model: LoadedModel, running_mode: str
) -> None:
    """A clip runs through a fresh analyzer with the camera's settings, everyone gated classified on every frame;
    its score is the best frame."""
    clip = write_clip(tmp_path / "clip.avi", CLIP_FRAMES)
    settings = AnalysisSettings(pose=PoseSettings(running_mode=running_mode))
    (line,) = score_paths([clip], settings, shipped_model)
    scores, people = [], []
    every_frame = settings.model_copy(update={"evidence": EvidenceSettings(classify_every_n_frames=1)})
    with FrameAnalyzer(every_frame, shipped_model) as analyzer:
        for timestamp_ms, frame in read_clip(clip):
            analysis = analyzer.analyze(frame, timestamp_ms)
            scores.append(max((p.balloon_score for p in analysis.people), default=0.0))
            people.append(len(analysis.people))
    assert line.frames == len(CLIP_FRAMES) == len(scores)
    assert line.people == max(people) >= 1
    assert line.score == pytest.approx(max(scores), abs=1e-4)
    assert json.loads(line.model_dump_json())["frames"] == len(CLIP_FRAMES)


@pytest.mark.parametrize(
    ("fps", "expected_step_ms"),
    [(10.0, 100), (25.0, 40)],
)
def test_vision_clip_timestamps_follow_its_frame_rate(tmp_path: Path, fps: float, expected_step_ms: int) -> None:
    clip = write_clip(tmp_path / "clip.avi", [DEMO_PERSON] * 4, size=(160, 120), fps=fps)
    frames = list(read_clip(clip))
    assert [t for t, _ in frames] == [i * expected_step_ms for i in range(4)]
    assert all(frame.shape == (120, 160, 3) and frame.dtype == np.uint8 for _, frame in frames)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a video at all", "cannot read .*broken.mp4 as a video clip"),
        (b"", "cannot read .*broken.mp4 as a video clip"),
    ],
)
def test_vision_unreadable_clip_is_refused(
    tmp_path: Path, shipped_model: LoadedModel, content: bytes, message: str
) -> None:
    (tmp_path / "broken.mp4").write_bytes(content)
    with pytest.raises(ImageReadError, match=message):
        list(score_paths([tmp_path / "broken.mp4"], AnalysisSettings(), shipped_model))


def test_vision_score_line_is_strict() -> None:
    with pytest.raises(ValueError, match="less than or equal to 1"):
        ScoreLine(path="x.jpg", people=1, score=1.5)
