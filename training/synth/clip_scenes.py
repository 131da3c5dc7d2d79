"""What is pasted on a host in each frame of a composited clip: balloon use and its look-alikes over time.

Each clip has one kind. The objects are chosen once per clip (the same real balloon throughout), their
place is computed per frame from the host's smoothed pose on that source frame, and :mod:`.timeline` says
how far they are raised. Sizes are in body scales, so they follow the person towards and away from the
camera.

| kind | label | what happens |
| --- | --- | --- |
| ``balloon_at_mouth`` | positive | a real balloon held at the hand, raised to the lips, held there while it |
| | | shrinks, lowered again; a hand on its neck from the raise on |
| ``cup_at_mouth``, ``bottle_at_mouth`` | negative | a rendered cup or bottle raised to the lips the same way |
| ``hand_at_mouth_no_balloon`` | negative | the hand raised to the mouth with nothing in it |
| ``phone_at_ear`` | negative | a rendered phone raised to the ear and held there |
| ``balloon_held_away`` | negative | a real balloon held at the hand, body up, the whole clip |
| ``balloon_on_string`` | negative | a real balloon floating on a string above the hand, the whole clip |
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import cv2
import numpy as np

from detector.evidence.geometry import body_scale_px, mouth_point
from detector.pose import estimator as lm
from detector.pose.estimator import ImageBGR, PersonPose
from training.synth.composite import Cutout, sprite_cutout
from training.synth.placement import BALLOON_SCALE_RANGE, HAND_LANDMARKS
from training.synth.realism import CameraLook, paste
from training.synth.rendered import render_bottle, render_cup, render_phone
from training.synth.scenes import RENDERED_SOURCE
from training.synth.timeline import ClipPlan, deflation, lift

ClipKind = Literal[
    "balloon_at_mouth",
    "cup_at_mouth",
    "bottle_at_mouth",
    "hand_at_mouth_no_balloon",
    "phone_at_ear",
    "balloon_held_away",
    "balloon_on_string",
]
POSITIVE_KIND: ClipKind = "balloon_at_mouth"
LOOKALIKE_KINDS: tuple[ClipKind, ...] = (
    "cup_at_mouth",
    "bottle_at_mouth",
    "hand_at_mouth_no_balloon",
    "phone_at_ear",
    "balloon_held_away",
    "balloon_on_string",
)
# These look-alikes last the whole clip; the others are raised, held and lowered like balloon use.
WHOLE_CLIP_KINDS: tuple[ClipKind, ...] = ("balloon_held_away", "balloon_on_string")
# Seconds held at the mouth or ear, per kind.
HOLD_S: dict[ClipKind, tuple[float, float]] = {
    "balloon_at_mouth": (2.0, 8.0),
    "cup_at_mouth": (1.5, 5.0),
    "bottle_at_mouth": (1.5, 5.0),
    "hand_at_mouth_no_balloon": (1.5, 5.0),
    "phone_at_ear": (3.0, 8.0),
    "balloon_held_away": (2.0, 8.0),
    "balloon_on_string": (2.0, 8.0),
}
_EAR = {"left": lm.LEFT_EAR, "right": lm.RIGHT_EAR}


@dataclass(frozen=True)
class Props:
    """Everything drawn once per clip: the object, the hand, the side, sizes and angles, and the plan."""

    kind: ClipKind
    plan: ClipPlan
    look: CameraLook
    side: Literal["left", "right"]
    obj: Cutout | None
    hand: Cutout | None
    object_scales: float
    hand_scales: float
    angle_rest: float
    angle_target: float
    final_size: float
    grip_scales: float
    sway_phase: float
    string_lift_scales: float


def hand_point(pose: PersonPose, side: Literal["left", "right"]) -> tuple[float, float]:
    """Centre of a hand's landmarks (wrist, pinky, index, thumb) in frame pixels."""
    points = np.stack([pose.point(index) for index in HAND_LANDMARKS[side]])
    centre = points.mean(axis=0)
    return float(centre[0]), float(centre[1])


