"""Where things go on a person: the geometry of a pose, in body scales, and real hand patches.

Sizes and offsets are chosen relative to the person's body scale (shoulder width, as the detector measures
it), never in pixels, so a balloon is as big next to a distant person as next to a near one. A party or
nitrous-oxide balloon is 15-30 cm across and shoulders about 40 cm, so a balloon is 0.35-0.75 body scales.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from detector.pose import estimator as lm
from detector.pose.estimator import ImageBGR, PersonPose
from training.frontend import body_scale_px, mouth_point
from training.synth.rendered import RGBA

# Hand landmarks per side: wrist, pinky, index, thumb (BlazePose indices).
HAND_LANDMARKS: dict[str, tuple[int, int, int, int]] = {
    "left": (lm.LEFT_WRIST, 17, lm.LEFT_INDEX, 21),
    "right": (lm.RIGHT_WRIST, 18, lm.RIGHT_INDEX, 22),
}
BALLOON_SCALE_RANGE = (0.35, 0.75)


@dataclass(frozen=True)
class Hand:
    """A visible hand: centre of its landmarks, wrist, and visibility."""

    centre: tuple[float, float]
    wrist: tuple[float, float]
    points: tuple[tuple[float, float], ...]
    visibility: float


@dataclass(frozen=True)
class Person:
    """The geometry of one person that synth needs, from the detector's pose."""

    mouth: tuple[float, float]
    scale: float
    hands: tuple[Hand, ...]
    mouth_visibility: float
    face_visibility: float = 1.0

    def nearest_hand(self) -> tuple[Hand | None, float]:
        """The visible hand closest to the mouth and its distance in body scales (inf when none)."""
        best: tuple[Hand | None, float] = (None, float("inf"))
        for hand in self.hands:
            distance = float(np.hypot(hand.centre[0] - self.mouth[0], hand.centre[1] - self.mouth[1])) / self.scale
            if distance < best[1]:
                best = (hand, distance)
        return best


def person_from_pose(pose: PersonPose, min_visibility: float = 0.5) -> Person:
    """Measure a person from their landmarks."""
    hands = []
    for indices in HAND_LANDMARKS.values():
        visibility = float(np.mean([pose.visibility(i) for i in indices]))
        if visibility < min_visibility:
            continue
        points = tuple((float(pose.point(i)[0]), float(pose.point(i)[1])) for i in indices)
        centre = (float(np.mean([p[0] for p in points])), float(np.mean([p[1] for p in points])))
        hands.append(Hand(centre=centre, wrist=points[0], points=points, visibility=visibility))
    mouth = mouth_point(pose)
    return Person(
        mouth=(float(mouth[0]), float(mouth[1])),
        scale=body_scale_px(pose),
        hands=tuple(hands),
        mouth_visibility=min(pose.visibility(lm.MOUTH_LEFT), pose.visibility(lm.MOUTH_RIGHT)),
        face_visibility=min(pose.visibility(i) for i in (lm.NOSE, lm.LEFT_EYE, lm.RIGHT_EYE)),
    )


def hand_patch(image: ImageBGR, hand: Hand, scale: float) -> RGBA | None:
    """Cut a real hand from a photo: an ellipse around its landmarks with a soft edge (BGRA)."""
    xs = [p[0] for p in hand.points]
    ys = [p[1] for p in hand.points]
    pad = 0.12 * scale
    x0, x1 = int(min(xs) - pad), int(np.ceil(max(xs) + pad))
    y0, y1 = int(min(ys) - pad), int(np.ceil(max(ys) + pad))
    height, width = image.shape[:2]
    if x0 < 0 or y0 < 0 or x1 > width or y1 > height or x1 - x0 < 6 or y1 - y0 < 6:
        return None
    patch = image[y0:y1, x0:x1]
    alpha = np.zeros(patch.shape[:2], dtype=np.uint8)
    cv2.ellipse(alpha, ((x1 - x0) // 2, (y1 - y0) // 2), ((x1 - x0) // 2, (y1 - y0) // 2), 0, 0, 360, (255,), -1)
    alpha = np.asarray(cv2.GaussianBlur(alpha, (0, 0), max(1.0, (x1 - x0) / 12.0)), dtype=np.uint8)
    return np.ascontiguousarray(np.dstack([patch, alpha]))


def is_good_target(person: Person, image_shape: tuple[int, ...], min_scale_px: float) -> bool:
    """Whether a person can carry a composite: big enough, mouth, nose and eyes visible, inside the frame."""
    height, width = image_shape[:2]
    x, y = person.mouth
    return (
        person.scale >= min_scale_px
        and person.mouth_visibility >= 0.5
        and person.face_visibility >= 0.5
        and person.scale * 0.3 <= x <= width - person.scale * 0.3
        and person.scale * 0.3 <= y <= height - person.scale * 0.3
    )
