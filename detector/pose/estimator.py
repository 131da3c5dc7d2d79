"""Multi-person pose with MediaPipe's Tasks PoseLandmarker, plus tiles so small, distant people are found.

The full frame is analysed at ``analysis_width``. The person detector looks at a 224x224 view of its
input, so small, distant people vanish in a full frame; overlapping tiles of the full-resolution frame are
scanned too (all of them for still photos; one per few frames, round-robin, for live video, which keeps the
cost per frame even), and optionally people found there are kept as regions that are re-analysed every
frame until they are lost. Poses found twice are merged. Landmarks are returned in the original frame's
pixels and never leave process memory.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import cv2
import numpy as np
import numpy.typing as npt

from detector.pose.bundle import pose_landmarker_bundle
from detector.pose.regions import Box, box_overlap, expand_box, tile_boxes
from detector.settings import PoseSettings

NUM_LANDMARKS: Final = 33
# BlazePose landmark indices used by the evidence stage.
NOSE: Final = 0
MOUTH_LEFT: Final = 9
MOUTH_RIGHT: Final = 10
LEFT_SHOULDER: Final = 11
RIGHT_SHOULDER: Final = 12
LEFT_WRIST: Final = 15
RIGHT_WRIST: Final = 16
LEFT_INDEX: Final = 19
RIGHT_INDEX: Final = 20
LEFT_EYE: Final = 2
RIGHT_EYE: Final = 5
LEFT_EAR: Final = 7
RIGHT_EAR: Final = 8
LEFT_HIP: Final = 23
RIGHT_HIP: Final = 24

FloatArray = npt.NDArray[np.float64]
ImageBGR = npt.NDArray[np.uint8]


@dataclass(frozen=True, eq=False)
class PersonPose:
    """One person's 33 BlazePose landmarks in frame pixels: columns x, y, visibility (0..1).

    Lives only in memory on the device; never serialised.
    """

    landmarks: FloatArray

    def __post_init__(self) -> None:
        array = np.asarray(self.landmarks, dtype=np.float64)
        if array.shape != (NUM_LANDMARKS, 3):
            raise ValueError(f"landmarks must have shape ({NUM_LANDMARKS}, 3), got {array.shape}")
        if not np.all(np.isfinite(array)):
            raise ValueError("landmarks must be finite numbers, got NaN or infinity")
        array.setflags(write=False)
        object.__setattr__(self, "landmarks", array)

    def point(self, index: int) -> FloatArray:
        """Pixel (x, y) of landmark ``index``."""
        return self.landmarks[index, :2]

    def visibility(self, index: int) -> float:
        """Visibility of landmark ``index`` (0..1)."""
        return float(self.landmarks[index, 2])

    def box(self) -> Box:
        """Tight pixel box (x0, y0, x1, y1) around all landmarks."""
        xy = self.landmarks[:, :2]
        return Box(float(xy[:, 0].min()), float(xy[:, 1].min()), float(xy[:, 0].max()), float(xy[:, 1].max()))


@dataclass
class _Region:
    """A full-resolution area where a small person was found; re-analysed every frame until lost."""

    box: Box
    misses: int = 0


@dataclass
class _Landmarkers:
    main: Any
    tiles: Any
    regions: list[_Region] = field(default_factory=list)


def _to_mp_image(frame_bgr: ImageBGR) -> Any:
    import mediapipe as mp

    rgb = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB)
    return mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))


def _poses_from_result(result: Any, offset: tuple[float, float], size: tuple[float, float]) -> list[PersonPose]:
    """Map a landmarker result (normalised to the analysed image) to frame pixels."""
    poses = []
    for person in result.pose_landmarks:
        array = np.array([[p.x, p.y, p.visibility if p.visibility is not None else 0.0] for p in person])
        array[:, 0] = offset[0] + array[:, 0] * size[0]
        array[:, 1] = offset[1] + array[:, 1] * size[1]
        array[:, 2] = np.clip(array[:, 2], 0.0, 1.0)
        poses.append(PersonPose(array))
    return poses


def same_face(first: PersonPose, second: PersonPose) -> bool:
    """Whether two poses put a mouth on the same face: closer than one eye-to-mouth height apart.

    Two people's mouths are never that close, while a second detection of one face can come with a body
    guessed quite differently (so its landmark box barely overlaps the first one's).
    """

    def mouth_and_height(pose: PersonPose) -> tuple[FloatArray, float]:
        mouth = (pose.point(MOUTH_LEFT) + pose.point(MOUTH_RIGHT)) / 2.0
        eyes = (pose.point(LEFT_EYE) + pose.point(RIGHT_EYE)) / 2.0
        return mouth, float(np.linalg.norm(eyes - mouth))

    mouth_a, height_a = mouth_and_height(first)
    mouth_b, height_b = mouth_and_height(second)
    return float(np.linalg.norm(mouth_a - mouth_b)) < max(height_a, height_b)


class PoseEstimator:
    """Finds every person's pose in a BGR frame.

    Args:
        settings: pose settings (number of poses, analysis width, tiles, confidences, running mode).
    """

    def __init__(self, settings: PoseSettings) -> None:
        self._settings = settings
        self._frame_index = 0
        self._last_timestamp_ms = -1
        self._closed = False
        self._next_tile = 0
        main = self._create(settings.running_mode, settings.num_poses)
        # Tiles and regions are separate crops each time, so they are analysed as independent images. Each
        # PoseLandmarker graph costs ~145 MB of memory, so image mode shares one graph for everything, and
        # video mode only builds the second graph when tiles are on.
        tiles_on = settings.tile_grid != (1, 1) and settings.tile_every_n_frames > 0
        if settings.running_mode == "image" or not tiles_on:
            tiles = main
        else:
            tiles = self._create("image", settings.num_poses)
        self._landmarkers = _Landmarkers(main=main, tiles=tiles)

    @property
    def settings(self) -> PoseSettings:
        """The settings this estimator was built with."""
        return self._settings

    def _create(self, mode: str, num_poses: int) -> Any:
        from mediapipe.tasks.python import BaseOptions, vision

        running_mode = vision.RunningMode.VIDEO if mode == "video" else vision.RunningMode.IMAGE
        options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_buffer=pose_landmarker_bundle()),
            running_mode=running_mode,
            num_poses=num_poses,
            min_pose_detection_confidence=self._settings.min_detection_confidence,
            min_pose_presence_confidence=self._settings.min_presence_confidence,
            min_tracking_confidence=self._settings.min_tracking_confidence,
            output_segmentation_masks=False,
        )
        return vision.PoseLandmarker.create_from_options(options)

    def _next_timestamp_ms(self, timestamp_ms: int | None) -> int:
        # VIDEO mode needs strictly increasing timestamps; fall back to the monotonic clock.
        stamp = int(time.monotonic() * 1000) if timestamp_ms is None else timestamp_ms
        stamp = max(stamp, self._last_timestamp_ms + 1)
        self._last_timestamp_ms = stamp
        return stamp

    def _main_pass(self, frame_bgr: ImageBGR, timestamp_ms: int | None) -> list[PersonPose]:
        height, width = frame_bgr.shape[:2]
        target_width = min(width, self._settings.analysis_width)
        small = frame_bgr
        if target_width < width:
            target_height = max(1, round(height * target_width / width))
            small = np.asarray(
                cv2.resize(frame_bgr, (target_width, target_height), interpolation=cv2.INTER_AREA), dtype=np.uint8
            )
        image = _to_mp_image(small)
        if self._settings.running_mode == "video":
            result = self._landmarkers.main.detect_for_video(image, self._next_timestamp_ms(timestamp_ms))
        else:
            result = self._landmarkers.main.detect(image)
        # Normalised coordinates are the same for the downscaled and the original frame.
        return _poses_from_result(result, (0.0, 0.0), (float(width), float(height)))

    def _crop_pass(self, frame_bgr: ImageBGR, box: Box) -> list[PersonPose]:
        x0, y0, x1, y1 = (round(v) for v in box)
        crop = frame_bgr[y0:y1, x0:x1]
        if crop.shape[0] < 16 or crop.shape[1] < 16:
            return []
        result = self._landmarkers.tiles.detect(_to_mp_image(np.ascontiguousarray(crop)))
        return _poses_from_result(result, (float(x0), float(y0)), (float(x1 - x0), float(y1 - y0)))

    def _tiles_due(self, width: int, height: int) -> list[Box]:
        """The tiles to scan on this frame: none, the next one round-robin, or all of them."""
        settings = self._settings
        every = settings.tile_every_n_frames
        if settings.tile_grid == (1, 1) or every == 0 or self._frame_index % every != 0:
            return []
        tiles = tile_boxes(width, height, settings.tile_grid, settings.tile_overlap)
        if settings.tiles_per_scan == "all":
            return tiles
        tile = tiles[self._next_tile % len(tiles)]
        self._next_tile += 1
        return [tile]

    def estimate(self, frame_bgr: ImageBGR, timestamp_ms: int | None = None) -> list[PersonPose]:
        """Poses of all people in the frame, in frame pixels.

        Args:
            frame_bgr: uint8 image of shape (H, W, 3), BGR as OpenCV delivers it.
            timestamp_ms: frame time for video mode (strictly increasing); the monotonic clock if None.

        Returns:
            One PersonPose per person: those found in the full frame first, then those only found in
            regions or tiles (each pass reports at most num_poses people).

        Raises:
            ValueError: if the frame is not a (H, W, 3) uint8 array.
            RuntimeError: if the estimator was closed.
        """
        if self._closed:
            raise RuntimeError("PoseEstimator is closed")
        if frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3 or frame_bgr.dtype != np.uint8:
            raise ValueError(f"frame must be a (H, W, 3) uint8 BGR array, got {frame_bgr.shape} {frame_bgr.dtype}")
        height, width = frame_bgr.shape[:2]
        poses: list[PersonPose] = []
        # At a low detection threshold the person detector can report one person twice; keep the first.
        for pose in self._main_pass(frame_bgr, timestamp_ms):
            if self._is_new(pose, poses):
                poses.append(pose)
        if self._settings.track_regions:
            poses = self._track_regions(frame_bgr, poses)
        for tile in self._tiles_due(width, height):
            for pose in self._crop_pass(frame_bgr, tile):
                if self._is_new(pose, poses):
                    poses.append(pose)
                    if self._settings.track_regions:
                        region = expand_box(pose.box(), 1.6, width, height)
                        self._landmarkers.regions.append(_Region(region))
        self._frame_index += 1
        return poses

    def _track_regions(self, frame_bgr: ImageBGR, poses: list[PersonPose]) -> list[PersonPose]:
        """Re-analyse regions of small people found earlier in tiles; drop a region once it is lost."""
        height, width = frame_bgr.shape[:2]
        kept: list[_Region] = []
        for region in self._landmarkers.regions:
            found = [p for p in self._crop_pass(frame_bgr, region.box) if self._is_new(p, poses)]
            if found:
                poses.extend(found)
                kept.append(_Region(expand_box(found[0].box(), 1.6, width, height)))
            elif region.misses < 2 and not any(box_overlap(region.box, p.box()) > 0.8 for p in poses):
                kept.append(_Region(region.box, region.misses + 1))
        self._landmarkers.regions = kept[:4]
        return poses

    def _is_new(self, pose: PersonPose, known: Sequence[PersonPose]) -> bool:
        box = pose.box()
        return all(
            box_overlap(box, other.box()) <= self._settings.duplicate_iou and not same_face(pose, other)
            for other in known
        )

    def close(self) -> None:
        """Release the MediaPipe graphs. Safe to call twice."""
        if not self._closed:
            self._landmarkers.main.close()
            if self._landmarkers.tiles is not self._landmarkers.main:
                self._landmarkers.tiles.close()
            self._closed = True

    def __enter__(self) -> PoseEstimator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
