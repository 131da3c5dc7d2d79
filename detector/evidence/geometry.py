"""Hand-to-mouth geometry, normalised by body scale so it means the same near and far from the camera.

The mouth is the midpoint of BlazePose's two mouth-corner landmarks. The body scale is the shoulder width,
but never less than a head-based estimate (eye-to-mouth distance times a typical body proportion), because
shoulders collapse to a point when someone turns sideways. Distances are never judged in pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from detector.pose import estimator as lm
from detector.pose.estimator import FloatArray, PersonPose

# Shoulder width is roughly four times the eye-to-mouth height for an adult; used when shoulders foreshorten.
HEAD_TO_BODY: Final = 4.0
HAND_POINTS: Final = {
    "left": (lm.LEFT_WRIST, 17, lm.LEFT_INDEX, 21),
    "right": (lm.RIGHT_WRIST, 18, lm.RIGHT_INDEX, 22),
}


@dataclass(frozen=True)
class HandMouth:
    """Hand-to-mouth measurement of one person (in memory only).

    Attributes:
        ratio: distance of the nearest visible hand point to the mouth divided by ``body_scale_px``,
            or None when no hand is visible.
        body_scale_px: the person's body scale in pixels (shoulder width or head-based estimate).
        mouth_xy: the mouth position in frame pixels.
    """

    ratio: float | None
    body_scale_px: float
    mouth_xy: tuple[float, float]


def mouth_point(pose: PersonPose) -> FloatArray:
    """Pixel (x, y) of the mouth: the midpoint of the two mouth corners."""
    return (pose.point(lm.MOUTH_LEFT) + pose.point(lm.MOUTH_RIGHT)) / 2.0


def body_scale_px(pose: PersonPose) -> float:
    """Body scale in pixels: shoulder width, floored by a head-size estimate.

    The head estimate (eye midpoint to mouth, times HEAD_TO_BODY) keeps the scale meaningful for people
    seen from the side, whose shoulder width in the image shrinks towards zero.
    """
    shoulders = float(np.linalg.norm(pose.point(lm.LEFT_SHOULDER) - pose.point(lm.RIGHT_SHOULDER)))
    eyes = (pose.point(lm.LEFT_EYE) + pose.point(lm.RIGHT_EYE)) / 2.0
    head = float(np.linalg.norm(eyes - mouth_point(pose))) * HEAD_TO_BODY
    return max(shoulders, head)


def hand_to_mouth(pose: PersonPose, min_visibility: float) -> HandMouth:
    """Distance from the nearest hand to the mouth, in body scales.

    A hand point (wrist, pinky, index or thumb) counts only when its visibility reaches ``min_visibility``.
    At 0 every point counts, including where the pose model places a hand it cannot see (a balloon at the
    lips often hides the hand holding it).

    Args:
        pose: the person's landmarks.
        min_visibility: minimum landmark visibility, 0..1.

    Returns:
        The measurement; ``ratio`` is None when no hand point is visible or the scale is zero.
    """
    if not 0.0 <= min_visibility <= 1.0:
        raise ValueError(f"min_visibility must be within 0..1, got {min_visibility}")
    mouth = mouth_point(pose)
    scale = body_scale_px(pose)
    distances = [
        float(np.linalg.norm(pose.point(index) - mouth))
        for points in HAND_POINTS.values()
        for index in points
        if pose.visibility(index) >= min_visibility
    ]
    ratio = min(distances) / scale if distances and scale > 0 else None
    return HandMouth(ratio=ratio, body_scale_px=scale, mouth_xy=(float(mouth[0]), float(mouth[1])))
