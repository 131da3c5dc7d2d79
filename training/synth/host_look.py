"""What a host looks like on their clean frames: their own hand, their skin colour, their camera's look.

Measured once per host from the untouched frames of their run (:class:`.hosts.Host`), so every clip built on
them gets the same hand, skin tone, blur and noise.
"""

from __future__ import annotations

import numpy as np

from detector.evidence.geometry import body_scale_px, mouth_point
from detector.pose import estimator as lm
from detector.pose.estimator import ImageBGR
from training.synth.composite import Cutout
from training.synth.hosts import Host
from training.synth.placement import HAND_LANDMARKS, Hand, hand_patch
from training.synth.realism import CameraLook, measure_look

# Frames of a host's run sampled for its skin colour and camera look.
SAMPLED_FRAMES = 8


def own_hands(host: Host, frames: list[ImageBGR]) -> dict[str, tuple[Cutout, float]]:
    """Each side's hand cut from the host's clean frame where it is most visible: (cutout, width in scales)."""
    hands: dict[str, tuple[Cutout, float]] = {}
    for side, indices in HAND_LANDMARKS.items():
        visibility = host.landmarks[:, list(indices), 2].mean(axis=1)
        best = int(np.argmax(visibility))
        if visibility[best] < 0.5:
            continue
        pose = host.pose(host.first + best)
        points = tuple((float(pose.point(i)[0]), float(pose.point(i)[1])) for i in indices)
        centre = (float(np.mean([p[0] for p in points])), float(np.mean([p[1] for p in points])))
        hand = Hand(centre=centre, wrist=points[0], points=points, visibility=float(visibility[best]))
        scale = body_scale_px(pose)
        patch = hand_patch(frames[best], hand, scale)
        if patch is not None:
            cutout = Cutout(bgra=patch, anchor=(patch.shape[1] / 2.0, patch.shape[0] / 2.0), source="")
            hands[side] = (cutout, patch.shape[1] / scale)
    return hands


def skin_colour(host: Host, clean: list[ImageBGR]) -> tuple[int, int, int]:
    """The host's skin colour (RGB): the median of a small patch on the nose over up to SAMPLED_FRAMES clean frames."""
    step = max(1, len(clean) // SAMPLED_FRAMES)
    samples = []
    for offset in range(0, len(clean), step):
        pose = host.pose(host.first + offset)
        nose, half = pose.point(lm.NOSE), max(1, int(0.06 * body_scale_px(pose)))
        x, y = int(nose[0]), int(nose[1])
        patch = clean[offset][max(0, y - half) : y + half, max(0, x - half) : x + half]
        if patch.size:
            samples.append(patch.reshape(-1, 3))
    if not samples:
        return (190, 150, 130)
    blue, green, red = np.median(np.concatenate(samples), axis=0)
    return int(red), int(green), int(blue)


def camera_look(host: Host, clean: list[ImageBGR], rng: np.random.Generator) -> CameraLook:
    """The camera's look around the host's head and shoulders, on up to SAMPLED_FRAMES of its clean frames."""
    step = max(1, len(clean) // SAMPLED_FRAMES)
    frames, boxes = [], []
    for offset in range(0, len(clean), step):
        pose = host.pose(host.first + offset)
        mouth, scale = mouth_point(pose), body_scale_px(pose)
        boxes.append((int(mouth[0] - scale), int(mouth[1] - scale), int(mouth[0] + scale), int(mouth[1] + 0.8 * scale)))
        frames.append(clean[offset])
    return measure_look(frames, boxes, rng)
