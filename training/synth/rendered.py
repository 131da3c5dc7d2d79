"""Procedural sprites: a shaded latex balloon with a highlight and a knot, and look-alike objects.

Every sprite is an RGBA ``uint8`` array with a soft alpha edge. Balloons are drawn upright with the knot
(the neck a user holds at the lips) at the bottom centre; :func:`neck_of` says where that is. The
look-alikes (ball, cup, bottle, phone) are the hard negatives we cannot cut from licence-free real photos.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

RGBA = NDArray[np.uint8]

# Balloons are a little taller than wide; the knot adds about 8% of the diameter below the body.
_BODY_ASPECT = 1.12
_KNOT_FRACTION = 0.09


def _shade(height: int, width: int, centre: tuple[float, float], radius: tuple[float, float]) -> NDArray[np.float32]:
    """Lambert-like shading of an ellipsoid lit from the upper left, 0.35..1.0."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    nx = (xs - centre[0]) / radius[0]
    ny = (ys - centre[1]) / radius[1]
    nz = np.sqrt(np.clip(1.0 - nx**2 - ny**2, 0.0, 1.0))
    light = np.array([-0.45, -0.55, 0.70], dtype=np.float32)
    light /= np.linalg.norm(light)
    lambert = np.clip(nx * light[0] + ny * light[1] + nz * light[2], 0.0, 1.0)
    shade: NDArray[np.float32] = (0.35 + 0.65 * lambert).astype(np.float32)
    return shade


