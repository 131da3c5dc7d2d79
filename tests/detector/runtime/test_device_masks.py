"""Privacy masks: the union of all masks is black, bad polygons are refused by name and line, and the local
commands (score, scan, bench) apply a config's masks like the camera does.

The running detector with masks is tested in ``test_device_privacy_masks.py``.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from device_harness import (  # type: ignore[import-not-found]
    ASSETS,
    Keys,
    camera_config_dict,
    write_person_video,
    write_yaml,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from typer.testing import CliRunner

from detector.cli import app
from detector.config import PrivacyMask, polygon_problem, validate_config_file
from detector.masking import MaskApplier

WHOLE = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))
LEFT = ((0.0, 0.0), (0.6, 0.0), (0.6, 1.0), (0.0, 1.0))
RIGHT = ((0.4, 0.0), (1.0, 0.0), (1.0, 1.0), (0.4, 1.0))
INNER = ((0.3, 0.3), (0.7, 0.3), (0.7, 0.7), (0.3, 0.7))


def _masks(*polygons: tuple[tuple[float, float], ...]) -> tuple[PrivacyMask, ...]:
    return tuple(PrivacyMask(name=f"m{i}", polygon=polygon) for i, polygon in enumerate(polygons))


@pytest.mark.parametrize(
    ("polygons", "black_points"),
    [
        # Each of these left the doubly covered area visible when all polygons were filled in one even-odd call.
        ((LEFT, RIGHT), [(50, 50), (50, 10), (50, 90)]),  # overlapping: the overlap (x 40..60) too
        ((WHOLE, WHOLE), [(0, 0), (50, 50), (99, 99)]),  # the same mask listed twice
        ((WHOLE, INNER), [(50, 50), (10, 10)]),  # a mask inside another
        ((INNER, INNER, INNER), [(50, 50)]),  # three times: odd, but the rule must not depend on counting
    ],
    ids=["overlapping", "duplicate", "nested", "triplicate"],
)
def test_the_union_of_all_masks_is_black(
    polygons: tuple[tuple[tuple[float, float], ...], ...], black_points: list[tuple[int, int]]
) -> None:
    frame = np.full((100, 100, 3), 200, dtype=np.uint8)
    MaskApplier(_masks(*polygons)).apply(frame)
    for y, x in black_points:
        assert not frame[y, x].any(), (y, x)


def _rectangle(left: float, top: float, width: float, height: float) -> tuple[tuple[float, float], ...]:
    right, bottom = min(left + width, 1.0), min(top + height, 1.0)
    return ((left, top), (right, top), (right, bottom), (left, bottom))


rectangles = st.builds(_rectangle, st.floats(0.0, 0.9), st.floats(0.0, 0.9), st.floats(0.05, 0.5), st.floats(0.05, 0.5))


@settings(max_examples=60, deadline=None)
@given(st.lists(rectangles, min_size=1, max_size=5), st.integers(0, 3))
def test_every_pixel_any_mask_covers_is_black(boxes: list[Any], repeat: int) -> None:
    """Whatever masks overlap, repeat or nest, each one's own area is black after masking."""
    polygons = [*boxes, *boxes[:repeat]]
    frame = np.full((72, 128, 3), 200, dtype=np.uint8)
    MaskApplier(_masks(*polygons)).apply(frame)
    for polygon in polygons:
        alone = np.zeros((72, 128), dtype=np.uint8)
        scale = np.array([127, 71], dtype=np.float64)
        cv2.fillPoly(alone, [np.round(np.array(polygon) * scale).astype(np.int32)], (255,))
        assert not frame[alone > 0].any()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0)), min_size=3, max_size=8))
def test_polygon_check_answers_for_any_corners(corners: list[tuple[float, float]]) -> None:
    """The config parser's polygon check never crashes: a polygon is either accepted or refused with a reason."""
    problem = polygon_problem(tuple(corners))
    assert problem is None or isinstance(problem, str)
    with contextlib.nullcontext() if problem is None else pytest.raises(ValidationError, match="privacy mask 'p'"):
        PrivacyMask(name="p", polygon=tuple(corners))


CONFIG = """\
camera_id: cam-1
platform:
  endpoint: tcp://127.0.0.1:5555
  public_key_file: keys/platform.key
secret_key_file: keys/cam-1.key_secret
source:
  type: rtsp
  url: rtsp://10.0.0.2/stream
schedule:
  windows:
    - days: [fri, sat]
      start: "20:00"
      end: "04:00"
privacy_masks:
  - name: garden
    polygon: [[0.0, 0.0], [0.5, 0.0], [0.5, 0.5]]
  - name: front-door
    polygon: {polygon}
"""


