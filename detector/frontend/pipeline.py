"""The person front end: stages in order, each timed, people with landmarks in frame pixels out.

Per frame:

1. ``track``: the landmark model on every carried region (people found before, face visible or not);
2. ``detect``: the face-keyed PoseLandmarker on the whole frame at analysis width (every
   ``detect_every_n_frames`` frames in live use; every frame, with the pose settings' coarse tiles, for
   photos);
3. ``tiles``: the same detector on tiles at the scale of distant people (``tiles``), one per frame
   round-robin on the frames without a whole-frame pass, or all of them at once;
4. ``motion``: moving regions of the fixed camera that hold nobody known yet, given to the landmark model;
5. ``face_proposals`` (photos): BlazeFace on the whole frame; a face that belongs to nobody found yet
   becomes a body region for the landmark model (a person whose face the pose detector missed);
6. ``faces``: BlazeFace on the head of every person whose hand is near the mouth (the people the evidence
   gate lets through); where its mouth and the pose's disagree, the person gets a
   second pose with the face's head (``fusion``).

People found by 2-5 that no carried region holds are added and carried from then on.

The output is ``PersonPose``, the type the evidence stage already consumes, so the analysis can take this
front end in place of ``PoseEstimator.estimate`` with a small change.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from detector.evidence.geometry import body_scale_px, hand_to_mouth, mouth_point
from detector.frontend.faces import FaceFinder
from detector.frontend.fusion import AGREE_SCALES, body_region_below, face_of, fuse, head_region
from detector.frontend.landmarks import RegionLandmarker
from detector.frontend.proposals import MotionProposer
from detector.frontend.regions import PersonRegion
from detector.frontend.tiles import TileScanner, person_scale_tiles
from detector.frontend.tracks import RegionTracker, region_of_pose
from detector.pose.estimator import ImageBGR, PersonPose, same_face
from detector.pose.regions import Box, box_overlap, tile_boxes
from detector.settings import PoseSettings

FRONT_END_STAGES = ("track", "detect", "tiles", "motion", "face_proposals", "faces")
Source = Literal["track", "detect", "tiles", "motion", "face"]


class FrontEndSettings(BaseModel):
    """Settings of the person front end (the pose stage's own settings stay in ``PoseSettings``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    detect_every_n_frames: int = Field(
        default=5, ge=1, le=100, description="Run the face-keyed detector on the whole frame every N frames."
    )
    coarse_tiles: bool = Field(
        default=False,
        description="With each whole-frame pass, also scan the pose settings' tile grid (photos, as today).",
    )
    person_tiles: Literal["off", "one", "all"] = Field(
        default="one",
        description="Tiles at the scale of distant people: 'one' per frame without a whole-frame pass, "
        "round-robin; 'all' on every frame; 'off'.",
    )
    tile_height_fraction: float = Field(
        default=0.44, gt=0.0, le=1.0, description="Side of a person-scale tile as a fraction of the frame height."
    )
    tile_overlap: float = Field(default=0.25, ge=0.0, lt=0.5, description="Overlap of neighbouring tiles.")
    carry_regions: bool = Field(default=True, description="Carry each person's region to the next frame.")
    max_carried: int = Field(default=16, ge=1, le=64, description="Most people carried at once.")
    carry_misses: int = Field(default=2, ge=0, le=30, description="Frames a lost person's region is kept.")
    refresh_every_n_frames: int = Field(
        default=1,
        ge=1,
        le=30,
        description="Re-run the landmark model on a carried person whose hands are away from the mouth only every "
        "N frames (they keep their last landmarks in between); people with a hand near the mouth every frame.",
    )
    motion: bool = Field(default=True, description="Look at moving regions of the fixed camera.")
    max_motion_proposals: int = Field(default=8, ge=0, le=64, description="Most moving regions looked at.")
    faces: bool = Field(default=True, description="BlazeFace on each head as a second mouth source.")
    hand_near_mouth_ratio: float | None = Field(
        default=1.75,
        gt=0.0,
        description="People whose nearest hand is at most this many body scales from the mouth (the evidence "
        "gate's default) get BlazeFace and are re-analysed on every frame; None treats everyone so.",
    )
    face_proposals: bool = Field(
        default=False,
        description="BlazeFace on the whole frame, and a body region below each face nobody holds yet (photos: "
        "BlazeFace needs a face that fills a good part of its 128-pixel view).",
    )


@dataclass(frozen=True)
class FrontEndPerson:
    """One person (in memory only).

    Attributes:
        pose: the landmarks the evidence stage uses first.
        alternatives: other poses of the same person whose mouth lies elsewhere: the head from BlazeFace
            where face and pose disagree, and the face-keyed detector's pose of a carried person where the
            two disagree. The evidence stage takes the highest score over all of them.
        source: the stage that found the person on this frame.
    """

    pose: PersonPose
    alternatives: tuple[PersonPose, ...]
    source: Source

    def poses(self) -> tuple[PersonPose, ...]:
        """Every pose of this person, the primary one first."""
        return (self.pose, *self.alternatives)


