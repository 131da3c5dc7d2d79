"""The person-recall yardstick: the share of hand-annotated people a front end finds, per height bin at 1080p.

A street camera sees most people 100-250 px tall at 1080p, and a detector that does not find them cannot
alert on them, whatever its classifier does. ``training/sources/person_recall.json`` holds people annotated
by hand in 30 frames of the five real videos of the shared data folder (boxes, a height bin, the video path
relative to the data folder and the frame index; no pixels). Each frame is scaled to 1080 pixels high, as a
1080p boulevard camera would see it, and given to a front end.

"Found" is decided one to one, greedily by overlap: an annotated person is found when an unused person box
of the front end has an intersection over union of at least ``MIN_IOU`` with the annotation, or when its
centre lies inside the annotation box and its height is within a factor ``MAX_HEIGHT_RATIO`` of the
annotation's (a pose's landmark box can be shorter or taller than the visible person, for example when the
legs are hidden). Front-end boxes that match nobody are counted apart (``unmatched_boxes``), not as errors:
the annotation of crowded frames covers a region only, and far people under 50 px are not annotated.

Two modes: ``still`` gives each frame alone (no history), ``live`` lets the front end first see the
preceding ``warmup_s`` seconds of the video at the analysis frame rate, as a fixed camera would.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Final, Literal, Protocol

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from detector.pose.estimator import ImageBGR
from detector.pose.regions import Box

HeightBin = Literal["lt100", "100-250", "250-500", "ge500"]
HEIGHT_BINS: Final[tuple[HeightBin, ...]] = ("lt100", "100-250", "250-500", "ge500")
TARGET_BIN: Final[HeightBin] = "100-250"
TARGET_HEIGHT_PX: Final = 1080
MIN_IOU: Final = 0.3
MAX_HEIGHT_RATIO: Final = 2.0


def height_bin(height_at_1080p: float) -> HeightBin:
    """The bin of a person this many pixels tall on a 1080-pixel-high frame."""
    if height_at_1080p < 100:
        return "lt100"
    if height_at_1080p < 250:
        return "100-250"
    if height_at_1080p < 500:
        return "250-500"
    return "ge500"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AnnotatedPerson(_Strict):
    """One person: the box of the visible person in source pixels and its height bin at 1080p."""

    box: tuple[int, int, int, int] = Field(description="x, y, width, height in source pixels.")
    height_bin: HeightBin

    @field_validator("box")
    @classmethod
    def _positive(cls, value: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        if value[2] <= 0 or value[3] <= 0:
            raise ValueError(f"box width and height must be positive, got {value}")
        return value


class AnnotatedFrame(_Strict):
    """A frame of a video and every person annotated in it (inside ``region`` when one is given)."""

    video: str = Field(description="Video path relative to the data folder.")
    frame: int = Field(ge=0, description="Frame index, counted from 0 as OpenCV decodes the video.")
    size: tuple[int, int] = Field(description="Width and height of the source frame.")
    region: tuple[int, int, int, int] | None = Field(
        default=None, description="x0, y0, x1, y1: only people whose box centre lies here were annotated."
    )
    people: tuple[AnnotatedPerson, ...]

    @field_validator("size")
    @classmethod
    def _size_positive(cls, value: tuple[int, int]) -> tuple[int, int]:
        if value[0] <= 0 or value[1] <= 0:
            raise ValueError(f"size must be a positive width and height, got {value}")
        return value

    @field_validator("video")
    @classmethod
    def _inside_the_data_folder(cls, value: str) -> str:
        path = Path(value)
        if not value or path.is_absolute() or ".." in path.parts:
            raise ValueError(f"video must be a path inside the data folder, got {value!r}")
        return value

    @model_validator(mode="after")
    def _bins_match_sizes(self) -> AnnotatedFrame:
        factor = TARGET_HEIGHT_PX / self.size[1]
        for person in self.people:
            x, y, w, h = person.box
            if x < 0 or y < 0 or x + w > self.size[0] + 1 or y + h > self.size[1] + 1:
                raise ValueError(f"{self.video} frame {self.frame}: box {person.box} leaves the {self.size} frame")
            expected = height_bin(h * factor)
            if person.height_bin != expected:
                raise ValueError(
                    f"{self.video} frame {self.frame}: box {person.box} is {h * factor:.0f} px tall at 1080p, "
                    f"bin {expected}, annotated {person.height_bin}"
                )
        return self


class Annotations(_Strict):
    """The annotation file."""

    schema_version: int = Field(alias="schema", ge=1, le=1)
    what: str
    how: str
    box: str
    height_bins: str
    frames: tuple[AnnotatedFrame, ...]


def default_annotations_path() -> Path:
    """The annotations that ship with the project."""
    return Path(str(resources.files("training") / "sources" / "person_recall.json"))


def load_annotations(path: Path | None = None) -> Annotations:
    """Read and validate an annotation file (the shipped one by default)."""
    source = path or default_annotations_path()
    return Annotations.model_validate(json.loads(source.read_text(encoding="utf-8")))


class PersonFinder(Protocol):
    """A front end as the yardstick sees it: a frame in, person boxes in frame pixels out."""

    def find(self, frame_bgr: ImageBGR, timestamp_ms: int) -> list[Box]:
        """Boxes of the people found in the frame."""
        ...

    def close(self) -> None:
        """Release the models."""
        ...


def to_1080p(frame_bgr: ImageBGR) -> tuple[ImageBGR, float]:
    """The frame scaled to 1080 pixels high, and the factor applied."""
    factor = TARGET_HEIGHT_PX / frame_bgr.shape[0]
    if factor == 1.0:
        return frame_bgr, factor
    width = round(frame_bgr.shape[1] * factor)
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    scaled = cv2.resize(frame_bgr, (width, TARGET_HEIGHT_PX), interpolation=interpolation)
    return np.ascontiguousarray(scaled, dtype=np.uint8), factor


def _iou(first: Box, second: Box) -> float:
    width = min(first.x1, second.x1) - max(first.x0, second.x0)
    height = min(first.y1, second.y1) - max(first.y0, second.y0)
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    return inter / (first.area + second.area - inter)


def _centre_match(annotation: Box, found: Box) -> bool:
    cx, cy = (found.x0 + found.x1) / 2, (found.y0 + found.y1) / 2
    inside = annotation.x0 <= cx <= annotation.x1 and annotation.y0 <= cy <= annotation.y1
    ratio = (found.y1 - found.y0) / max(1e-6, annotation.y1 - annotation.y0)
    return inside and 1 / MAX_HEIGHT_RATIO <= ratio <= MAX_HEIGHT_RATIO


def match_people(annotations: Sequence[Box], found: Sequence[Box]) -> list[bool]:
    """Which annotated people a front end found, matched one to one (best overlap first).

    Args:
        annotations: the annotated people's boxes.
        found: the front end's person boxes, in the same pixels.

    Returns:
        One flag per annotated person.
    """
    pairs: list[tuple[float, int, int]] = []
    for a_index, annotation in enumerate(annotations):
        for f_index, box in enumerate(found):
            iou = _iou(annotation, box)
            if iou >= MIN_IOU or _centre_match(annotation, box):
                # IoU ranks first; a centre match without overlap worth the name ranks after every IoU match.
                pairs.append((iou if iou >= MIN_IOU else iou - 1.0, a_index, f_index))
    matched_a: set[int] = set()
    matched_f: set[int] = set()
    for _, a_index, f_index in sorted(pairs, reverse=True):
        if a_index not in matched_a and f_index not in matched_f:
            matched_a.add(a_index)
            matched_f.add(f_index)
    return [index in matched_a for index in range(len(annotations))]


class BinRecall(_Strict):
    """People found of those annotated in one height bin."""

    annotated: int
    found: int
    recall: float | None


class PersonRecallReport(_Strict):
    """What ``nitrosignal train person-recall`` prints as JSON."""

    front_end: str
    mode: Literal["still", "live"]
    frames: int
    people: int
    by_bin: dict[str, BinRecall]
    target_bin: str = TARGET_BIN
    target_recall: float = 0.8
    meets_target: bool
    unmatched_boxes: int = Field(description="Front-end boxes that matched no annotated person.")
    seconds_per_frame: float = Field(description="Front-end wall time per scored frame (warm-up frames excluded).")
    per_video: dict[str, BinRecall]


class _VideoReader:
    """Sequential reading of a video with the frames it has to hand back kept, decoding each video once."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def frames(self, wanted: set[int]) -> tuple[dict[int, ImageBGR], float]:
        capture = cv2.VideoCapture(str(self._path))
        if not capture.isOpened():
            raise ValueError(f"cannot open video {self._path}")
        fps = float(capture.get(cv2.CAP_PROP_FPS)) or 10.0
        kept: dict[int, ImageBGR] = {}
        index = 0
        last = max(wanted) if wanted else -1
        while index <= last:
            ok, frame = capture.read()
            if not ok:
                break
            if index in wanted:
                kept[index] = np.ascontiguousarray(frame, dtype=np.uint8)
            index += 1
        capture.release()
        missing = wanted - kept.keys()
        if missing:
            raise ValueError(f"{self._path} has no frame {max(missing)} (it decoded {index} frames)")
        return kept, fps


