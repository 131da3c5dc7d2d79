"""Box importers: COCO JSON, YOLO txt and the Matterport CSV all become one boxes.csv."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from training.importers import Box, read_boxes, read_coco, read_matterport_csv, read_yolo, write_boxes


def test_coco(tmp_path: Path) -> None:
    data = {
        "images": [{"id": 1, "file_name": "a.jpg"}, {"id": 2, "file_name": "b.jpg"}],
        "annotations": [{"image_id": 2, "category_id": 5, "bbox": [10, 20, 30, 40]}],
        "categories": [{"id": 5, "name": "balloon"}],
    }
    (tmp_path / "c.json").write_text(json.dumps(data))
    assert read_coco(tmp_path / "c.json") == [Box(path="b.jpg", category="balloon", xmin=10, ymin=20, xmax=40, ymax=60)]


@pytest.mark.parametrize(
    ("line", "names", "expected"),
    [
        ("0 0.5 0.5 0.5 0.5", ("cigarette",), ("cigarette", 50.0, 25.0, 150.0, 75.0)),
        ("1 0.1 0.1 0.4 0.4", (), ("1", 0.0, 0.0, 60.0, 30.0)),  # clipped to the image
    ],
)
def test_yolo(
    tmp_path: Path, line: str, names: tuple[str, ...], expected: tuple[str, float, float, float, float]
) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "lab").mkdir()
    cv2.imwrite(str(tmp_path / "img" / "p1.jpg"), np.zeros((100, 200, 3), np.uint8))
    (tmp_path / "lab" / "p1.txt").write_text(line + "\n")
    (box,) = read_yolo(tmp_path / "img", tmp_path / "lab", names)
    assert (box.category, box.xmin, box.ymin, box.xmax, box.ymax) == pytest.approx(expected)


def test_yolo_without_image_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "lab").mkdir()
    (tmp_path / "lab" / "ghost.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    with pytest.raises(FileNotFoundError):
        read_yolo(tmp_path / "img", tmp_path / "lab")


def test_matterport_and_round_trip(tmp_path: Path) -> None:
    (tmp_path / "boxes.csv").write_text(
        "fname,height,width,bbox,num_balloons\n"
        "a.jpg,10,10,\"[{'xmin': 1, 'ymin': 2, 'xmax': 5, 'ymax': 8}, "
        "{'xmin': 0, 'ymin': 0, 'xmax': 3, 'ymax': 3}]\",2\n"
    )
    boxes = read_matterport_csv(tmp_path / "boxes.csv")
    assert len(boxes) == 2 and boxes[0].width == 4 and boxes[0].height == 6
    assert read_boxes(tmp_path / "boxes.csv") == boxes
    write_boxes(tmp_path / "ours.csv", boxes)
    assert read_boxes(tmp_path / "ours.csv") == boxes


def test_degenerate_box_is_refused() -> None:
    with pytest.raises(ValueError, match="xmax > xmin"):
        Box(path="a.jpg", category="balloon", xmin=5, ymin=0, xmax=5, ymax=3)
