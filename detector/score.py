"""Score photos and video clips through the same FrameAnalyzer as live detection, one JSON line per file.

For a photo, ``score`` is the highest balloon-at-mouth probability among the people found, 0.0 when nobody
is found. Photos are unrelated to each other, so the pose model runs in image mode (no tracking between
files) and scans every tile of every photo; everything else is the live pipeline unchanged.

A clip is analysed frame by frame as a live camera's frames are: the given settings (the camera's pose
running mode and tile schedule), except that every gated person is classified on every frame, with a fresh
analyzer per clip because clips are unrelated to each other. Its ``score`` is the highest probability of any
person in any frame, and ``people`` the most people found in one frame. Nothing is written anywhere.
Privacy masks, when given (the camera config's, with ``--config``), black out every photo and frame before
the analyzer sees it, as live.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from detector.analysis import FrameAnalyzer
from detector.masking import MaskApplier
from detector.media import CLIP_SUFFIXES, IMAGE_SUFFIXES, ImageReadError, is_clip, read_clip
from detector.model import LoadedModel
from detector.settings import AnalysisSettings, PoseSettings


class ScoreLine(BaseModel):
    """The score of one photo or clip: ``{"path": ..., "people": n, "score": p, "frames": f}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(description="The photo or clip path as given or found in a folder.")
    people: int = Field(ge=0, description="People found by the pose stage (in a clip: the most in one frame).")
    score: float = Field(ge=0.0, le=1.0, description="Highest balloon-at-mouth probability; 0.0 if nobody.")
    frames: int = Field(default=1, ge=1, description="Frames analysed: 1 for a photo, every frame of a clip.")


def expand_paths(paths: Sequence[Path]) -> Iterator[Path]:
    """Yield photo and clip files: files as given, folders walked recursively (sorted, known suffixes only).

    Raises:
        FileNotFoundError: if a path does not exist.
    """
    for path in paths:
        if path.is_dir():
            known = IMAGE_SUFFIXES | CLIP_SUFFIXES
            yield from sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in known)
        elif path.is_file():
            yield path
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")


def still_photo_pose(pose: PoseSettings) -> PoseSettings:
    """Pose settings for unrelated still photos: image mode, every tile scanned on every photo.

    Training cuts its crops with these settings too, so each photo is seen exactly as this command sees it.
    """
    return pose.model_copy(update={"running_mode": "image", "tile_every_n_frames": 1, "tiles_per_scan": "all"})


def score_paths(
    paths: Sequence[Path], settings: AnalysisSettings, model: LoadedModel, *, masks: MaskApplier | None = None
) -> Iterator[ScoreLine]:
    """Score photos and clips (and folders of them) with the live analysis code.

    Args:
        paths: photo or clip files, or folders.
        settings: the live analysis settings; for photos the pose stage is switched to image mode, clips use
            them unchanged.
        model: the verified classifier.
        masks: privacy masks applied to every photo and frame first (the camera's, as live); None for none.

    Yields:
        One ScoreLine per photo or clip, in order.

    Raises:
        FileNotFoundError: for a path that does not exist.
        ImageReadError: for a file that is not a readable photo or clip.
    """
    # Unrelated photos: no tracking between them, and every tile scanned on each one.
    still = settings.model_copy(update={"pose": still_photo_pose(settings.pose)})
    with FrameAnalyzer(still, model) as analyzer:
        for path in expand_paths(paths):
            if is_clip(path):
                yield score_clip(path, settings, model, masks=masks)
                continue
            frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if frame is None:
                raise ImageReadError(f"cannot read {path} as an image")
            analyzer.reset()  # an unrelated photo: everyone in it is new, so everyone gated is classified
            image = np.ascontiguousarray(frame, dtype=np.uint8)
            analysis = analyzer.analyze(image if masks is None else masks.apply(image))
            best = max((person.balloon_score for person in analysis.people), default=0.0)
            yield ScoreLine(path=str(path), people=len(analysis.people), score=round(float(best), 4))


def score_clip(
    path: Path, settings: AnalysisSettings, model: LoadedModel, *, masks: MaskApplier | None = None
) -> ScoreLine:
    """Score one clip: every frame (masked first, if masks are given) through a fresh live analyzer.

    The score is the highest person score of any frame.

    Raises:
        ImageReadError: if the clip cannot be read.
    """
    best, people, frames = 0.0, 0, 0
    # The score is the best frame's, so every gated person is classified on every frame: the live cadence
    # keeps the confirmer's decisions, not each frame's maximum (a balloon on one frame only would be missed).
    every_frame = settings.evidence.model_copy(update={"classify_every_n_frames": 1})
    with FrameAnalyzer(settings.model_copy(update={"evidence": every_frame}), model) as analyzer:
        for timestamp_ms, frame in read_clip(path):
            analysis = analyzer.analyze(frame if masks is None else masks.apply(frame), timestamp_ms)
            best = max([best, *(person.balloon_score for person in analysis.people)])
            people = max(people, len(analysis.people))
            frames += 1
    return ScoreLine(path=str(path), people=people, score=round(float(best), 4), frames=frames)
