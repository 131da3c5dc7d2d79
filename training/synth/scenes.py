"""Scene recipes: a balloon held at the mouth (positive) and the look-alikes built the same way (negatives).

Every recipe takes the host photo, one measured person, the object banks and a seeded generator, and returns
the edited photo. Positives put the balloon's neck at the lips, the body hanging away from the face, with a
hand on the neck: the person's own hand when it is already near the mouth (pasted back over the balloon), a
real hand cut from another photo otherwise. Hard negatives use the same balloons, hands and lighting, so the
classifier must learn *where* the balloon is, not that a pasted object is present.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np

from detector.pose.estimator import ImageBGR
from training.synth.composite import Cutout, composite_balloon, paste_patch, sprite_cutout, vary_balloon
from training.synth.placement import BALLOON_SCALE_RANGE, Person, hand_patch
from training.synth.rendered import (
    RGBA,
    random_balloon_colour,
    render_ball,
    render_balloon,
    render_bottle,
    render_cup,
)

Kind = Literal[
    "balloon_at_mouth",
    "rendered_balloon_at_mouth",
    "balloon_held_away",
    "balloon_on_string",
    "balloon_above_head",
    "balloon_beside_face",
    "ball_at_mouth",
    "cup_at_mouth",
    "bottle_at_mouth",
    "hand_at_mouth_no_balloon",
    "no_object",
]
POSITIVE_KINDS: tuple[Kind, ...] = ("balloon_at_mouth", "rendered_balloon_at_mouth")
RENDERED_SOURCE = "procedural-render"
# Stretch range along the axis for a varied balloon (round to pear-shaped).
BALLOON_ELONGATION = (0.85, 1.25)


@dataclass(frozen=True)
class Banks:
    """Real objects to paste: balloon cutouts and hand patches (each with its provenance source), and how."""

    balloons: Sequence[Cutout]
    hands: Sequence[Cutout] = field(default_factory=tuple)
    # Share of real balloons pasted in another colour and shape (vary_balloon), in positives and look-alikes
    # alike, so that a varied balloon never predicts the label. 0 leaves the generator's draws untouched.
    balloon_variation: float = 0.0


@dataclass(frozen=True)
class SceneResult:
    """An edited photo and what was pasted (for provenance)."""

    image: ImageBGR
    object_sources: tuple[str, ...]


Recipe = Callable[[ImageBGR, Person, Banks, np.random.Generator], SceneResult]


def pick_balloon(banks: Banks, rng: np.random.Generator, rendered: bool, width_px: float) -> Cutout:
    """A balloon to paste: rendered, or one from the bank (varied in colour and shape for a share of them)."""
    if rendered or not banks.balloons:
        sprite = render_balloon(max(8, int(width_px * 1.5)), random_balloon_colour(rng), rng)
        return sprite_cutout(sprite, RENDERED_SOURCE)
    cutout = banks.balloons[int(rng.integers(len(banks.balloons)))]
    if banks.balloon_variation > 0 and rng.random() < banks.balloon_variation:
        cutout = vary_balloon(cutout, float(rng.uniform(0.0, 360.0)), float(rng.uniform(*BALLOON_ELONGATION)))
    return cutout


def _balloon_width(person: Person, rng: np.random.Generator) -> float:
    return person.scale * float(rng.uniform(*BALLOON_SCALE_RANGE))


def _hand_over(
    image: ImageBGR, original: ImageBGR, person: Person, banks: Banks, rng: np.random.Generator, at: tuple[float, float]
) -> tuple[ImageBGR, tuple[str, ...]]:
    """Put a hand on the held point: the person's own hand if near the mouth, else a real hand from the bank."""
    hand, distance = person.nearest_hand()
    if hand is not None and distance < 0.6:
        patch = hand_patch(original, hand, person.scale)
        if patch is not None:
            return paste_patch(image, patch, hand.centre), ()
    if banks.hands and rng.random() < 0.8:
        cutout = banks.hands[int(rng.integers(len(banks.hands)))]
        width = person.scale * float(rng.uniform(0.18, 0.3))
        jitter = rng.normal(0.0, 0.04 * person.scale, size=2)
        centre = (at[0] + float(jitter[0]), at[1] + 0.05 * person.scale + float(jitter[1]))
        anchored = Cutout(bgra=cutout.bgra, anchor=(cutout.bgra.shape[1] / 2, cutout.bgra.shape[0] / 2), source="")
        return composite_balloon(image, anchored, centre, width, float(rng.uniform(-30, 30)), 0.3), (cutout.source,)
    return image, ()


