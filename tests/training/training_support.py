"""Helpers for the training tests, imported by this unique module name: the demo balloon composite and clips."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from detector.pose.estimator import ImageBGR
from training.frontend import PoseCache, read_image
from training.synth.composite import composite_balloon, sprite_cutout
from training.synth.placement import person_from_pose
from training.synth.rendered import render_balloon

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "nitrosignal" / "assets" / "demo_person.jpg"


def demo_with_balloon(
    colour: tuple[int, int, int] = (230, 30, 40), angle: float = 180.0, width: float = 0.45
) -> ImageBGR:
    """The demo photo with a rendered balloon pasted at the mouth of its largest person."""
    image = read_image(DEMO)
    with PoseCache(None) as poses:
        person = max((person_from_pose(p) for p in poses.poses(image)), key=lambda p: p.scale)
    sprite = render_balloon(int(person.scale * width * 1.5), colour, np.random.default_rng(1))
    return composite_balloon(image, sprite_cutout(sprite, "test"), person.mouth, person.scale * width, angle, 0.4)


def write_clip(path: Path, frames: list[ImageBGR], fps: float = 10.0) -> Path:
    """An MJPG clip of the given frames (all of one size)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (width, height))
    assert writer.isOpened()
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path
