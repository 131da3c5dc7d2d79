"""The face-keyed person detector on the whole frame and on tiles at the scale of distant people.

BlazePose's person detector looks at a 224x224 view and keys on the face, so in a whole 1080p street
frame a person 100-250 px tall has a face of two or three pixels there and is never found. On a tile
0.44 frame heights square (475 px at 1080p, 317 px at 720p) the same face is five times larger, and the
detector finds most people of that size (measured on the annotated street frames: 72 of 153, against 3 in
the whole frame). A whole scan of such tiles costs about fifteen detector passes, so live video scans one
tile per frame, round-robin, and the people found are then carried by their regions (``tracks``), not found
again. One PoseLandmarker graph (image mode: every crop is its own image) serves the whole frame and tiles.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final

import cv2
import numpy as np

from detector.pose.bundle import pose_landmarker_bundle
from detector.pose.estimator import ImageBGR, PersonPose
from detector.pose.regions import Box
from detector.settings import PoseSettings

# The detector's own input side: a crop larger than the analysis width is downscaled first anyway.
MIN_TILE_PX: Final = 224


def person_scale_tiles(width: int, height: int, side_fraction: float, overlap: float) -> list[Box]:
    """Square tiles of ``side_fraction`` frame heights covering the frame, overlapping by ``overlap``.

    Args:
        width: frame width in pixels.
        height: frame height in pixels.
        side_fraction: tile side as a fraction of the frame height, 0 < f <= 1.
        overlap: fraction of a tile's side shared with its neighbour, 0 <= overlap < 0.5.

    Returns:
        Tiles row by row; none when one tile would cover the whole frame anyway.
    """
    if not 0.0 < side_fraction <= 1.0 or not 0.0 <= overlap < 0.5:
        raise ValueError(f"bad tile geometry: side {side_fraction}, overlap {overlap}")
    side = max(float(MIN_TILE_PX), side_fraction * height)
    if side >= width and side >= height:
        return []
    stride = side * (1.0 - overlap)
    columns = max(1, math.ceil((width - side) / stride) + 1)
    rows = max(1, math.ceil((height - side) / stride) + 1)
    # Spread the tiles evenly so the last one ends at the frame's edge.
    x_step = (width - side) / (columns - 1) if columns > 1 else 0.0
    y_step = (height - side) / (rows - 1) if rows > 1 else 0.0
    return [
        Box(
            max(0.0, column * x_step),
            max(0.0, row * y_step),
            min(float(width), column * x_step + side),
            min(float(height), row * y_step + side),
        )
        for row in range(rows)
        for column in range(columns)
    ]


class TileScanner:
    """The PoseLandmarker (face-keyed detector, then landmarks) on the whole frame or on boxes of it.

    Args:
        pose: confidences, number of poses and analysis width (the running mode is always image here).
    """

    def __init__(self, pose: PoseSettings) -> None:
        from mediapipe.tasks.python import BaseOptions, vision

        self._analysis_width = pose.analysis_width
        options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_buffer=pose_landmarker_bundle()),
            running_mode=vision.RunningMode.IMAGE,
            num_poses=pose.num_poses,
            min_pose_detection_confidence=pose.min_detection_confidence,
            min_pose_presence_confidence=pose.min_presence_confidence,
            min_tracking_confidence=pose.min_tracking_confidence,
            output_segmentation_masks=False,
        )
        self._landmarker: Any = vision.PoseLandmarker.create_from_options(options)
        self._closed = False

    def scan(self, frame_bgr: ImageBGR, boxes: Sequence[Box]) -> list[PersonPose]:
        """Poses found in each box of the frame (a crop wider than the analysis width is downscaled)."""
        import mediapipe as mp

        if self._closed:
            raise RuntimeError("TileScanner is closed")
        height, width = frame_bgr.shape[:2]
        poses: list[PersonPose] = []
        for box in boxes:
            x0, y0 = max(0, round(box.x0)), max(0, round(box.y0))
            x1, y1 = min(width, round(box.x1)), min(height, round(box.y1))
            if x1 - x0 < 16 or y1 - y0 < 16:
                continue
            crop = frame_bgr[y0:y1, x0:x1]
            if crop.shape[1] > self._analysis_width:
                factor = self._analysis_width / crop.shape[1]
                size = (self._analysis_width, max(1, round(crop.shape[0] * factor)))
                crop = np.asarray(cv2.resize(crop, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
            rgb = np.ascontiguousarray(cv2.cvtColor(crop, cv2.COLOR_BGR2RGB))
            result = self._landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
            for person in result.pose_landmarks:
                array = np.array([[p.x, p.y, p.visibility if p.visibility is not None else 0.0] for p in person])
                array[:, 0] = x0 + array[:, 0] * (x1 - x0)
                array[:, 1] = y0 + array[:, 1] * (y1 - y0)
                array[:, 2] = np.clip(array[:, 2], 0.0, 1.0)
                if np.all(np.isfinite(array)):
                    poses.append(PersonPose(array))
        return poses

    def close(self) -> None:
        """Release the graph. Safe to call twice."""
        if not self._closed:
            self._closed = True
            self._landmarker.close()
