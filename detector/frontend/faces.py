"""BlazeFace short-range as a second mouth source: faces, with their mouth point, in square regions.

A balloon at the lips often pulls BlazePose's whole face onto the balloon, while BlazeFace (the
``FaceDetectionShortRangeCpu`` subgraph and its 230 KB model, both in the wheel) still finds the covered face
in place. The model sees a 128x128 view and expects a face that fills a good part of it, so it runs on
square regions around people's heads (and, for photos, on the whole frame), never on a whole street scene.
Keypoints are the face's six: right eye, left eye, nose tip, mouth centre, right ear, left ear.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from detector.frontend.graph import CropGraph
from detector.frontend.regions import PersonRegion, cut_region
from detector.pose.estimator import FloatArray, ImageBGR
from detector.pose.regions import Box

GRAPH: Final = """
input_stream: "image"
output_stream: "detections"
node {
  calculator: "FaceDetectionShortRangeCpu"
  input_stream: "IMAGE:image"
  output_stream: "DETECTIONS:detections"
}
"""
RIGHT_EYE: Final = 0
LEFT_EYE: Final = 1
NOSE_TIP: Final = 2
MOUTH: Final = 3
RIGHT_EAR: Final = 4
LEFT_EAR: Final = 5


@dataclass(frozen=True)
class Face:
    """One face in frame pixels (in memory only).

    Attributes:
        box: the face box.
        keypoints: (6, 2) right eye, left eye, nose tip, mouth, right ear, left ear.
        score: the detector's confidence, 0..1.
    """

    box: Box
    keypoints: FloatArray
    score: float

    @property
    def mouth(self) -> FloatArray:
        """The mouth centre (x, y)."""
        return np.asarray(self.keypoints[MOUTH], dtype=np.float64)


def _decode(detection: Any, crop_origin: tuple[float, float], crop_size: tuple[int, int], scale: float) -> Face:
    location = detection.location_data
    rel = location.relative_bounding_box
    width, height = crop_size

    def to_frame(x: float, y: float) -> tuple[float, float]:
        return crop_origin[0] + x * width / scale, crop_origin[1] + y * height / scale

    x0, y0 = to_frame(rel.xmin, rel.ymin)
    x1, y1 = to_frame(rel.xmin + rel.width, rel.ymin + rel.height)
    points = np.array([to_frame(k.x, k.y) for k in location.relative_keypoints][:6], dtype=np.float64)
    score = float(detection.score[0]) if len(detection.score) else 0.0
    return Face(Box(x0, y0, x1, y1), points, score)


class FaceFinder:
    """BlazeFace short-range on square regions of a frame.

    Args:
        min_score: faces below this confidence are dropped (the subgraph itself keeps those above 0.5).
    """

    def __init__(self, min_score: float = 0.5) -> None:
        if not 0.0 <= min_score <= 1.0:
            raise ValueError(f"min_score must be within 0..1, got {min_score}")
        self._min_score = min_score
        self._graph = CropGraph(GRAPH, ("detections",), {}, list_outputs=("detections",))

    def find(self, frame_bgr: ImageBGR, regions: Sequence[PersonRegion]) -> list[list[Face]]:
        """The faces in each (upright) region, clipped to the frame; an empty list where there is none."""
        crops = [cut_region(frame_bgr, PersonRegion(r.cx, r.cy, r.side, 0.0), min_side_px=16) for r in regions]
        present = [(index, crop) for index, crop in enumerate(crops) if crop is not None]
        outputs = self._graph.run([crop.image for _, crop in present], {})
        found: list[list[Face]] = [[] for _ in regions]
        for (index, crop), answer in zip(present, outputs, strict=True):
            size = (crop.image.shape[1], crop.image.shape[0])
            faces = [_decode(d, crop.origin, size, crop.scale) for d in answer.get("detections", [])]
            found[index] = [face for face in faces if face.score >= self._min_score]
        return found

    def close(self) -> None:
        """Release the graph."""
        self._graph.close()

    def __enter__(self) -> FaceFinder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
