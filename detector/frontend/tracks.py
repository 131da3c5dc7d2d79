"""Per-person regions carried from frame to frame, so the landmark model keeps a person whose face is covered.

Each carried region is re-analysed by the landmark model on the next frame, and the model's two alignment
points give the region after that: the person is followed by their body, not found again by their face. A
region whose person the model no longer sees is kept for ``max_misses`` frames (a passer-by may hide them),
then dropped. Regions live only in this process's memory and carry no identity: they are not the
confirmer's tracks and never leave the device.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from detector.frontend.landmarks import RegionPose
from detector.frontend.regions import PersonRegion
from detector.pose import estimator as lm
from detector.pose.estimator import PersonPose

# Two regions closer than this fraction of the smaller side are one person.
SAME_PERSON_CENTRE_FRACTION = 0.35


def region_of_pose(pose: PersonPose) -> PersonRegion:
    """The region BlazePose would analyse this person in next: centred on the hips, around the whole body."""
    hips = (pose.point(lm.LEFT_HIP) + pose.point(lm.RIGHT_HIP)) / 2.0
    shoulders = (pose.point(lm.LEFT_SHOULDER) + pose.point(lm.RIGHT_SHOULDER)) / 2.0
    radius = float(np.max(np.linalg.norm(pose.landmarks[:, :2] - hips, axis=1)))
    up = shoulders - hips
    length = float(np.hypot(up[0], up[1]))
    direction = up / length if length > 1e-6 else np.array([0.0, -1.0])
    tip = hips + direction * max(radius, 1.0)
    return PersonRegion.from_alignment((float(hips[0]), float(hips[1])), (float(tip[0]), float(tip[1])))


def same_region(first: PersonRegion, second: PersonRegion) -> bool:
    """Whether two regions hold the same person (centres close for their size)."""
    distance = math.hypot(first.cx - second.cx, first.cy - second.cy)
    return distance < SAME_PERSON_CENTRE_FRACTION * min(first.side, second.side)


@dataclass
class CarriedRegion:
    """A person's region between frames (in memory only).

    Attributes:
        region: where the landmark model looks for the person next.
        misses: frames in a row the model did not see the person.
        pose: the person's last landmarks, None until the model has seen them in this region.
        idle: frames since the model last ran on this region.
        watch: re-analyse on every frame (a hand near the mouth, or not seen yet).
    """

    region: PersonRegion
    misses: int = 0
    pose: PersonPose | None = None
    idle: int = 0
    watch: bool = True


class RegionTracker:
    """The regions to re-analyse on the next frame.

    Args:
        max_regions: most people carried at once (the landmark model costs per region).
        max_misses: frames a region is kept after its person was last seen.
    """

    def __init__(self, max_regions: int = 16, max_misses: int = 2) -> None:
        if max_regions < 1 or max_misses < 0:
            raise ValueError(f"bad tracker settings: max_regions={max_regions}, max_misses={max_misses}")
        self._max_regions = max_regions
        self._max_misses = max_misses
        self._carried: list[CarriedRegion] = []

    def regions(self) -> list[PersonRegion]:
        """Every carried region, oldest first."""
        return [c.region for c in self._carried]

    def due(self, every_n_frames: int) -> list[int]:
        """Indices of the regions to analyse on this frame.

        A region is due when its person is watched (hand near the mouth, or not seen yet), or when the model
        last ran on it ``every_n_frames`` frames ago. Between those frames a person whose hands are away from
        the mouth keeps their last landmarks: the evidence gate would not let them through anyway.
        """
        if every_n_frames < 1:
            raise ValueError(f"every_n_frames must be at least 1, got {every_n_frames}")
        return [
            index
            for index, carried in enumerate(self._carried)
            if carried.watch or carried.pose is None or carried.idle + 1 >= every_n_frames
        ]

    def held(self, analysed: Sequence[int]) -> list[PersonPose]:
        """The last landmarks of the people not analysed on this frame."""
        skip = set(analysed)
        return [c.pose for i, c in enumerate(self._carried) if i not in skip and c.pose is not None]

    def advance(self, analysed: Mapping[int, RegionPose | None], watch: Callable[[PersonPose], bool]) -> None:
        """Advance the carried regions: those analysed on this frame with the model's answer, the others idle.

        Args:
            analysed: region index to the landmark model's answer (None: the person was not seen).
            watch: whether a person, from their new landmarks, must be re-analysed on every frame.
        """
        kept: list[CarriedRegion] = []
        for index, carried in enumerate(self._carried):
            if index not in analysed:
                kept.append(
                    CarriedRegion(carried.region, carried.misses, carried.pose, carried.idle + 1, carried.watch)
                )
                continue
            result = analysed[index]
            if result is not None:
                if not any(same_region(result.next_region, k.region) for k in kept):
                    kept.append(CarriedRegion(result.next_region, 0, result.pose, 0, watch(result.pose)))
            elif carried.misses < self._max_misses:
                kept.append(CarriedRegion(carried.region, carried.misses + 1, None, 0, True))
        self._carried = kept

    def update(self, results: Sequence[RegionPose | None]) -> None:
        """Advance every carried region with the landmark model's answer for it on this frame."""
        if len(results) != len(self._carried):
            raise ValueError(f"one result per carried region expected, got {len(results)} for {len(self._carried)}")
        self.advance(dict(enumerate(results)), lambda _pose: True)

    def add(self, region: PersonRegion) -> bool:
        """Start carrying a newly found person's region, unless it is someone already carried or full."""
        if any(same_region(region, c.region) for c in self._carried):
            return False
        if len(self._carried) >= self._max_regions:
            return False
        self._carried.append(CarriedRegion(region))
        return True

    def clear(self) -> None:
        """Forget every region."""
        self._carried.clear()
