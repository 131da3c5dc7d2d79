"""Faces fused with poses by overlap: where a covered face keeps its mouth, and the pose's head moved away.

Each pose's head region is searched for a face (``faces``). The face that belongs to the pose is the most
confident one whose mouth lies within ``MATCH_SCALES`` body scales of the pose's head. When the pose's own
mouth lies within ``AGREE_SCALES`` body scales of the face's mouth, the two agree and the pose stands.
Otherwise (a balloon pulled BlazePose's face onto it) the person gets a second pose: the same body with
the head landmarks (nose, eyes, ears, mouth corners) taken from the face, so the evidence stage cuts its
mouth crop, unchanged, where the face really is. Both are kept: a balloon can also fool BlazeFace, and the
evidence stage takes the higher score of one person's variants.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from detector.evidence.geometry import body_scale_px, mouth_point
from detector.frontend import faces as fk
from detector.frontend.faces import Face
from detector.frontend.regions import PersonRegion
from detector.pose import estimator as lm
from detector.pose.estimator import PersonPose

# The reference figure: a mouth estimate within 0.3 body scales of the real mouth is "in place".
AGREE_SCALES: Final = 0.3
# A face belongs to a pose when its mouth lies within this many body scales of the pose's head.
MATCH_SCALES: Final = 1.0
# The head region BlazeFace searches, in body scales: wide enough to hold a face the pose moved 0.8 away.
HEAD_REGION_SCALES: Final = 2.2
# BlazePose's mouth corners sit this fraction of the eye distance either side of the mouth centre.
MOUTH_HALF_WIDTH_OF_EYES: Final = 0.45


def head_region(pose: PersonPose) -> PersonRegion:
    """The square BlazeFace searches for this person's face: around the head, a few body scales wide."""
    scale = body_scale_px(pose)
    head = (pose.point(lm.NOSE) + (pose.point(lm.LEFT_SHOULDER) + pose.point(lm.RIGHT_SHOULDER)) / 2.0) / 2.0
    head = (head + pose.point(lm.NOSE)) / 2.0
    return PersonRegion(float(head[0]), float(head[1]), max(16.0, HEAD_REGION_SCALES * scale), 0.0)


# A body below a face: the hips about 3 face heights under the face centre, the body circle 3.5 face heights
# around them (an adult is about 7.5 heads tall; BlazeFace's box is a little smaller than the head).
HIPS_BELOW_FACE: Final = 3.0
BODY_RADIUS_OF_FACE: Final = 3.5


def body_region_below(face: Face) -> PersonRegion:
    """The region the landmark model looks for the body of a face in, assuming an upright person."""
    face_height = max(1.0, face.box.y1 - face.box.y0)
    cx, cy = (face.box.x0 + face.box.x1) / 2, (face.box.y0 + face.box.y1) / 2
    hips = (cx, cy + HIPS_BELOW_FACE * face_height)
    return PersonRegion.from_alignment(hips, (cx, hips[1] - BODY_RADIUS_OF_FACE * face_height))


def face_of(pose: PersonPose, faces: list[Face]) -> Face | None:
    """The face that belongs to this pose, if any: the most confident one near its head."""
    scale = max(1.0, body_scale_px(pose))
    head = (pose.point(lm.NOSE) + mouth_point(pose)) / 2.0
    near = [f for f in faces if float(np.linalg.norm(f.mouth - head)) <= MATCH_SCALES * scale]
    return max(near, key=lambda f: f.score, default=None)


def with_face(pose: PersonPose, face: Face) -> PersonPose:
    """The pose with its head landmarks taken from the face (the body and hands unchanged)."""
    array = np.array(pose.landmarks, dtype=np.float64)
    points = face.keypoints
    # BlazeFace's "right eye" is the person's right eye, as BlazePose's RIGHT_* landmarks are.
    array[lm.NOSE, :2] = points[fk.NOSE_TIP]
    for index in (1, lm.LEFT_EYE, 3):
        array[index, :2] = points[fk.LEFT_EYE]
    for index in (4, lm.RIGHT_EYE, 6):
        array[index, :2] = points[fk.RIGHT_EYE]
    array[lm.LEFT_EAR, :2] = points[fk.LEFT_EAR]
    array[lm.RIGHT_EAR, :2] = points[fk.RIGHT_EAR]
    eye_vector = points[fk.LEFT_EYE] - points[fk.RIGHT_EYE]
    half = eye_vector * MOUTH_HALF_WIDTH_OF_EYES
    array[lm.MOUTH_LEFT, :2] = points[fk.MOUTH] + half
    array[lm.MOUTH_RIGHT, :2] = points[fk.MOUTH] - half
    for index in (0, 1, 2, 3, 4, 5, 6, 7, 8, lm.MOUTH_LEFT, lm.MOUTH_RIGHT):
        array[index, 2] = max(array[index, 2], face.score)
    return PersonPose(array)


def fuse(pose: PersonPose, faces: list[Face]) -> tuple[PersonPose | None, float | None]:
    """The face-derived variant of a pose when the face disagrees with the pose's mouth.

    Returns:
        (variant or None, distance between the two mouths in body scales or None when no face matched).
    """
    face = face_of(pose, faces)
    if face is None:
        return None, None
    scale = max(1.0, body_scale_px(pose))
    apart = float(np.linalg.norm(mouth_point(pose) - face.mouth)) / scale
    if apart <= AGREE_SCALES:
        return None, apart
    return with_face(pose, face), apart