@pytest.mark.parametrize(
    ("polygon", "words"),
    [
        ("[[0.6, 0.6], [0.9, 0.6], [0.9, 0.9], [0.6, 0.9]]", None),
        ("[[0.6, 0.6], [0.9, 0.9], [0.9, 0.6], [0.6, 0.9]]", "self-intersecting"),  # a bow tie
        ("[[0.6, 0.6], [0.9, 0.6], [0.9, 0.6], [0.6, 0.9]]", "same point"),  # a repeated corner
        ("[[0.6, 0.6], [0.7, 0.7], [0.8, 0.8]]", "one line"),  # zero area
        ("[[0.6, 0.6], [0.7, 0.6], [0.8, 0.6], [0.8, 0.8]]", "collinear"),  # a corner on its neighbours' line
        ("[[0.6, 0.6], [0.9, 0.6], [0.7, 0.6], [0.7, 0.9]]", "collinear"),  # an edge folding back on itself
        ("[[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.5, 0.05], [0.1, 0.9]]", "self-intersecting"),  # a spike across
    ],
    ids=["square", "bow-tie", "repeated", "zero-area", "collinear", "fold-back", "crossing-spike"],
)
def test_validate_refuses_bad_polygons_with_the_mask_name_and_line(
    tmp_path: Path, polygon: str, words: str | None
) -> None:
    path = tmp_path / "camera.yaml"
    path.write_text(CONFIG.format(polygon=polygon))
    command = str(Path(sys.executable).parent / "nitrosignal")
    result = subprocess.run(
        [command, "detector", "validate", "--skip-files", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if words is None:
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode == 1
    # file:line:column: location: message, naming the mask: line 18 is front-door's `polygon:`.
    assert f"{path}:18:5: privacy_masks.1.polygon:" in result.stderr, result.stderr
    assert "'front-door'" in result.stderr and words in result.stderr
    _, issues = validate_config_file(path, with_files=False)
    assert [(issue.location, issue.line) for issue in issues] == [("privacy_masks.1.polygon", 18)]


WHOLE_FRAME_TWICE = [{"name": f"all-{i}", "polygon": [list(p) for p in WHOLE]} for i in range(2)]


@pytest.fixture(scope="module")
def hand_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("video") / "person.avi"
    write_person_video(path, seconds_before=1.0, seconds_balloon=0.0, seconds_after=0.0)
    return path


def _config(tmp_path: Path, keys: Keys, masks: list[dict[str, Any]]) -> Path:
    source = {"type": "file", "path": str(ASSETS / "demo_person.jpg")}
    data = camera_config_dict(keys, "tcp://127.0.0.1:9", source, tmp_path / "outbox.sqlite3")
    data["privacy_masks"] = masks
    path = tmp_path / "camera.yaml"
    write_yaml(path, data)
    return path


def _json_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


@pytest.mark.parametrize(("masks", "people"), [([], 1), (WHOLE_FRAME_TWICE, 0)], ids=["no-masks", "masked"])
def test_score_applies_the_configs_masks(tmp_path: Path, keys: Keys, masks: list[dict[str, Any]], people: int) -> None:
    config = _config(tmp_path, keys, masks)
    result = CliRunner().invoke(app, ["score", "--config", str(config), str(ASSETS / "demo_person.jpg")])
    assert result.exit_code == 0, result.output[-2000:]
    assert [line["people"] for line in _json_lines(result.stdout)] == [people]


@pytest.mark.parametrize("command", ["scan", "bench"])
@pytest.mark.parametrize(("masks", "sees_people"), [([], True), (WHOLE_FRAME_TWICE, False)], ids=["no-masks", "masked"])
def test_scan_and_bench_apply_the_configs_masks(
    tmp_path: Path, keys: Keys, hand_video: Path, command: str, masks: list[dict[str, Any]], sees_people: bool
) -> None:
    config = _config(tmp_path, keys, masks)
    if command == "scan":
        result = CliRunner().invoke(app, ["scan", "--config", str(config), str(hand_video)])
        assert result.exit_code == 0, result.output[-2000:]
        (line,) = _json_lines(result.stdout)
        assert (line["max_score"] > 0.0) is sees_people, line
        return
    result = CliRunner().invoke(app, ["bench", "--config", str(config), "--video", str(hand_video), "--seconds", "1"])
    assert result.exit_code == 0, result.output[-2000:]
    report = json.loads(result.stdout[result.stdout.index("{") :])
    assert (report["people_max"] > 0) is sees_people, report