def draw_props(
    kind: ClipKind,
    plan: ClipPlan,
    look: CameraLook,
    balloon: Cutout | None,
    hand: Cutout | None,
    hand_scales: float,
    side: Literal["left", "right"],
    rng: np.random.Generator,
) -> Props:
    """Draw a clip's objects and styles; rendered objects are made here at a size that suits the host."""
    obj: Cutout | None = balloon
    object_scales = float(rng.uniform(*BALLOON_SCALE_RANGE))
    # Where the pasted hand holds the object, in body scales along the object's own up axis from its anchor:
    # a balloon just beyond its neck (its body is above the neck in the cut-out), a cup or bottle halfway
    # down its body (held by the rim or neck, the body below), a phone in its middle.
    grip_scales = 0.06
    angle_rest = 180.0 + float(rng.uniform(-20.0, 20.0))  # a filled balloon hangs below the hand holding its neck
    angle_target = 180.0 + float(rng.uniform(-60.0, 60.0))  # at the lips, its body hangs away from the face
    colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
    rgb = (colour[0], colour[1], colour[2])
    if kind in ("cup_at_mouth", "bottle_at_mouth"):
        object_scales = float(rng.uniform(0.25, 0.45) if kind == "cup_at_mouth" else rng.uniform(0.45, 0.8))
        render = render_cup if kind == "cup_at_mouth" else render_bottle
        # Held by the rim or neck: the anchor is the sprite's top edge, the body below it.
        sprite = render(200, rgb, rng)
        obj = sprite_cutout(sprite, RENDERED_SOURCE, anchor=(sprite.shape[1] / 2.0, 0.0))
        grip_scales = -0.5 * object_scales
        object_scales *= sprite.shape[1] / sprite.shape[0]  # the size was drawn as a height
        angle_rest, angle_target = 0.0, float(rng.uniform(-35.0, 35.0))
    elif kind == "phone_at_ear":
        sprite = render_phone(200, rgb, rng)
        obj = sprite_cutout(sprite, RENDERED_SOURCE, anchor=(sprite.shape[1] / 2.0, sprite.shape[0] / 2.0))
        object_scales = float(rng.uniform(0.3, 0.38)) * sprite.shape[1] / sprite.shape[0]
        angle_rest, angle_target = 0.0, float(rng.uniform(-20.0, 20.0))
        grip_scales = 0.0
    elif kind == "hand_at_mouth_no_balloon":
        obj, grip_scales = None, 0.0
    elif kind in WHOLE_CLIP_KINDS:
        angle_rest = angle_target = float(rng.uniform(-30.0, 30.0))  # body up, away from the face
    return Props(
        kind=kind,
        plan=plan,
        look=look,
        side=side,
        obj=obj,
        hand=hand,
        object_scales=object_scales,
        hand_scales=hand_scales,
        angle_rest=angle_rest,
        angle_target=angle_target,
        final_size=float(rng.uniform(0.75, 0.9)),
        grip_scales=grip_scales,
        sway_phase=float(rng.uniform(0.0, 2.0 * np.pi)),
        string_lift_scales=float(rng.uniform(1.2, 2.2)),
    )


@dataclass(frozen=True)
class Placement:
    """Where things go in one frame: the object's anchor, width and angle, and the hand over it (if any)."""

    anchor: tuple[float, float] | None
    width: float
    angle: float
    hand_at: tuple[float, float] | None
    hand_width: float
    string_from: tuple[float, float] | None = None
    light_box: tuple[int, int, int, int] | None = None


def _lerp(a: tuple[float, float], b: tuple[float, float], t: float) -> tuple[float, float]:
    return a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t


def place(pose: PersonPose, props: Props, at_s: float) -> Placement:
    """Where the clip's objects go at ``at_s``, from the host's smoothed pose on the frame shown then."""
    placement = _place(pose, props, at_s)
    scale, mouth = body_scale_px(pose), mouth_point(pose)
    # The light an object at the face gets: the head, shoulders and what is around them.
    box = (int(mouth[0] - scale), int(mouth[1] - scale), int(mouth[0] + scale), int(mouth[1] + 0.5 * scale))
    return replace(placement, light_box=box)