def _frame_plan(
    frame: AnnotatedFrame, fps: float, mode: Literal["still", "live"], warmup_s: float, analysis_fps: float
) -> list[int]:
    """The frame indices the front end sees for one annotated frame, the annotated one last."""
    if mode == "still":
        return [frame.frame]
    step = max(1, round(fps / analysis_fps))
    first = max(0, frame.frame - round(warmup_s * fps))
    return [*range(frame.frame - step, first - 1, -step)][::-1] + [frame.frame]


def _recall(found: int, annotated: int) -> BinRecall:
    return BinRecall(annotated=annotated, found=found, recall=round(found / annotated, 3) if annotated else None)


def measure_person_recall(
    data_root: Path,
    finder_factory: Callable[[], PersonFinder],
    front_end: str,
    *,
    mode: Literal["still", "live"] = "still",
    annotations: Annotations | None = None,
    warmup_s: float = 2.0,
    analysis_fps: float = 10.0,
) -> PersonRecallReport:
    """Run a front end on every annotated frame (scaled to 1080p) and count the people it finds per bin.

    Args:
        data_root: the data folder the annotations' video paths are relative to.
        finder_factory: makes a fresh front end; one for the whole still run, one per frame in live mode.
        front_end: the front end's name for the report.
        mode: ``still`` (each frame alone) or ``live`` (after ``warmup_s`` seconds of the video before it).
        annotations: the annotations; the shipped ones by default.
        warmup_s: seconds of video the front end sees before each annotated frame in live mode.
        analysis_fps: the camera's analysis frame rate in live mode.

    Raises:
        ValueError: if a video is missing or lacks an annotated frame.
    """
    import time

    annotated = annotations or load_annotations()
    per_bin_found = dict.fromkeys(HEIGHT_BINS, 0)
    per_bin_total = dict.fromkeys(HEIGHT_BINS, 0)
    per_video: dict[str, list[int]] = {}
    unmatched = 0
    elapsed = 0.0
    by_video: dict[str, list[AnnotatedFrame]] = {}
    for frame in annotated.frames:
        by_video.setdefault(frame.video, []).append(frame)
    still_finder = finder_factory() if mode == "still" else None
    try:
        for video, frames in by_video.items():
            path = data_root / video
            if not path.is_file():
                raise ValueError(f"annotated video {video} not found under {data_root}")
            fps = float(cv2.VideoCapture(str(path)).get(cv2.CAP_PROP_FPS)) or 10.0
            plans = {f.frame: _frame_plan(f, fps, mode, warmup_s, analysis_fps) for f in frames}
            decoded, fps = _VideoReader(path).frames({i for plan in plans.values() for i in plan})
            for frame in frames:
                finder = still_finder or finder_factory()
                try:
                    boxes: list[Box] = []
                    for index in plans[frame.frame]:
                        scaled, factor = to_1080p(decoded[index])
                        start = time.perf_counter()
                        boxes = finder.find(scaled, round(index * 1000 / fps))
                        if index == frame.frame:
                            elapsed += time.perf_counter() - start
                finally:
                    if finder is not still_finder:
                        finder.close()
                truth = [
                    Box(x * factor, y * factor, (x + w) * factor, (y + h) * factor)
                    for x, y, w, h in (p.box for p in frame.people)
                ]
                flags = match_people(truth, boxes)
                unmatched += max(0, len(boxes) - sum(flags))
                counts = per_video.setdefault(frame.video, [0, 0])
                for person, found in zip(frame.people, flags, strict=True):
                    per_bin_total[person.height_bin] += 1
                    per_bin_found[person.height_bin] += int(found)
                    counts[0] += int(found)
                    counts[1] += 1
    finally:
        if still_finder is not None:
            still_finder.close()
    by_bin = {name: _recall(per_bin_found[name], per_bin_total[name]) for name in HEIGHT_BINS}
    target = by_bin[TARGET_BIN].recall
    return PersonRecallReport(
        front_end=front_end,
        mode=mode,
        frames=len(annotated.frames),
        people=sum(per_bin_total.values()),
        by_bin=by_bin,
        meets_target=target is not None and target >= 0.8,
        unmatched_boxes=unmatched,
        seconds_per_frame=round(elapsed / max(1, len(annotated.frames)), 3),
        per_video={video: _recall(found, total) for video, (found, total) in per_video.items()},
    )