def balloon_at_mouth(rendered: bool) -> Recipe:
    """Positive: a balloon's neck at the lips, body hanging away from the face, a hand on the neck."""

    def recipe(image: ImageBGR, person: Person, banks: Banks, rng: np.random.Generator) -> SceneResult:
        width = _balloon_width(person, rng)
        cutout = pick_balloon(banks, rng, rendered, width)
        jitter = rng.normal(0.0, 0.03 * person.scale, size=2)
        neck = (person.mouth[0] + float(jitter[0]), person.mouth[1] + 0.02 * person.scale + float(jitter[1]))
        # 180 degrees hangs the body straight below the neck; held balloons swing to either side.
        angle = 180.0 + float(rng.uniform(-70.0, 70.0))
        out = composite_balloon(image, cutout, neck, width, angle, float(rng.uniform(0.3, 0.8)))
        out, hand_sources = _hand_over(out, image, person, banks, rng, neck)
        return SceneResult(out, (cutout.source, *hand_sources))

    return recipe


def _away_point(person: Person, rng: np.random.Generator, min_scales: float, max_scales: float) -> tuple[float, float]:
    hand, distance = person.nearest_hand()
    if hand is not None and distance >= min_scales and rng.random() < 0.6:
        return hand.wrist
    angle = float(rng.uniform(0, 2 * np.pi))
    radius = person.scale * float(rng.uniform(min_scales, max_scales))
    return person.mouth[0] + radius * np.cos(angle), person.mouth[1] + abs(radius * np.sin(angle)) * 0.8


def balloon_held_away(image: ImageBGR, person: Person, banks: Banks, rng: np.random.Generator) -> SceneResult:
    """Negative: a balloon held at arm's length (neck at a far hand, body up)."""
    width = _balloon_width(person, rng)
    cutout = pick_balloon(banks, rng, rng.random() < 0.3, width)
    neck = _away_point(person, rng, 1.0, 2.2)
    out = composite_balloon(image, cutout, neck, width, float(rng.uniform(-40, 40)), float(rng.uniform(0.3, 0.8)))
    return SceneResult(out, (cutout.source,))


def balloon_on_string(image: ImageBGR, person: Person, banks: Banks, rng: np.random.Generator) -> SceneResult:
    """Negative: a balloon floating on a string above a hand or the shoulder."""
    width = _balloon_width(person, rng)
    cutout = pick_balloon(banks, rng, rng.random() < 0.3, width)
    hand, _ = person.nearest_hand()
    holder = hand.wrist if hand is not None else (person.mouth[0] + person.scale * 0.5, person.mouth[1] + person.scale)
    lift = person.scale * float(rng.uniform(1.2, 2.5))
    neck = (holder[0] + float(rng.normal(0, 0.3 * person.scale)), holder[1] - lift)
    out = image.copy()
    shade = int(rng.integers(180, 255))
    cv2.line(out, (int(holder[0]), int(holder[1])), (int(neck[0]), int(neck[1])), (shade, shade, shade), 1, cv2.LINE_AA)
    out = composite_balloon(out, cutout, neck, width, float(rng.uniform(-20, 20)), float(rng.uniform(0.3, 0.8)))
    return SceneResult(out, (cutout.source,))


def balloon_above_head(image: ImageBGR, person: Person, banks: Banks, rng: np.random.Generator) -> SceneResult:
    """Negative: a balloon above the head (held up or floating)."""
    width = _balloon_width(person, rng)
    cutout = pick_balloon(banks, rng, rng.random() < 0.3, width)
    neck = (person.mouth[0] + float(rng.normal(0, 0.2 * person.scale)), person.mouth[1] - person.scale * 0.75)
    out = composite_balloon(image, cutout, neck, width, float(rng.uniform(-25, 25)), float(rng.uniform(0.3, 0.8)))
    return SceneResult(out, (cutout.source,))


