"""Which files are photos and which are video clips, and how a clip's frames are read.

Shared by the score command, evaluation and training, so all three agree on what a clip is and see the
same frames with the same timestamps. Only OpenCV and numpy: importing this loads no pose or torch model.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Final

import cv2
import numpy as np

from detector.pose.estimator import ImageBGR

IMAGE_SUFFIXES: Final = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
CLIP_SUFFIXES: Final = frozenset({".mp4", ".avi", ".mkv", ".mov", ".webm"})
# Used when a clip's container does not state its frame rate; only the pose tracker's timestamps depend on it.
FALLBACK_CLIP_FPS: Final = 25.0


class ImageReadError(ValueError):
    """A path that should be a photo or a clip could not be read as one."""


def is_clip(path: Path | str) -> bool:
    """Whether a path names a video clip (by its suffix) rather than a photo."""
    return Path(path).suffix.lower() in CLIP_SUFFIXES


def read_clip(path: Path) -> Iterator[tuple[int, ImageBGR]]:
    """Yield ``(timestamp_ms, frame)`` for every frame of a video clip, in order.

    Timestamps come from the clip's frame rate, so they increase strictly, as the pose tracker requires.

    Raises:
        ImageReadError: if the file cannot be opened as a video or holds no frame.
    """
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise ImageReadError(f"cannot read {path} as a video clip")
        fps = float(capture.get(cv2.CAP_PROP_FPS))
        period_ms = 1000.0 / (fps if 1.0 <= fps <= 1000.0 else FALLBACK_CLIP_FPS)
        index = 0
        while True:
            ok, frame = capture.read()
            if not ok or frame is None:
                break
            yield round(index * period_ms), np.ascontiguousarray(frame, dtype=np.uint8)
            index += 1
        if index == 0:
            raise ImageReadError(f"cannot read {path} as a video clip: no frame could be decoded")
    finally:
        capture.release()