@dataclass
class _Found:
    """A person while the frame is being analysed."""

    pose: PersonPose
    source: Source
    alternatives: list[PersonPose] = field(default_factory=list)


@dataclass(frozen=True)
class FrontEndResult:
    """The people of one frame and each stage's time in milliseconds."""

    people: tuple[FrontEndPerson, ...]
    stage_ms: dict[str, float] = field(default_factory=dict)

    def poses(self) -> list[PersonPose]:
        """Each person's primary pose, in the order found."""
        return [person.pose for person in self.people]


def _mouths_apart(first: PersonPose, second: PersonPose) -> float:
    """Distance between two poses' mouths in the first one's body scales."""
    return float(np.linalg.norm(mouth_point(first) - mouth_point(second))) / max(1.0, body_scale_px(first))


@contextmanager
def _timed(stage_ms: dict[str, float], stage: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        stage_ms[stage] = stage_ms.get(stage, 0.0) + (time.perf_counter() - start) * 1000.0


def _as_colour(frame: npt.NDArray[np.uint8]) -> ImageBGR:
    """A frame as uint8 (H, W, 3): grey and infrared frames, single channel or with alpha, are accepted."""
    import cv2

    array = np.asarray(frame)
    if array.dtype != np.uint8:
        raise ValueError(f"frame must be uint8, got {array.dtype}")
    if array.ndim == 2:
        return np.ascontiguousarray(cv2.cvtColor(array, cv2.COLOR_GRAY2BGR))
    if array.ndim == 3 and array.shape[2] == 1:
        return np.ascontiguousarray(cv2.cvtColor(array[:, :, 0], cv2.COLOR_GRAY2BGR))
    if array.ndim == 3 and array.shape[2] == 4:
        return np.ascontiguousarray(cv2.cvtColor(array, cv2.COLOR_BGRA2BGR))
    if array.ndim == 3 and array.shape[2] == 3:
        return np.ascontiguousarray(array)
    raise ValueError(f"frame must be (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got {array.shape}")


def photo_settings() -> FrontEndSettings:
    """The front end for unrelated photos (``detector score``, training crops): every detection pass on every
    photo (the whole frame and the pose settings' coarse tiles, as today), faces on the whole photo as
    proposals, nothing carried and no motion."""
    return FrontEndSettings(
        detect_every_n_frames=1,
        coarse_tiles=True,
        person_tiles="off",
        carry_regions=False,
        motion=False,
        face_proposals=True,
    )


class PersonFrontEnd:
    """Finds people and their landmarks without relying on a visible mouth.

    Args:
        pose: settings of the face-keyed detection pass (running mode, analysis width, tiles, confidences).
        settings: the front end's own settings.
    """

    def __init__(self, pose: PoseSettings, settings: FrontEndSettings | None = None) -> None:
        self._pose_settings = pose
        self._settings = settings or FrontEndSettings()
        self._scanner = TileScanner(pose)
        self._next_tile = 0
        self._landmarker = RegionLandmarker()
        wants_faces = self._settings.faces or self._settings.face_proposals
        self._faces = FaceFinder() if wants_faces else None
        self._motion = (
            MotionProposer(max_proposals=self._settings.max_motion_proposals) if self._settings.motion else None
        )
        self._tracker = RegionTracker(self._settings.max_carried, self._settings.carry_misses)
        self._frame_index = 0
        self._closed = False

    def analyze(self, frame: npt.NDArray[np.uint8], timestamp_ms: int | None = None) -> FrontEndResult:
        """The people in one frame (already privacy-masked), each stage timed.

        Raises:
            ValueError: for a frame that is not uint8 grey, BGR or BGRA, or is empty.
            RuntimeError: if the front end was closed.
        """
        if self._closed:
            raise RuntimeError("PersonFrontEnd is closed")
        image = _as_colour(frame)
        if image.shape[0] < 1 or image.shape[1] < 1:
            raise ValueError(f"frame is empty: {image.shape}")
        stage_ms: dict[str, float] = dict.fromkeys(FRONT_END_STAGES, 0.0)
        people: list[_Found] = []
        with _timed(stage_ms, "track"):
            if self._settings.carry_regions:
                due = self._tracker.due(self._settings.refresh_every_n_frames)
                regions = self._tracker.regions()
                results = self._landmarker.landmarks(image, [regions[index] for index in due])
                held = self._tracker.held(due)
                self._tracker.advance(dict(zip(due, results, strict=True)), self._hand_near_mouth)
                fresh = [result.pose for result in results if result is not None]
                for pose in [*fresh, *held]:
                    if self._duplicate_of(pose, people) is None:
                        people.append(_Found(pose, "track"))
        detect_frame = self._frame_index % self._settings.detect_every_n_frames == 0
        with _timed(stage_ms, "detect"):
            if detect_frame:
                self._add_found(self._scanner.scan(image, self._detect_boxes(image)), "detect", people)
        with _timed(stage_ms, "tiles"):
            tiles = self._tiles_due(image, detect_frame)
            if tiles:
                self._add_found(self._scanner.scan(image, tiles), "tiles", people)
        with _timed(stage_ms, "motion"):
            if self._motion is not None:
                self._look_at_motion(image, people)
        with _timed(stage_ms, "face_proposals"):
            if self._settings.face_proposals:
                self._look_below_faces(image, people)
        found: list[FrontEndPerson] = []
        with _timed(stage_ms, "faces"):
            wanted = self._faces is not None and self._settings.faces
            looked_at = [index for index, person in enumerate(people) if wanted and self._hand_near_mouth(person.pose)]
            heads = [head_region(people[index].pose) for index in looked_at]
            found_faces = self._faces.find(image, heads) if heads and self._faces else []
            faces = dict(zip(looked_at, found_faces, strict=True))
            for index, person in enumerate(people):
                variant = fuse(person.pose, faces[index])[0] if index in faces else None
                alternatives = (*person.alternatives, variant) if variant is not None else tuple(person.alternatives)
                found.append(FrontEndPerson(pose=person.pose, alternatives=alternatives, source=person.source))
        self._frame_index += 1
        return FrontEndResult(people=tuple(found), stage_ms=stage_ms)

    def _detect_boxes(self, image: ImageBGR) -> list[Box]:
        height, width = image.shape[:2]
        boxes = [Box(0.0, 0.0, float(width), float(height))]
        grid = self._pose_settings.tile_grid
        if self._settings.coarse_tiles and grid != (1, 1):
            boxes += tile_boxes(width, height, grid, self._pose_settings.tile_overlap)
        return boxes

    def _tiles_due(self, image: ImageBGR, detect_frame: bool) -> list[Box]:
        mode = self._settings.person_tiles
        if mode == "off" or (mode == "one" and detect_frame):
            return []
        height, width = image.shape[:2]
        tiles = person_scale_tiles(width, height, self._settings.tile_height_fraction, self._settings.tile_overlap)
        if mode == "all" or not tiles:
            return tiles
        tile = tiles[self._next_tile % len(tiles)]
        self._next_tile += 1
        return [tile]

    def _add_found(self, poses: list[PersonPose], source: Source, people: list[_Found]) -> None:
        for pose in poses:
            known = self._duplicate_of(pose, people)
            if known is None:
                people.append(_Found(pose, source))
                self._carry(region_of_pose(pose))
            elif known.source == "track" and _mouths_apart(known.pose, pose) > AGREE_SCALES:
                # The carried region and the face-keyed detector disagree about this person's head (a balloon
                # can fool either): both are kept.
                known.alternatives.append(pose)

    def _hand_near_mouth(self, pose: PersonPose) -> bool:
        limit = self._settings.hand_near_mouth_ratio
        if limit is None:
            return True
        ratio = hand_to_mouth(pose, self._pose_settings.min_landmark_visibility).ratio
        return ratio is not None and ratio <= limit

    def _look_at_motion(self, image: ImageBGR, people: list[_Found]) -> None:
        assert self._motion is not None
        boxes = [
            box
            for box in self._motion.propose(image)
            if not any(box_overlap(box, person.pose.box()) > 0.5 for person in people)
        ]
        regions = [PersonRegion.from_box(box) for box in boxes]
        for result in self._landmarker.landmarks(image, regions):
            if result is not None and self._duplicate_of(result.pose, people) is None:
                people.append(_Found(result.pose, "motion"))
                self._carry(result.next_region)

    def _look_below_faces(self, image: ImageBGR, people: list[_Found]) -> None:
        assert self._faces is not None
        height, width = image.shape[:2]
        whole = PersonRegion(width / 2, height / 2, float(max(width, height)), 0.0)
        unclaimed = [
            face
            for face in self._faces.find(image, [whole])[0]
            if not any(face_of(person.pose, [face]) is not None for person in people)
        ]
        regions = [body_region_below(face) for face in unclaimed]
        for result in self._landmarker.landmarks(image, regions):
            if result is not None and self._duplicate_of(result.pose, people) is None:
                people.append(_Found(result.pose, "face"))
                self._carry(result.next_region)

    def _carry(self, region: PersonRegion) -> None:
        if self._settings.carry_regions:
            self._tracker.add(region)

    def _duplicate_of(self, pose: PersonPose, people: list[_Found]) -> _Found | None:
        box = pose.box()
        limit = self._pose_settings.duplicate_iou
        for person in people:
            if box_overlap(box, person.pose.box()) > limit or same_face(pose, person.pose):
                return person
        return None

    def reset(self) -> None:
        """Forget every carried region and the learnt background (after a gap in the frames)."""
        self._tracker.clear()
        if self._motion is not None:
            self._motion.reset()
        self._frame_index = 0

    def close(self) -> None:
        """Release every model. Safe to call twice."""
        if not self._closed:
            self._closed = True
            self._scanner.close()
            self._landmarker.close()
            if self._faces is not None:
                self._faces.close()

    def __enter__(self) -> PersonFrontEnd:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
