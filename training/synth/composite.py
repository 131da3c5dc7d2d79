"""Cut real objects out of real photos and paste them, lit and degraded like their new scene.

Balloon boxes are rectangles, so a balloon is cut with GrabCut seeded by an ellipse inside its box (the
background around the balloon must not come along); when GrabCut fails the ellipse itself is the mask.
:func:`composite_balloon` scales, rotates, colour-matches and alpha-blends a sprite so that a chosen anchor
(the balloon's neck) lands on a chosen pixel; :func:`degrade` adds the camera's blur, noise and JPEG
artefacts to the whole picture, so pasted and original pixels share them.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from training.importers import Box
from training.synth.rendered import RGBA, neck_of

ImageBGR = NDArray[np.uint8]

# A whole balloon's silhouette is convex and close to an ellipse. Boxes in bunches of balloons often frame a
# balloon that another one hides in part; its cut-out has a bite or a straight edge, and a person never holds
# such a shape at the mouth. Measured on the shared train and eval cut-outs, whole balloons score at least
# 0.95 solidity and 0.90 ellipse overlap; partly hidden ones mostly fall below either.
MIN_BALLOON_SOLIDITY = 0.95
MIN_BALLOON_ELLIPSE_IOU = 0.90
# A photo whose colour channels differ by at most this much per pixel (mean) is treated as grayscale.
GRAYSCALE_MAX_CHANNEL_SPREAD = 2.0


@dataclass(frozen=True)
class Cutout:
    """An object cut from a photo: BGRA pixels and the anchor (x, y) that is held (a balloon's neck)."""

    bgra: RGBA
    anchor: tuple[float, float]
    source: str


def silhouette_shape(alpha: NDArray[np.uint8]) -> tuple[float, float]:
    """Solidity (area over convex-hull area) and overlap (IoU) with the fitted ellipse of a cut-out's mask.

    Both are 1.0 for a perfect ellipse; a balloon partly hidden behind another one scores lower on either.
    Returns (0.0, 0.0) for an empty or tiny mask.
    """
    mask = (alpha > 128).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return 0.0, 0.0
    contour = max(contours, key=cv2.contourArea)
    area = float(cv2.contourArea(contour))
    hull = float(cv2.contourArea(cv2.convexHull(contour)))
    if len(contour) < 5 or hull <= 0:
        return 0.0, 0.0
    ellipse = np.zeros_like(mask)
    cv2.ellipse(ellipse, cv2.fitEllipse(contour), (1,), -1)
    union = int((ellipse | mask).sum())
    return area / hull, float((ellipse & mask).sum()) / max(1, union)


def is_whole_balloon(alpha: NDArray[np.uint8]) -> bool:
    """Whether a cut-out's mask looks like a whole balloon (convex and elliptical), not a partly hidden one."""
    solidity, ellipse_iou = silhouette_shape(alpha)
    return solidity >= MIN_BALLOON_SOLIDITY and ellipse_iou >= MIN_BALLOON_ELLIPSE_IOU


def is_grayscale(image: ImageBGR) -> bool:
    """Whether a BGR photo carries no colour (a black-and-white photo or an infrared camera)."""
    pixels = image.reshape(-1, 3).astype(np.int16)
    spread = np.abs(pixels[:, 0] - pixels[:, 1]) + np.abs(pixels[:, 1] - pixels[:, 2])
    return float(spread.mean()) <= GRAYSCALE_MAX_CHANNEL_SPREAD


def cut_balloon(image: ImageBGR, box: Box, *, source: str = "", grabcut_iters: int = 3) -> Cutout | None:
    """Cut one balloon from a photo with GrabCut inside its box.

    Args:
        image: The photo (BGR).
        box: The balloon's box in pixels.
        source: Provenance name carried along with the cutout.
        grabcut_iters: GrabCut iterations; 0 uses the box's inscribed ellipse as the mask.

    Returns:
        The cutout, its neck at the bottom centre of the mask, or None when the box is too small or degenerate,
        touches the photo's edge, GrabCut finds no plausible balloon in it, or the cut is not a whole balloon
        (:func:`is_whole_balloon`).
    """
    height, width = image.shape[:2]
    x0, y0 = max(0, int(box.xmin)), max(0, int(box.ymin))
    x1, y1 = min(width, int(np.ceil(box.xmax))), min(height, int(np.ceil(box.ymax)))
    bw, bh = x1 - x0, y1 - y0
    if bw < 24 or bh < 24 or not 0.5 < bw / bh < 1.8:
        return None
    if x0 <= 0 or y0 <= 0 or x1 >= width or y1 >= height:
        return None  # cut off by the photo's edge
    # Work on a margin around the box so GrabCut sees some background.
    mx, my = bw // 4, bh // 4
    X0, Y0, X1, Y1 = max(0, x0 - mx), max(0, y0 - my), min(width, x1 + mx), min(height, y1 + my)
    patch = np.ascontiguousarray(image[Y0:Y1, X0:X1])
    ellipse = np.zeros(patch.shape[:2], dtype=np.uint8)
    centre = ((x0 + x1) // 2 - X0, (y0 + y1) // 2 - Y0)
    cv2.ellipse(ellipse, centre, (bw // 2, bh // 2), 0, 0, 360, (1,), -1)
    mask = ellipse.copy()
    if grabcut_iters > 0:
        # Outside the box: sure background; in the box: probable background; inner ellipse: probable foreground.
        gc = np.full(patch.shape[:2], cv2.GC_BGD, dtype=np.uint8)
        gc[y0 - Y0 : y1 - Y0, x0 - X0 : x1 - X0] = cv2.GC_PR_BGD
        gc[ellipse > 0] = cv2.GC_PR_FGD
        inner = np.zeros_like(ellipse)
        cv2.ellipse(inner, centre, (max(1, bw // 5), max(1, bh // 5)), 0, 0, 360, (1,), -1)
        gc[inner > 0] = cv2.GC_FGD
        scale = min(1.0, 200.0 / max(patch.shape[:2]))  # GrabCut is slow on big patches
        small = cv2.resize(patch, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        small_gc = cv2.resize(gc, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_NEAREST)
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        try:
            # GrabCut seeds its colour models with k-means on OpenCV's global RNG: pin it so cuts are repeatable.
            cv2.setRNGSeed(0)
            cv2.grabCut(small, small_gc, (0, 0, 1, 1), bgd, fgd, grabcut_iters, cv2.GC_INIT_WITH_MASK)
            fg = np.isin(small_gc, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)
            fg = np.asarray(cv2.resize(fg, (patch.shape[1], patch.shape[0]), interpolation=cv2.INTER_NEAREST), np.uint8)
            fg &= np.asarray(cv2.dilate(ellipse, np.ones((5, 5), np.uint8)), np.uint8)
        except cv2.error:
            return None
        # A plausible balloon fills most of the ellipse and not much beyond it. Otherwise the box holds more
        # than one balloon or a lot of background, and the ellipse alone would bring that background along.
        ratio = fg.sum() / max(1, ellipse.sum())
        if not 0.55 < ratio < 1.15:
            return None
        mask = fg
    mask = np.asarray(cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)), dtype=np.uint8)
    alpha = cv2.GaussianBlur((mask * 255).astype(np.uint8), (0, 0), max(1.0, bw / 100.0))
    bgra = np.dstack([patch, alpha])
    ys, xs = np.nonzero(alpha > 128)
    if ys.size == 0 or not is_whole_balloon(np.asarray(alpha, dtype=np.uint8)):
        return None
    bgra = bgra[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    neck = neck_of(bgra)
    return Cutout(bgra=np.ascontiguousarray(bgra), anchor=neck, source=source)


def vary_balloon(cutout: Cutout, hue_shift_deg: float, elongation: float) -> Cutout:
    """The same real balloon in another colour and shape: its hue rotated, and stretched along its axis.

    Balloons are sold in every colour and from round to pear-shaped, while the bank holds a few dozen photos'
    worth of them. Highlights, shading, print and the silhouette's texture stay those of the real photo.
    Grey, white and clear balloons carry no hue and keep their colour. Measured on the shipped recipe, pasting
    half the real balloons this way made eval recall and AP worse (TRAINING.md), so synth leaves it off.

    Args:
        cutout: An upright balloon cut-out (body above the neck, as :func:`cut_balloon` returns).
        hue_shift_deg: Hue rotation in degrees (0-360).
        elongation: Height factor at the same width (1.0 keeps the shape; above 1 is longer).

    Returns:
        A new cutout with the anchor moved along with the stretch; the source is unchanged.
    """
    if elongation <= 0:
        raise ValueError(f"elongation must be positive, got {elongation}")
    bgr = np.ascontiguousarray(cutout.bgra[..., :3])
    hsv = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV)
    # OpenCV keeps 8-bit hue in 0..179 (two degrees per step).
    hsv[..., 0] = ((hsv[..., 0].astype(np.int32) + int(round(hue_shift_deg / 2.0))) % 180).astype(np.uint8)
    recoloured = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
    bgra = np.dstack([recoloured, cutout.bgra[..., 3]])
    height = max(1, int(round(bgra.shape[0] * elongation)))
    stretched = cv2.resize(bgra, (bgra.shape[1], height), interpolation=cv2.INTER_LINEAR)
    factor = height / bgra.shape[0]
    return Cutout(
        bgra=np.ascontiguousarray(stretched, dtype=np.uint8),
        anchor=(cutout.anchor[0], cutout.anchor[1] * factor),
        source=cutout.source,
    )


def sprite_cutout(rgba: RGBA, source: str, anchor: tuple[float, float] | None = None) -> Cutout:
    """Wrap a rendered RGBA sprite as a BGRA cutout (anchor defaults to the neck/bottom centre)."""
    bgra = np.ascontiguousarray(rgba[..., [2, 1, 0, 3]])
    return Cutout(bgra=bgra, anchor=anchor if anchor is not None else neck_of(rgba), source=source)


def transform_cutout(cutout: Cutout, width_px: float, angle_deg: float) -> tuple[RGBA, tuple[float, float]]:
    """Scale the cutout to ``width_px`` wide and rotate it by ``angle_deg`` about its anchor."""
    scale = max(4.0, width_px) / cutout.bgra.shape[1]
    resized = cv2.resize(cutout.bgra, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ax, ay = cutout.anchor[0] * scale, cutout.anchor[1] * scale
    h, w = resized.shape[:2]
    diagonal = int(np.ceil(np.hypot(h, w))) * 2 + 4
    # Rotate on a canvas centred on the anchor so nothing is clipped.
    canvas = np.zeros((diagonal, diagonal, 4), dtype=np.uint8)
    cx = cy = diagonal // 2
    ox, oy = int(round(cx - ax)), int(round(cy - ay))
    canvas[oy : oy + h, ox : ox + w] = resized
    rotation = cv2.getRotationMatrix2D((float(cx), float(cy)), angle_deg, 1.0)
    rotated = cv2.warpAffine(canvas, rotation, (diagonal, diagonal), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0, 0))
    return np.asarray(rotated, dtype=np.uint8), (float(cx), float(cy))


def match_lighting(sprite_bgr: NDArray[np.float32], scene_patch: ImageBGR, strength: float) -> NDArray[np.float32]:
    """Pull the sprite's brightness and colour cast part of the way towards the surrounding scene's."""
    scene = scene_patch.reshape(-1, 3).astype(np.float32)
    sprite_mean = sprite_bgr.reshape(-1, 3).mean(axis=0) + 1.0
    scene_mean = scene.mean(axis=0) + 1.0
    # Gain per channel from the overall brightness ratio (clipped: a white balloon stays white-ish in a dark
    # scene, only dimmer) plus a mild colour cast from the scene.
    brightness = float(np.clip(scene_mean.mean() / sprite_mean.mean(), 0.45, 1.4))
    cast = scene_mean / scene_mean.mean()
    gain = (1.0 - strength) + strength * brightness * (0.8 + 0.2 * cast)
    matched: NDArray[np.float32] = np.clip(sprite_bgr * gain[None, None, :], 0.0, 255.0).astype(np.float32)
    return matched


def composite_balloon(
    image: ImageBGR,
    cutout: Cutout,
    anchor_xy: tuple[float, float],
    width_px: float,
    angle_deg: float = 0.0,
    lighting: float = 0.6,
) -> ImageBGR:
    """Paste a cutout so its anchor (a balloon's neck) lands on ``anchor_xy``.

    Args:
        image: The scene (BGR); not modified.
        cutout: The object (real balloon cut from a photo, or a rendered sprite).
        anchor_xy: Scene pixel where the anchor goes (for a positive: the mouth).
        width_px: Width of the object in the scene, in pixels (choose it relative to head size).
        angle_deg: Rotation about the anchor, counter-clockwise; 0 is upright (body above the neck),
            180 hangs the body below the neck.
        lighting: 0 keeps the sprite's own colours; 1 fully matches the brightness of the surroundings.

    Returns:
        A new image with the object pasted.
    """
    rotated, (cx, cy) = transform_cutout(cutout, width_px, angle_deg)
    out = image.copy()
    H, W = out.shape[:2]
    ox, oy = int(round(anchor_xy[0] - cx)), int(round(anchor_xy[1] - cy))
    x0, y0 = max(0, ox), max(0, oy)
    x1, y1 = min(W, ox + rotated.shape[1]), min(H, oy + rotated.shape[0])
    if x1 <= x0 or y1 <= y0:
        return out
    sprite = rotated[y0 - oy : y1 - oy, x0 - ox : x1 - ox]
    alpha = sprite[..., 3:4].astype(np.float32) / 255.0
    if alpha.max() == 0:
        return out
    region = out[y0:y1, x0:x1]
    colour = match_lighting(sprite[..., :3].astype(np.float32), region, lighting)
    if is_grayscale(image):
        # A colour balloon on a black-and-white photo would give the composite away by colour alone.
        gray = cv2.cvtColor(np.clip(colour, 0, 255).astype(np.uint8), cv2.COLOR_BGR2GRAY).astype(np.float32)
        colour = np.repeat(gray[..., None], 3, axis=2)
    # Soften the sprite to the scene's sharpness: pasted pixels are often sharper than a camera's.
    blended = alpha * colour + (1.0 - alpha) * region.astype(np.float32)
    out[y0:y1, x0:x1] = np.clip(blended, 0, 255).astype(np.uint8)
    return out


def paste_patch(image: ImageBGR, patch_bgra: RGBA, centre_xy: tuple[float, float]) -> ImageBGR:
    """Alpha-paste a BGRA patch centred on ``centre_xy`` (used to put a real hand back over a balloon's neck)."""
    cutout = Cutout(bgra=patch_bgra, anchor=(patch_bgra.shape[1] / 2.0, patch_bgra.shape[0] / 2.0), source="")
    return composite_balloon(image, cutout, centre_xy, float(patch_bgra.shape[1]), 0.0, lighting=0.3)


def degrade(image: ImageBGR, rng: np.random.Generator) -> ImageBGR:
    """Camera realism for the whole picture: slight blur, sensor noise and JPEG artefacts."""
    out = image
    sigma = float(rng.uniform(0.0, 1.4))
    if sigma > 0.3:
        out = np.asarray(cv2.GaussianBlur(out, (0, 0), sigma), dtype=np.uint8)
    noise = float(rng.uniform(0.0, 6.0))
    if noise > 0.5:
        out = np.clip(out.astype(np.float32) + rng.normal(0.0, noise, out.shape), 0, 255).astype(np.uint8)
    quality = int(rng.integers(35, 95))
    ok, encoded = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    return np.ascontiguousarray(decoded)