def balloon_beside_face(image: ImageBGR, person: Person, banks: Banks, rng: np.random.Generator) -> SceneResult:
    """Negative: a balloon next to the face, not covering the mouth (held up beside the cheek)."""
    width = _balloon_width(person, rng)
    cutout = pick_balloon(banks, rng, rng.random() < 0.3, width)
    side = 1.0 if rng.random() < 0.5 else -1.0
    # The balloon's nearest edge stays at least 0.2 body scales from the mouth.
    offset = width / 2.0 + person.scale * float(rng.uniform(0.2, 0.45))
    neck = (person.mouth[0] + side * offset, person.mouth[1] + person.scale * float(rng.uniform(0.1, 0.5)))
    out = composite_balloon(image, cutout, neck, width, float(rng.uniform(-20, 20)), float(rng.uniform(0.3, 0.8)))
    return SceneResult(out, (cutout.source,))


def _object_at_mouth(
    render: Callable[[int, tuple[int, int, int], np.random.Generator], RGBA], size_scales: tuple[float, float]
) -> Recipe:
    def recipe(image: ImageBGR, person: Person, banks: Banks, rng: np.random.Generator) -> SceneResult:
        size = max(10, int(person.scale * float(rng.uniform(*size_scales))))
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        sprite = render(size, (colour[0], colour[1], colour[2]), rng)
        # Hold the object by its top edge (cup rim, bottle neck, ball surface) at the lips.
        cutout = sprite_cutout(sprite, RENDERED_SOURCE, anchor=(sprite.shape[1] / 2.0, 0.0))
        angle = 180.0 + float(rng.uniform(-35.0, 35.0))
        top = (person.mouth[0], person.mouth[1] + 0.02 * person.scale)
        out = composite_balloon(image, cutout, top, float(sprite.shape[1]), angle - 180.0, float(rng.uniform(0.3, 0.8)))
        out, hand_sources = _hand_over(out, image, person, banks, rng, top)
        return SceneResult(out, (RENDERED_SOURCE, *hand_sources))

    return recipe


def hand_at_mouth(image: ImageBGR, person: Person, banks: Banks, rng: np.random.Generator) -> SceneResult:
    """Negative: a real hand at the mouth, nothing in it."""
    out, sources = _hand_over(image, image, person, banks, rng, person.mouth)
    return SceneResult(out, sources)


def no_object(image: ImageBGR, person: Person, banks: Banks, rng: np.random.Generator) -> SceneResult:
    """Negative: the photo as it is (it still gets the same camera degradation as every composite)."""
    return SceneResult(image.copy(), ())


RECIPES: dict[Kind, Recipe] = {
    "balloon_at_mouth": balloon_at_mouth(rendered=False),
    "rendered_balloon_at_mouth": balloon_at_mouth(rendered=True),
    "balloon_held_away": balloon_held_away,
    "balloon_on_string": balloon_on_string,
    "balloon_above_head": balloon_above_head,
    "balloon_beside_face": balloon_beside_face,
    "ball_at_mouth": _object_at_mouth(render_ball, (0.35, 0.7)),
    "cup_at_mouth": _object_at_mouth(render_cup, (0.25, 0.45)),
    "bottle_at_mouth": _object_at_mouth(render_bottle, (0.45, 0.8)),
    "hand_at_mouth_no_balloon": hand_at_mouth,
    "no_object": no_object,
}


def hand_bank_from(image: ImageBGR, person: Person, source: str) -> Cutout | None:
    """A real hand for the bank, if this person shows one near the mouth (smoking, drinking, phone photos)."""
    hand, distance = person.nearest_hand()
    if hand is None or distance > 0.8:
        return None
    patch = hand_patch(image, hand, person.scale)
    if patch is None:
        return None
    return Cutout(bgra=patch, anchor=(patch.shape[1] / 2.0, patch.shape[0] / 2.0), source=source)
