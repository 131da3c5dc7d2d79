"""The person-recall yardstick: the shipped annotations, the matching rule, and a real run on a tiny video."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from typer.testing import CliRunner

from detector.pose.regions import Box
from training.cli import app
from training.person_finders import make_finder
from training.person_recall import (
    HEIGHT_BINS,
    TARGET_BIN,
    AnnotatedFrame,
    height_bin,
    load_annotations,
    match_people,
    measure_person_recall,
    to_1080p,
)

REPO = Path(__file__).resolve().parents[2]
WALKING = REPO / "tests" / "assets" / "detector" / "face-demographics-walking_gif_f12.jpg"
# The two people in the CC BY 4.0 walking frame (480x270), boxed by hand: 628 and 700 px tall at 1080p.
WALKERS = [[214, 113, 50, 157], [280, 95, 62, 175]]


def test_training_person_recall_annotations_cover_every_video_and_the_target_bin() -> None:
    annotations = load_annotations()
    assert len(annotations.frames) >= 30
    videos = {frame.video.split("/")[1] for frame in annotations.frames}
    assert len(videos) == 5
    people = [person for frame in annotations.frames for person in frame.people]
    assert sum(person.height_bin == TARGET_BIN for person in people) >= 100
    assert {person.height_bin for person in people} <= set(HEIGHT_BINS)


@pytest.mark.parametrize(
    ("height", "expected"),
    [(50.0, "lt100"), (99.9, "lt100"), (100.0, "100-250"), (249.0, "100-250"), (250.0, "250-500"), (900, "ge500")],
)
def test_training_person_recall_height_bins(height: float, expected: str) -> None:
    assert height_bin(height) == expected


FRAME: dict[str, Any] = {"video": "video/x.avi", "frame": 0, "size": [480, 360]}


@pytest.mark.parametrize(
    ("person", "message"),
    [
        ({"box": [10, 10, 20, 60], "height_bin": "250-500"}, "bin 100-250"),  # 180 px at 1080p
        ({"box": [470, 10, 20, 60], "height_bin": "100-250"}, "leaves"),
        ({"box": [10, 10, 0, 60], "height_bin": "100-250"}, "positive"),
        ({"box": [10, 10, 20, 60], "height_bin": "huge"}, "height_bin"),
    ],
)
def test_training_person_recall_refuses_bad_annotations(person: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        AnnotatedFrame.model_validate({**FRAME, "people": [person]})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"size": [480, 0]}, "positive width and height"),
        ({"video": "../../etc/passwd"}, "inside the data folder"),
        ({"video": "/abs/video.avi"}, "inside the data folder"),
        ({"video": ""}, "inside the data folder"),
    ],
)
def test_training_person_recall_refuses_bad_frames(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        AnnotatedFrame.model_validate({**FRAME, **change, "people": []})


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        ([], [False, False]),
        ([Box(0, 0, 10, 30)], [True, False]),  # exact
        ([Box(2, 5, 12, 28)], [True, False]),  # overlapping well
        ([Box(3, 8, 7, 24)], [True, False]),  # little overlap, but centred inside and within a factor 2 of the height
        ([Box(4, 14, 6, 18)], [False, False]),  # centred inside, but a fifth of the height
        ([Box(0, 0, 10, 30), Box(1, 1, 11, 31)], [True, False]),  # two boxes on one person find one person
        ([Box(20, 0, 30, 30), Box(0, 0, 10, 30)], [True, True]),
        ([Box(5, 0, 25, 30)], [False, False]),  # a box between two people finds neither
    ],
)
def test_training_person_recall_matches_one_to_one(found: list[Box], expected: list[bool]) -> None:
    truth = [Box(0, 0, 10, 30), Box(20, 0, 30, 30)]
    assert match_people(truth, found) == expected


def test_training_person_recall_scales_frames_to_1080p() -> None:
    frame = np.zeros((270, 480, 3), dtype=np.uint8)
    scaled, factor = to_1080p(frame)
    assert scaled.shape == (1080, 1920, 3) and factor == 4.0


def _tiny_data(tmp_path: Path) -> tuple[Path, Path]:
    """A data folder with a 12-frame video (the walking pair on frames 0-5, an empty corridor after) and
    annotations for frames 3 and 9."""
    walking = cv2.imread(str(WALKING), cv2.IMREAD_COLOR)
    assert walking is not None
    video = tmp_path / "data" / "video" / "walk.avi"
    video.parent.mkdir(parents=True)
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, (480, 270))
    empty = np.full_like(walking, 128)
    for index in range(12):
        writer.write(walking if index < 6 else empty)
    writer.release()
    people = [{"box": box, "height_bin": "ge500"} for box in WALKERS]
    document = {
        "schema": 1,
        "what": "test",
        "how": "test",
        "box": "x, y, w, h",
        "height_bins": "test",
        "frames": [
            {"video": "video/walk.avi", "frame": 3, "size": [480, 270], "people": people},
            {"video": "video/walk.avi", "frame": 9, "size": [480, 270], "people": []},
        ],
    }
    annotations = tmp_path / "annotations.json"
    annotations.write_text(json.dumps(document))
    return tmp_path / "data", annotations


@pytest.mark.parametrize("mode", ["still", "live"])
def test_training_person_recall_runs_the_shipped_pose_stage_on_a_real_video(tmp_path: Path, mode: str) -> None:
    data, annotations = _tiny_data(tmp_path)
    report = measure_person_recall(
        data,
        lambda: make_finder("today", mode),  # type: ignore[arg-type]
        "today",
        mode=mode,  # type: ignore[arg-type]
        annotations=load_annotations(annotations),
    )
    assert report.frames == 2 and report.people == 2
    assert report.by_bin["ge500"].annotated == 2
    assert report.by_bin["ge500"].found == 2
    assert report.by_bin[TARGET_BIN].recall is None
    assert not report.meets_target


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda data, notes: (data / "video" / "walk.avi").unlink(), "not found"),
        (lambda data, notes: notes.write_text(notes.read_text().replace('"frame": 9', '"frame": 99')), "no frame 99"),
        (lambda data, notes: notes.write_text("{"), "REFUSED"),
    ],
)
def test_training_person_recall_command_refuses_bad_input(tmp_path: Path, change: Any, message: str) -> None:
    data, annotations = _tiny_data(tmp_path)
    change(data, annotations)
    result = CliRunner().invoke(
        app,
        ["person-recall", "--data", str(data), "--annotations", str(annotations), "--front-end", "today"],
    )
    assert result.exit_code == 1
    assert "REFUSED" in result.output and message in result.output


def test_training_person_recall_command_prints_json(tmp_path: Path) -> None:
    data, annotations = _tiny_data(tmp_path)
    args = ["person-recall", "--data", str(data), "--annotations", str(annotations), "--front-end", "frontend"]
    result = CliRunner().invoke(app, [*args, "--mode", "still"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{") :])
    assert report["front_end"] == "frontend" and report["by_bin"]["ge500"]["found"] == 2


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 5000) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
_PERSON = st.fixed_dictionaries(
    {"box": st.lists(st.integers(-5, 2000), min_size=0, max_size=5), "height_bin": st.sampled_from([*HEIGHT_BINS, "x"])}
)
_FRAME = st.fixed_dictionaries(
    {
        "video": st.text(max_size=10),
        "frame": st.integers(-2, 10),
        "size": st.lists(st.integers(-1, 2000), min_size=2, max_size=2),
        "people": st.lists(_PERSON | _JSON, max_size=3),
    }
)


@settings(max_examples=150, deadline=None)
@given(frame=_FRAME | _JSON)
def test_training_person_recall_annotation_parser_fuzz(frame: Any) -> None:
    """Any annotation a user hands in either validates or is refused with a ValidationError, nothing else."""
    try:
        parsed = AnnotatedFrame.model_validate(frame)
    except ValidationError:
        return
    for person in parsed.people:
        assert person.box[2] > 0 and person.box[3] > 0
        assert person.height_bin == height_bin(person.box[3] * 1080 / parsed.size[1])