def render_balloon(diameter_px: int, colour_rgb: tuple[int, int, int], rng: np.random.Generator) -> RGBA:
    """Render a latex party balloon.

    Args:
        diameter_px: Width of the balloon body in pixels (at least 8).
        colour_rgb: Latex colour, 0..255 per channel.
        rng: Random generator for the small variations (gloss, shape, knot); same seed, same sprite.

    Returns:
        RGBA image of shape (H, W, 4); the knot is at the bottom centre.
    """
    if diameter_px < 8:
        raise ValueError(f"diameter_px must be at least 8, got {diameter_px}")
    width = int(diameter_px)
    aspect = _BODY_ASPECT * float(rng.uniform(0.95, 1.08))
    body_h = int(round(width * aspect))
    knot_h = max(3, int(round(width * _KNOT_FRACTION)))
    height = body_h + knot_h
    centre = ((width - 1) / 2.0, body_h / 2.0)
    radius = (width / 2.0 - 0.5, body_h / 2.0 - 0.5)

    alpha = np.zeros((height, width), dtype=np.uint8)
    # A balloon narrows towards the knot: draw the body as an ellipse plus a tapering triangle to the neck.
    cv2.ellipse(alpha, (int(centre[0]), int(centre[1])), (int(radius[0]), int(radius[1])), 0, 0, 360, (255,), -1)
    taper = np.array(
        [
            [centre[0] - radius[0] * 0.55, centre[1] + radius[1] * 0.75],
            [centre[0] + radius[0] * 0.55, centre[1] + radius[1] * 0.75],
            [centre[0], body_h + 1],
        ],
        dtype=np.int32,
    )
    cv2.fillConvexPoly(alpha, taper, (255,))
    knot_w = max(2, int(round(width * 0.07)))
    cv2.ellipse(alpha, (int(centre[0]), body_h + knot_h // 2), (knot_w, max(1, knot_h // 2)), 0, 0, 360, (255,), -1)

    shade = _shade(height, width, centre, radius)
    colour = np.asarray(colour_rgb, dtype=np.float32)
    rgb = shade[..., None] * colour[None, None, :]
    # Latex is slightly translucent: light scattered inside brightens the rim opposite the light.
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    rim = np.clip(((xs - centre[0]) / radius[0]) ** 2 + ((ys - centre[1]) / radius[1]) ** 2, 0.0, 1.0) ** 3
    rgb += (rim * 0.25 * float(rng.uniform(0.5, 1.0)))[..., None] * (255.0 - colour)[None, None, :] * 0.4
    # Specular highlight: a soft bright spot to the upper left.
    hx = centre[0] - radius[0] * float(rng.uniform(0.3, 0.5))
    hy = centre[1] - radius[1] * float(rng.uniform(0.35, 0.55))
    sigma = width * float(rng.uniform(0.06, 0.11))
    gloss = np.exp(-(((xs - hx) ** 2) + ((ys - hy) ** 2)) / (2.0 * sigma**2)) * float(rng.uniform(0.55, 0.95))
    rgb = rgb * (1.0 - gloss[..., None]) + 255.0 * gloss[..., None]
    # The knot is darker, tied latex.
    knot_rows = slice(body_h - 1, height)
    rgb[knot_rows] *= 0.7

    alpha = np.asarray(cv2.GaussianBlur(alpha, (0, 0), max(0.6, width / 120.0)), dtype=np.uint8)
    out = np.dstack([np.clip(rgb, 0, 255).astype(np.uint8), alpha])
    return out


def neck_of(sprite: RGBA) -> tuple[float, float]:
    """Pixel (x, y) of the neck (bottom-most opaque point, centred) of an upright balloon sprite."""
    alpha = sprite[..., 3]
    rows = np.nonzero(alpha.max(axis=1) > 128)[0]
    if rows.size == 0:
        raise ValueError("sprite has no opaque pixel")
    bottom = int(rows[-1])
    cols = np.nonzero(alpha[bottom] > 128)[0]
    return float(cols.mean()), float(bottom)


def render_ball(diameter_px: int, colour_rgb: tuple[int, int, int], rng: np.random.Generator) -> RGBA:
    """A matte ball (football-like patches or a plain beach ball stripe), round, without a knot."""
    size = max(8, int(diameter_px))
    centre = ((size - 1) / 2.0, (size - 1) / 2.0)
    radius = (size / 2.0 - 0.5, size / 2.0 - 0.5)
    alpha = np.zeros((size, size), dtype=np.uint8)
    cv2.circle(alpha, (int(centre[0]), int(centre[1])), int(radius[0]), (255,), -1)
    base = np.empty((size, size, 3), dtype=np.float32)
    base[:] = np.asarray(colour_rgb, dtype=np.float32)
    if rng.random() < 0.5:
        # Football: dark patches.
        for _ in range(int(rng.integers(3, 7))):
            px, py = rng.uniform(0.2, 0.8, size=2) * size
            cv2.circle(base, (int(px), int(py)), max(2, size // 9), (30.0, 30.0, 30.0), -1)
    else:
        # Beach ball: coloured stripe.
        stripe = tuple(float(c) for c in rng.integers(0, 256, size=3))
        cv2.ellipse(base, (int(centre[0]), int(centre[1])), (size // 6, size // 2), 0, 0, 360, stripe, -1)
    rgb = base * _shade(size, size, centre, radius)[..., None]
    alpha = np.asarray(cv2.GaussianBlur(alpha, (0, 0), max(0.6, size / 120.0)), dtype=np.uint8)
    return np.dstack([np.clip(rgb, 0, 255).astype(np.uint8), alpha])


def render_cup(height_px: int, colour_rgb: tuple[int, int, int], rng: np.random.Generator) -> RGBA:
    """A paper or plastic cup (a tapered cylinder, open end up)."""
    height = max(10, int(height_px))
    top_w = int(height * float(rng.uniform(0.65, 0.85)))
    bottom_w = int(top_w * float(rng.uniform(0.65, 0.85)))
    width = top_w + 2
    alpha = np.zeros((height, width), dtype=np.uint8)
    poly = np.array(
        [[1, 0], [1 + top_w, 0], [1 + (top_w + bottom_w) // 2, height - 1], [1 + (top_w - bottom_w) // 2, height - 1]]
    )
    cv2.fillConvexPoly(alpha, poly.astype(np.int32), (255,))
    xs = np.linspace(-1.0, 1.0, width, dtype=np.float32)
    shade = 0.55 + 0.45 * np.sqrt(np.clip(1.0 - xs**2, 0.0, 1.0))
    rgb = np.asarray(colour_rgb, dtype=np.float32)[None, None, :] * shade[None, :, None] * np.ones((height, 1, 1))
    rgb[: max(2, height // 12)] *= 0.6  # the rim shows the dark inside
    alpha = np.asarray(cv2.GaussianBlur(alpha, (0, 0), 0.8), dtype=np.uint8)
    return np.dstack([np.clip(rgb, 0, 255).astype(np.uint8), alpha])


def render_bottle(height_px: int, colour_rgb: tuple[int, int, int], rng: np.random.Generator) -> RGBA:
    """A drink bottle (body, shoulder and neck), partly translucent."""
    height = max(16, int(height_px))
    width = max(6, int(height * float(rng.uniform(0.28, 0.38))))
    neck_w = max(2, width // 3)
    neck_h = int(height * 0.3)
    alpha = np.zeros((height, width), dtype=np.uint8)
    cv2.rectangle(alpha, ((width - neck_w) // 2, 0), ((width + neck_w) // 2, neck_h), (255,), -1)
    shoulder = np.array(
        [
            [(width - neck_w) // 2, neck_h],
            [(width + neck_w) // 2, neck_h],
            [width - 1, neck_h + width // 2],
            [0, neck_h + width // 2],
        ]
    )
    cv2.fillConvexPoly(alpha, shoulder.astype(np.int32), (255,))
    cv2.rectangle(alpha, (0, neck_h + width // 2), (width - 1, height - 1), (255,), -1)
    xs = np.linspace(-1.0, 1.0, width, dtype=np.float32)
    shade = 0.5 + 0.5 * np.sqrt(np.clip(1.0 - xs**2, 0.0, 1.0))
    rgb = np.asarray(colour_rgb, dtype=np.float32)[None, None, :] * shade[None, :, None] * np.ones((height, 1, 1))
    alpha = (cv2.GaussianBlur(alpha, (0, 0), 0.8).astype(np.float32) * float(rng.uniform(0.75, 1.0))).astype(np.uint8)
    return np.dstack([np.clip(rgb, 0, 255).astype(np.uint8), alpha])


def render_phone(height_px: int, colour_rgb: tuple[int, int, int], rng: np.random.Generator) -> RGBA:
    """A smartphone seen from its back or edge: a rounded slab in a case colour, a darker rim and a glint."""
    height = max(12, int(height_px))
    width = max(6, int(height * float(rng.uniform(0.45, 0.52))))
    radius = max(2, width // 6)
    alpha = np.zeros((height, width), dtype=np.uint8)
    cv2.rectangle(alpha, (radius, 0), (width - 1 - radius, height - 1), (255,), -1)
    cv2.rectangle(alpha, (0, radius), (width - 1, height - 1 - radius), (255,), -1)
    for cx, cy in ((radius, radius), (width - 1 - radius, radius), (radius, height - 1 - radius)):
        cv2.circle(alpha, (cx, cy), radius, (255,), -1)
    cv2.circle(alpha, (width - 1 - radius, height - 1 - radius), radius, (255,), -1)
    xs = np.linspace(-1.0, 1.0, width, dtype=np.float32)
    shade = 0.7 + 0.3 * np.sqrt(np.clip(1.0 - xs**2, 0.0, 1.0))
    rgb = np.asarray(colour_rgb, dtype=np.float32)[None, None, :] * shade[None, :, None] * np.ones((height, 1, 1))
    rim = max(1, width // 12)
    inner = np.zeros_like(alpha)
    cv2.rectangle(inner, (rim, rim), (width - 1 - rim, height - 1 - rim), (255,), -1)
    rgb[(alpha > 0) & (inner == 0)] *= 0.45
    glint_x = int(width * float(rng.uniform(0.2, 0.35)))
    cv2.line(rgb, (glint_x, rim * 2), (glint_x, height // 3), (235.0, 235.0, 235.0), max(1, width // 10))
    alpha = np.asarray(cv2.GaussianBlur(alpha, (0, 0), 0.8), dtype=np.uint8)
    return np.dstack([np.clip(rgb, 0, 255).astype(np.uint8), alpha])


def render_fist(width_px: int, skin_rgb: tuple[int, int, int], rng: np.random.Generator) -> RGBA:
    """A hand closed around something (a balloon's neck, a cup): back of the hand, knuckles and a thumb.

    Drawn in the given skin colour, for people whose own hand the footage does not show.
    """
    width = max(10, int(width_px))
    height = int(round(width * float(rng.uniform(0.8, 0.95))))
    alpha = np.zeros((height, width), dtype=np.uint8)
    palm_top = height // 4
    cv2.ellipse(
        alpha, (width // 2, (height + palm_top) // 2), (width // 2 - 1, (height - palm_top) // 2), 0, 0, 360, (255,), -1
    )
    knuckle_r = max(2, width // 8)
    for index in range(4):
        cx = int(width * (0.2 + 0.2 * index))
        cv2.circle(alpha, (cx, palm_top + knuckle_r // 2), knuckle_r, (255,), -1)
    thumb_side = 1 if rng.random() < 0.5 else -1
    thumb_x = width // 2 + thumb_side * int(width * 0.32)
    cv2.ellipse(
        alpha,
        (thumb_x, int(height * 0.62)),
        (max(2, width // 7), max(3, height // 4)),
        20 * thumb_side,
        0,
        360,
        (255,),
        -1,
    )
    ys = np.linspace(-1.0, 1.0, height, dtype=np.float32)[:, None]
    xs = np.linspace(-1.0, 1.0, width, dtype=np.float32)[None, :]
    shade = 0.6 + 0.4 * np.clip(1.0 - 0.5 * (xs**2 + ys**2) - 0.3 * ys, 0.0, 1.0)
    rgb = np.asarray(skin_rgb, dtype=np.float32)[None, None, :] * shade[..., None]
    for index in range(1, 4):
        x = int(width * (0.1 + 0.2 * index))
        crease = tuple(float(c) * 0.55 for c in skin_rgb)
        cv2.line(rgb, (x, palm_top), (x, palm_top + knuckle_r * 2), crease, 1, cv2.LINE_AA)
    alpha = np.asarray(cv2.GaussianBlur(alpha, (0, 0), max(0.7, width / 60.0)), dtype=np.uint8)
    return np.dstack([np.clip(rgb, 0, 255).astype(np.uint8), alpha])


def random_balloon_colour(rng: np.random.Generator) -> tuple[int, int, int]:
    """A party-balloon colour: saturated, or the white/silver of the N2O balloons sold with crackers."""
    if rng.random() < 0.3:
        grey = int(rng.integers(170, 250))
        return (grey, grey, int(min(255, grey + rng.integers(0, 10))))
    hue = int(rng.integers(0, 180))
    hsv = np.array([[[hue, int(rng.integers(150, 256)), int(rng.integers(140, 256))]]], dtype=np.uint8)
    r, g, b = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0]
    return int(r), int(g), int(b)
