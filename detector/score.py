"""Score still photos through the same FrameAnalyzer as live detection, one JSON line per image.

``score`` is the highest balloon-at-mouth probability among the people found, 0.0 when nobody is found.
Photos are unrelated to each other, so the pose model runs in image mode (no tracking between files) and
scans every tile of every photo; everything else is the live pipeline unchanged. Nothing is written anywhere.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from detector.analysis import FrameAnalyzer
from detector.model import LoadedModel
from detector.settings import AnalysisSettings, PoseSettings

IMAGE_SUFFIXES: Final = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})


class ScoreLine(BaseModel):
    """The score of one image: ``{"path": ..., "people": n, "score": p}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(description="The image path as given or found in a folder.")
    people: int = Field(ge=0, description="People found by the pose stage.")
    score: float = Field(ge=0.0, le=1.0, description="Highest balloon-at-mouth probability; 0.0 if nobody.")


class ImageReadError(ValueError):
    """A path that should be an image could not be read as one."""


def expand_paths(paths: Sequence[Path]) -> Iterator[Path]:
    """Yield image files: files as given, folders walked recursively (sorted, image suffixes only).

    Raises:
        FileNotFoundError: if a path does not exist.
    """
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.is_file():
            yield path
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")


def still_photo_pose(pose: PoseSettings) -> PoseSettings:
    """Pose settings for unrelated still photos: image mode, every tile scanned on every photo.

    Training cuts its crops with these settings too, so each photo is seen exactly as this command sees it.
    """
    return pose.model_copy(update={"running_mode": "image", "tile_every_n_frames": 1, "tiles_per_scan": "all"})


def score_paths(paths: Sequence[Path], settings: AnalysisSettings, model: LoadedModel) -> Iterator[ScoreLine]:
    """Score images (and folders of images) with the live analysis code.

    Args:
        paths: image files or folders.
        settings: analysis settings; the pose stage is switched to image mode for unrelated photos.
        model: the verified classifier.

    Yields:
        One ScoreLine per image, in order.

    Raises:
        FileNotFoundError: for a path that does not exist.
        ImageReadError: for a file that is not a readable image.
    """
    # Unrelated photos: no tracking between them, and every tile scanned on each one.
    still = settings.model_copy(update={"pose": still_photo_pose(settings.pose)})
    with FrameAnalyzer(still, model) as analyzer:
        for path in expand_paths(paths):
            frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if frame is None:
                raise ImageReadError(f"cannot read {path} as an image")
            analysis = analyzer.analyze(np.ascontiguousarray(frame, dtype=np.uint8))
            best = max((person.balloon_score for person in analysis.people), default=0.0)
            yield ScoreLine(path=str(path), people=len(analysis.people), score=round(float(best), 4))
