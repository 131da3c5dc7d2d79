"""Person proposals from motion: moving regions against the fixed camera's learnt background.

A street camera does not move, so whatever moves and has a person's proportions is worth a look by the
landmark model, face or no face, however small. The background model (OpenCV's MOG2, no weights) runs on a
downscaled grey copy of the frame, so its cost hardly depends on the camera's resolution. Shadows are
learnt as such and left out. A proposal is only a place to look: the landmark model's presence score
decides whether a person is there. People who stand still from the start are found by the face-keyed
detector and tiles (see ``pipeline``), and are then carried by their track.
"""

from __future__ import annotations

from typing import Final

import cv2
import numpy as np

from detector.pose.estimator import ImageBGR
from detector.pose.regions import Box

# The background model's working height: a person 100 px tall at 1080p is 25 px tall here.
WORK_HEIGHT_PX: Final = 270
# Frames the background model needs before its foreground means anything (about 2 s at 10 fps).
WARMUP_FRAMES: Final = 15
# More of the frame than this in the foreground means the camera moved or the light changed, not people:
# the frame gives no proposals (the background model keeps learning).
MAX_FOREGROUND_FRACTION: Final = 0.25


class MotionProposer:
    """Boxes of moving, person-shaped regions, in frame pixels.

    Args:
        min_height_fraction: smallest proposal as a fraction of the frame height (0.06: 65 px at 1080p).
        max_proposals: most proposals per frame, largest first (the landmark model costs per region).
    """

    def __init__(self, min_height_fraction: float = 0.06, max_proposals: int = 12) -> None:
        if not 0.0 < min_height_fraction < 1.0 or max_proposals < 0:
            raise ValueError(f"bad motion settings: {min_height_fraction}, {max_proposals}")
        self._min_height = min_height_fraction
        self._max = max_proposals
        self._model = cv2.createBackgroundSubtractorMOG2(history=300, varThreshold=25, detectShadows=True)
        self._frames = 0
        self._size: tuple[int, int] | None = None

    def reset(self) -> None:
        """Forget the learnt background."""
        self._size = None

    def propose(self, frame_bgr: ImageBGR) -> list[Box]:
        """Moving regions of this frame (none while the background is still being learnt)."""
        height, width = frame_bgr.shape[:2]
        if self._size != (width, height):
            # A new camera resolution starts a new background.
            self._model = cv2.createBackgroundSubtractorMOG2(history=300, varThreshold=25, detectShadows=True)
            self._frames = 0
            self._size = (width, height)
        factor = min(1.0, WORK_HEIGHT_PX / height)
        small = cv2.resize(frame_bgr, (max(1, round(width * factor)), max(1, round(height * factor))))
        grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        mask = self._model.apply(grey)
        self._frames += 1
        if self._frames < WARMUP_FRAMES:
            return []
        # 255 is foreground, 127 a shadow.
        foreground = np.where(mask == 255, 255, 0).astype(np.uint8)
        if np.count_nonzero(foreground) > MAX_FOREGROUND_FRACTION * foreground.size:
            return []
        opened = cv2.morphologyEx(foreground, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
        joined = cv2.dilate(opened, np.ones((5, 3), np.uint8))
        count, _, stats, _ = cv2.connectedComponentsWithStats(joined)
        min_h = self._min_height * small.shape[0]
        boxes: list[tuple[int, Box]] = []
        for x, y, w, h, area in stats[1:count]:
            # Person-shaped: tall enough, not a wide strip (a passing car, a lighting change), not a speck.
            if h < min_h or w > 2.5 * h or area < 0.15 * w * h:
                continue
            boxes.append(
                (int(area), Box(float(x) / factor, float(y) / factor, float(x + w) / factor, float(y + h) / factor))
            )
        boxes.sort(key=lambda item: -item[0])
        return [box for _, box in boxes[: self._max]]
