"""The demo clip: a real photo of a person, a rendered balloon at the mouth for a few seconds.

The photo (``nitrosignal/assets/demo_person.jpg``, CC BY 4.0) shows a man with his hand at his mouth. The
detector's own pose estimator finds his mouth and hand, and the training pipeline's positive recipe puts a
rendered balloon's neck at his lips with his own hand back over it. Every frame gets a little camera
shake and sensor noise, as a real camera would, so that the motion gate sees a live scene. The clip is
written to the demo's own data folder; the detector never writes images.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from detector.pose.estimator import PoseEstimator
from training.frontend import still_pose_settings
from training.synth.placement import person_from_pose
from training.synth.scenes import Banks, balloon_at_mouth

DEMO_PHOTO = "demo_person.jpg"


class DemoClipError(RuntimeError):
    """The demo clip could not be built (no person found in the photo, or the video could not be written)."""


@dataclass(frozen=True)
class ClipPlan:
    """Timing of the demo clip."""

    fps: int = 10
    seconds: float = 14.0
    balloon_from_s: float = 2.0
    balloon_until_s: float = 11.0
    seed: int = 7


@dataclass(frozen=True)
class DemoClip:
    """A written clip and what is in it."""

    path: Path
    frames: int
    fps: int
    width: int
    height: int
    balloon_from_s: float
    balloon_until_s: float


def _read_photo() -> NDArray[np.uint8]:
    data = resources.files("nitrosignal.assets").joinpath(DEMO_PHOTO).read_bytes()
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise DemoClipError(f"cannot decode the shipped photo {DEMO_PHOTO}")
    return np.asarray(image, dtype=np.uint8)


def compose_balloon_frame(photo: NDArray[np.uint8], seed: int) -> NDArray[np.uint8]:
    """The photo with a rendered balloon held at the mouth of its most prominent person."""
    estimator = PoseEstimator(still_pose_settings())
    try:
        people = estimator.estimate(photo)
    finally:
        estimator.close()
    if not people:
        raise DemoClipError("pose found nobody in the demo photo")
    measured = max((person_from_pose(pose) for pose in people), key=lambda person: person.scale)
    recipe = balloon_at_mouth(rendered=True)
    result = recipe(photo, measured, Banks(balloons=()), np.random.default_rng(seed))
    return np.asarray(result.image, dtype=np.uint8)


def _jitter(frame: NDArray[np.uint8], rng: np.random.Generator) -> NDArray[np.uint8]:
    height, width = frame.shape[:2]
    shift = rng.normal(0.0, 1.2, size=2)
    matrix = np.array([[1.0, 0.0, shift[0]], [0.0, 1.0, shift[1]]], dtype=np.float32)
    moved = cv2.warpAffine(frame, matrix, (width, height), borderMode=cv2.BORDER_REFLECT)
    noise = rng.normal(0.0, 2.0, size=frame.shape)
    return np.clip(moved.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def build_demo_clip(out_path: Path, plan: ClipPlan | None = None) -> DemoClip:
    """Write the demo clip to ``out_path`` (MP4) and describe it.

    Raises:
        DemoClipError: if no person is found or the video cannot be written.
    """
    plan = plan or ClipPlan()
    photo = _read_photo()
    with_balloon = compose_balloon_frame(photo, plan.seed)
    height, width = photo.shape[:2]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(out_path), cv2.VideoWriter.fourcc(*"mp4v"), float(plan.fps), (width, height))
    if not writer.isOpened():
        raise DemoClipError(f"OpenCV cannot write {out_path}")
    rng = np.random.default_rng(plan.seed)
    frames = int(plan.seconds * plan.fps)
    try:
        for index in range(frames):
            t = index / plan.fps
            base = with_balloon if plan.balloon_from_s <= t < plan.balloon_until_s else photo
            writer.write(_jitter(base, rng))
    finally:
        writer.release()
    return DemoClip(
        path=out_path,
        frames=frames,
        fps=plan.fps,
        width=width,
        height=height,
        balloon_from_s=plan.balloon_from_s,
        balloon_until_s=plan.balloon_until_s,
    )