def _place(pose: PersonPose, props: Props, at_s: float) -> Placement:
    scale = body_scale_px(pose)
    mouth_xy = mouth_point(pose)
    mouth = (float(mouth_xy[0]), float(mouth_xy[1]) + 0.02 * scale)
    rest = hand_point(pose, props.side)
    sway = 4.0 * float(np.sin(2.0 * np.pi * at_s / 2.5 + props.sway_phase))
    hand_width = scale * props.hand_scales
    if props.kind in WHOLE_CLIP_KINDS:
        if props.kind == "balloon_held_away":
            return Placement(rest, scale * props.object_scales, props.angle_rest + sway, None, hand_width)
        bob = 0.05 * scale * float(np.sin(2.0 * np.pi * at_s / 1.7 + props.sway_phase))
        neck = (rest[0] + 0.2 * scale * float(np.sin(props.sway_phase)), rest[1] - props.string_lift_scales * scale)
        neck = (neck[0], neck[1] + bob)
        return Placement(neck, scale * props.object_scales, props.angle_rest + sway, None, hand_width, rest)
    raised = lift(at_s, props.plan.events)
    target = mouth
    if props.kind == "phone_at_ear":
        ear = pose.point(_EAR[props.side])
        target = (float(ear[0]), float(ear[1]) + 0.1 * scale)
    anchor = _lerp(rest, target, raised)
    angle = props.angle_rest + (props.angle_target - props.angle_rest) * raised + sway * raised
    size = deflation(at_s, props.plan.events, props.final_size) if props.kind == POSITIVE_KIND else 1.0
    # At rest the host's own hand already holds the object; from the raise on, a hand is pasted on it, on the
    # neck just beyond the lips (towards the object's body), so it holds the object without hiding it.
    theta = np.radians(angle)
    grip = 0.06 * scale if props.obj is not None else 0.0
    hand_at = (
        (anchor[0] - grip * float(np.sin(theta)), anchor[1] - grip * float(np.cos(theta))) if raised > 0.02 else None
    )
    if raised <= 0.02:
        hand_at = None
    if props.kind == "hand_at_mouth_no_balloon":
        return Placement(None, 0.0, 0.0, hand_at, hand_width)
    return Placement(anchor, scale * props.object_scales * size, angle, hand_at, hand_width)


def _moved(now: tuple[float, float], before: tuple[float, float] | None, share: float) -> tuple[float, float]:
    if before is None:
        return 0.0, 0.0
    return (now[0] - before[0]) * share, (now[1] - before[1]) * share


def compose(
    frame: ImageBGR,
    props: Props,
    now: Placement,
    before: Placement,
    rng: np.random.Generator,
    motion_share: float = 1.0,
) -> ImageBGR:
    """Paste one frame's objects, smeared along their motion since the previous frame (``before``).

    ``motion_share`` is the share of that motion made within one of the camera's own frame intervals (below 1
    when only every n-th frame of the footage is written).
    """
    out = frame
    look = props.look
    light = None
    if now.light_box is not None:
        x0, y0, x1, y1 = now.light_box
        light = frame[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)]
    if now.string_from is not None and now.anchor is not None:
        out = frame.copy()
        shade = int(np.clip(np.median(frame[::8, ::8]), 120, 235))
        start = (int(round(now.string_from[0])), int(round(now.string_from[1])))
        end = (int(round(now.anchor[0])), int(round(now.anchor[1])))
        cv2.line(out, start, end, (shade, shade, shade), 1, cv2.LINE_AA)
    if props.obj is not None and now.anchor is not None:
        moved = _moved(now.anchor, before.anchor, motion_share)
        out = paste(out, props.obj, now.anchor, now.width, now.angle, look, moved, rng, light)
    if props.hand is not None and now.hand_at is not None:
        moved = _moved(now.hand_at, before.hand_at, motion_share)
        out = paste(out, props.hand, now.hand_at, now.hand_width, 0.0, look, moved, rng, light)
    return out
