"""Object boxes from the formats they come in: COCO JSON, YOLO txt and the Matterport balloon CSV.

Everything is converted to one table, ``boxes.csv`` with ``path,category,xmin,ymin,xmax,ymax`` in pixels,
which synth reads to cut real objects (balloons) out of real photos.
"""

from __future__ import annotations

import ast
import csv
import json
from collections.abc import Iterable
from pathlib import Path

import cv2
from pydantic import BaseModel, ConfigDict, Field, model_validator

BOXES_FILE = "boxes.csv"


class Box(BaseModel):
    """One axis-aligned object box in pixels of its image."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(description="Image path relative to the image folder.")
    category: str = Field(min_length=1)
    xmin: float
    ymin: float
    xmax: float
    ymax: float

    @model_validator(mode="after")
    def _ordered(self) -> Box:
        if not (self.xmax > self.xmin and self.ymax > self.ymin):
            raise ValueError(f"box must have xmax > xmin and ymax > ymin, got {self}")
        return self

    @property
    def width(self) -> float:
        """Box width in pixels."""
        return self.xmax - self.xmin

    @property
    def height(self) -> float:
        """Box height in pixels."""
        return self.ymax - self.ymin


def read_matterport_csv(path: Path, category: str = "balloon") -> list[Box]:
    """Read the Matterport balloon table (``fname,height,width,bbox,num_balloons``; bbox a list of dicts)."""
    boxes = []
    with path.open(newline="") as handle:
        for record in csv.DictReader(handle):
            for item in ast.literal_eval(record["bbox"]):
                boxes.append(
                    Box(
                        path=record["fname"],
                        category=category,
                        xmin=float(item["xmin"]),
                        ymin=float(item["ymin"]),
                        xmax=float(item["xmax"]),
                        ymax=float(item["ymax"]),
                    )
                )
    return boxes


def read_coco(path: Path) -> list[Box]:
    """Read a COCO detection JSON (``images``, ``annotations`` with ``bbox`` = x, y, w, h; ``categories``)."""
    data = json.loads(path.read_text())
    files = {image["id"]: image["file_name"] for image in data["images"]}
    names = {category["id"]: category["name"] for category in data.get("categories", [])}
    boxes = []
    for annotation in data["annotations"]:
        x, y, w, h = (float(v) for v in annotation["bbox"])
        boxes.append(
            Box(
                path=files[annotation["image_id"]],
                category=names.get(annotation["category_id"], str(annotation["category_id"])),
                xmin=x,
                ymin=y,
                xmax=x + w,
                ymax=y + h,
            )
        )
    return boxes


def read_yolo(images: Path, labels: Path, class_names: tuple[str, ...] = ()) -> list[Box]:
    """Read YOLO ``<stem>.txt`` files (``class cx cy w h``, normalised) for the images in ``images``.

    Args:
        images: Folder of images; each image's size converts the normalised boxes to pixels.
        labels: Folder of ``.txt`` label files named after the images.
        class_names: Names by class index; a missing name becomes the index as text.
    """
    boxes = []
    for label_file in sorted(labels.glob("*.txt")):
        image = next((p for p in sorted(images.glob(label_file.stem + ".*")) if p.suffix != ".txt"), None)
        if image is None:
            raise FileNotFoundError(f"no image for YOLO label {label_file} in {images}")
        frame = cv2.imread(str(image))
        if frame is None:
            raise ValueError(f"cannot read image {image}")
        height, width = frame.shape[:2]
        for line in label_file.read_text().splitlines():
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 5:
                raise ValueError(f"{label_file}: expected 'class cx cy w h', got {line!r}")
            index = int(parts[0])
            cx, cy, w, h = (float(v) for v in parts[1:])
            name = class_names[index] if index < len(class_names) else str(index)
            boxes.append(
                Box(
                    path=image.relative_to(images).as_posix(),
                    category=name,
                    xmin=max(0.0, (cx - w / 2) * width),
                    ymin=max(0.0, (cy - h / 2) * height),
                    xmax=min(float(width), (cx + w / 2) * width),
                    ymax=min(float(height), (cy + h / 2) * height),
                )
            )
    return boxes


def write_boxes(path: Path, boxes: Iterable[Box]) -> int:
    """Write boxes as ``boxes.csv``; returns how many were written."""
    count = 0
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["path", "category", "xmin", "ymin", "xmax", "ymax"])
        for box in boxes:
            writer.writerow([box.path, box.category, box.xmin, box.ymin, box.xmax, box.ymax])
            count += 1
    return count


def read_boxes(path: Path) -> list[Box]:
    """Read boxes from ``boxes.csv`` in our format or in the Matterport format (detected by header)."""
    with path.open(newline="") as handle:
        header = next(csv.reader(handle), [])
    if "bbox" in header and "fname" in header:
        return read_matterport_csv(path)
    with path.open(newline="") as handle:
        return [
            Box(
                path=r["path"],
                category=r["category"],
                xmin=float(r["xmin"]),
                ymin=float(r["ymin"]),
                xmax=float(r["xmax"]),
                ymax=float(r["ymax"]),
            )
            for r in csv.DictReader(handle)
        ]
