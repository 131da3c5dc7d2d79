"""Pose landmarks on regions of our choosing, without the face-keyed person detector.

MediaPipe's ``PoseLandmarkByRoiCpu`` subgraph (in the wheel, with ``pose_landmark_full.tflite``) runs the
BlazePose landmark model on any rotated region. It reports nothing when the model's presence score is
under 0.5, and otherwise the 33 landmarks plus the two alignment points from which the next frame's region
follows. That is what lets a tracked person keep their landmarks while a balloon hides the face the
person detector keys on. The result is the same ``PersonPose`` (landmarks in frame pixels) the evidence
stage already consumes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from detector.frontend.graph import CropGraph
from detector.frontend.regions import PersonRegion, RegionCrop, cut_region
from detector.pose.estimator import NUM_LANDMARKS, ImageBGR, PersonPose

GRAPH: Final = """
input_stream: "image"
input_stream: "roi"
output_stream: "landmarks"
output_stream: "alignment"
node {
  calculator: "PoseLandmarkByRoiCpu"
  input_side_packet: "MODEL_COMPLEXITY:model_complexity"
  input_side_packet: "ENABLE_SEGMENTATION:enable_segmentation"
  input_stream: "IMAGE:image"
  input_stream: "ROI:roi"
  output_stream: "LANDMARKS:landmarks"
  output_stream: "AUXILIARY_LANDMARKS:alignment"
}
"""
# pose_landmark_full.tflite, the only landmark model the wheel ships (lite and heavy are downloaded).
FULL_MODEL: Final = 1


@dataclass(frozen=True)
class RegionPose:
    """The landmark model's answer for one region (in memory only).

    Attributes:
        pose: the 33 landmarks in frame pixels.
        next_region: where the person will be looked for next, from the alignment points.
        region: the region the landmarks were found in.
    """

    pose: PersonPose
    next_region: PersonRegion
    region: PersonRegion


def _roi_proto(crop: RegionCrop) -> Any:
    from mediapipe.framework.formats import rect_pb2

    return rect_pb2.NormalizedRect(
        x_center=crop.centre[0],
        y_center=crop.centre[1],
        width=crop.size[0],
        height=crop.size[1],
        rotation=crop.rotation,
    )


def _decode(crop: RegionCrop, region: PersonRegion, outputs: dict[str, Any]) -> RegionPose | None:
    landmarks = outputs.get("landmarks")
    alignment = outputs.get("alignment")
    if landmarks is None or alignment is None or len(landmarks.landmark) != NUM_LANDMARKS:
        return None
    raw = np.array([[p.x, p.y, p.visibility] for p in landmarks.landmark], dtype=np.float64)
    if not np.all(np.isfinite(raw)):
        return None
    xy = crop.to_frame(raw[:, :2])
    array = np.column_stack([xy, np.clip(raw[:, 2], 0.0, 1.0)])
    points = crop.to_frame(np.array([[p.x, p.y] for p in alignment.landmark[:2]], dtype=np.float64))
    try:
        next_region = PersonRegion.from_alignment(
            (float(points[0, 0]), float(points[0, 1])), (float(points[1, 0]), float(points[1, 1]))
        )
    except ValueError:
        return None
    return RegionPose(pose=PersonPose(array), next_region=next_region, region=region)


class RegionLandmarker:
    """Runs the BlazePose landmark model on regions of a frame, one graph for the process's analysis loop."""

    def __init__(self) -> None:
        self._graph = CropGraph(
            GRAPH, ("landmarks", "alignment"), {"model_complexity": FULL_MODEL, "enable_segmentation": False}
        )

    def landmarks(self, frame_bgr: ImageBGR, regions: Sequence[PersonRegion]) -> list[RegionPose | None]:
        """The pose in each region, or None where the model sees no person (or the region left the frame).

        Args:
            frame_bgr: the frame, uint8 (H, W, 3) BGR.
            regions: regions in frame pixels; each may reach outside the frame (it is clipped).
        """
        crops = [cut_region(frame_bgr, region) for region in regions]
        present = [(index, crop) for index, crop in enumerate(crops) if crop is not None]
        outputs = self._graph.run([crop.image for _, crop in present], {"roi": [_roi_proto(c) for _, c in present]})
        results: list[RegionPose | None] = [None] * len(regions)
        for (index, crop), answer in zip(present, outputs, strict=True):
            results[index] = _decode(crop, regions[index], answer)
        return results

    def close(self) -> None:
        """Release the graph."""
        self._graph.close()

    def __enter__(self) -> RegionLandmarker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
