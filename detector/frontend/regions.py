"""The region a person is analysed in: a rotated square in frame pixels, as BlazePose's landmark model expects.

BlazePose's detector only ever produces such a region: a square centred on the hips, its side twice the
radius of a circle around the whole body (times 1.25), rotated so the line from the hips to the top of
that circle points up. The landmark model then predicts the next frame's region from two extra landmarks
(33: hip centre, 34: a point on that circle). Regions here are built the same way from those two points,
from a person box (proposals), and cut out of the frame clipped to it (a region that leaves the frame is
padded by the landmark graph, never read outside the image).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from detector.pose.estimator import FloatArray, ImageBGR
from detector.pose.regions import Box

# MediaPipe's own margin around the body circle (PoseDetectionToRoi and PoseLandmarksToRoi: scale 1.25).
REGION_MARGIN: Final = 1.25
# The body circle of an upright person box: the hips sit about half-way down, the circle reaches the head.
BOX_CENTRE_FROM_TOP: Final = 0.5
BOX_RADIUS_OF_HEIGHT: Final = 0.55
# A region is cut at no more than this many pixels a side before the graph resizes it to 256: larger crops
# cost copies and colour conversion and bring no detail the model can use.
MAX_CROP_SIDE_PX: Final = 512


def normalise_radians(angle: float) -> float:
    """The angle wrapped to [-pi, pi)."""
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


@dataclass(frozen=True)
class PersonRegion:
    """A rotated square in frame pixels (in memory only).

    Attributes:
        cx: centre x.
        cy: centre y.
        side: side length.
        rotation: clockwise rotation in radians (MediaPipe's convention), 0 for an upright person.
    """

    cx: float
    cy: float
    side: float
    rotation: float = 0.0

    def __post_init__(self) -> None:
        values = (self.cx, self.cy, self.side, self.rotation)
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"region values must be finite, got {values}")
        if self.side <= 0:
            raise ValueError(f"region side must be positive, got {self.side}")

    @classmethod
    def from_alignment(cls, centre: tuple[float, float], scale_point: tuple[float, float]) -> PersonRegion:
        """The region from BlazePose's two alignment points (hip centre and a point on the body circle)."""
        dx, dy = scale_point[0] - centre[0], scale_point[1] - centre[1]
        radius = math.hypot(dx, dy)
        rotation = normalise_radians(math.pi / 2 - math.atan2(-dy, dx))
        return cls(centre[0], centre[1], max(1e-3, 2 * radius * REGION_MARGIN), rotation)

    @classmethod
    def from_box(cls, box: Box) -> PersonRegion:
        """The region of an upright person whose body fills ``box``."""
        height = box.y1 - box.y0
        width = box.x1 - box.x0
        radius = max(BOX_RADIUS_OF_HEIGHT * height, 0.5 * width)
        centre = ((box.x0 + box.x1) / 2, box.y0 + BOX_CENTRE_FROM_TOP * height)
        return cls(centre[0], centre[1], max(1e-3, 2 * radius * REGION_MARGIN), 0.0)

    def bounds(self) -> Box:
        """The axis-aligned box around the rotated square (not clipped)."""
        half = self.side / 2 * (abs(math.cos(self.rotation)) + abs(math.sin(self.rotation)))
        return Box(self.cx - half, self.cy - half, self.cx + half, self.cy + half)

    def overlaps_frame(self, width: int, height: int) -> bool:
        """Whether any part of the region lies inside a width x height frame."""
        b = self.bounds()
        return b.x1 > 0 and b.y1 > 0 and b.x0 < width and b.y0 < height


@dataclass(frozen=True)
class RegionCrop:
    """A region cut out of a frame for the landmark graph.

    Attributes:
        image: the clipped, possibly downscaled, axis-aligned crop (uint8 BGR).
        origin: frame pixel of the crop's top-left corner.
        scale: crop pixels per frame pixel (<= 1).
        centre: the region's centre normalised to the crop (may lie outside 0..1 for a clipped region).
        size: the region's width and height normalised to the crop's width and height.
        rotation: the region's rotation.
    """

    image: ImageBGR
    origin: tuple[float, float]
    scale: float
    centre: tuple[float, float]
    size: tuple[float, float]
    rotation: float

    def to_frame(self, xy_normalised: FloatArray) -> FloatArray:
        """Map (N, 2) points normalised to the crop back to frame pixels."""
        height, width = self.image.shape[:2]
        points = np.asarray(xy_normalised, dtype=np.float64).copy()
        points[:, 0] = self.origin[0] + points[:, 0] * width / self.scale
        points[:, 1] = self.origin[1] + points[:, 1] * height / self.scale
        return points


def cut_region(frame_bgr: ImageBGR, region: PersonRegion, min_side_px: int = 8) -> RegionCrop | None:
    """Cut the part of the frame a region covers, clipped to the frame.

    Args:
        frame_bgr: the frame, uint8 (H, W, 3).
        region: the region in frame pixels; it may leave the frame.
        min_side_px: a clipped crop smaller than this on either side is not worth analysing.

    Returns:
        The crop, or None when the region lies (almost) outside the frame.
    """
    import cv2

    height, width = frame_bgr.shape[:2]
    b = region.bounds()
    x0, y0 = max(0, math.floor(b.x0)), max(0, math.floor(b.y0))
    x1, y1 = min(width, math.ceil(b.x1)), min(height, math.ceil(b.y1))
    if x1 - x0 < min_side_px or y1 - y0 < min_side_px:
        return None
    crop = frame_bgr[y0:y1, x0:x1]
    scale = min(1.0, MAX_CROP_SIDE_PX / region.side)
    if scale < 1.0:
        size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
        crop = np.asarray(cv2.resize(crop, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    crop = np.ascontiguousarray(crop)
    crop_h, crop_w = crop.shape[:2]
    # Normalised to the crop as it is now (downscaled or not): frame offset, then the crop's own pixels.
    centre = ((region.cx - x0) * scale / crop_w, (region.cy - y0) * scale / crop_h)
    size_n = (region.side * scale / crop_w, region.side * scale / crop_h)
    return RegionCrop(crop, (float(x0), float(y0)), scale, centre, size_n, region.rotation)
