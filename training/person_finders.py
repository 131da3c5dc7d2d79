"""Front ends as the person-recall yardstick runs them: today's pose stage and the person front end.

``today`` is the detector's pose stage as it ships (``PoseEstimator``: the face-keyed PoseLandmarker at
analysis width plus tiles). ``frontend`` is ``detector.frontend.pipeline.PersonFrontEnd``. In ``still`` mode
both analyse each frame alone as ``detector score`` analyses a photo (every tile scanned); in ``live`` mode
they run with the camera's settings over the frames before the annotated one. A person's box is their
pose's landmark box.
"""

from __future__ import annotations

from typing import Literal

from detector.frontend.pipeline import FrontEndSettings, PersonFrontEnd, photo_settings
from detector.pose.estimator import ImageBGR, PoseEstimator
from detector.pose.regions import Box
from detector.score import still_photo_pose
from detector.settings import PoseSettings

FrontEndName = Literal["today", "frontend"]
Mode = Literal["still", "live"]


class TodayFinder:
    """Today's pose stage."""

    def __init__(self, mode: Mode) -> None:
        settings = PoseSettings()
        self._estimator = PoseEstimator(still_photo_pose(settings) if mode == "still" else settings)

    def find(self, frame_bgr: ImageBGR, timestamp_ms: int) -> list[Box]:
        """Landmark boxes of the poses found."""
        return [pose.box() for pose in self._estimator.estimate(frame_bgr, timestamp_ms)]

    def close(self) -> None:
        """Release the pose graph."""
        self._estimator.close()


class FrontEndFinder:
    """The person front end."""

    def __init__(self, mode: Mode) -> None:
        settings = PoseSettings()
        if mode == "still":
            self._front_end = PersonFrontEnd(still_photo_pose(settings), photo_settings())
        else:
            self._front_end = PersonFrontEnd(settings, FrontEndSettings())

    def find(self, frame_bgr: ImageBGR, timestamp_ms: int) -> list[Box]:
        """Landmark boxes of each person's primary pose."""
        return [pose.box() for pose in self._front_end.analyze(frame_bgr, timestamp_ms).poses()]

    def close(self) -> None:
        """Release the models."""
        self._front_end.close()


def make_finder(name: FrontEndName, mode: Mode) -> TodayFinder | FrontEndFinder:
    """A fresh front end by name."""
    return TodayFinder(mode) if name == "today" else FrontEndFinder(mode)
