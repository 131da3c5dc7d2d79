"""Paste an object into a video frame so it looks filmed by the same camera: light, blur, noise, compression.

The host's own footage sets every figure. Measured once per host, on its clean frames: the scene's focus
blur around the person (from the width of its sharpest edges) and the sensor noise (Immerkaer's
estimator). Per frame: the object's brightness and colour cast are pulled towards the surroundings it lands
in (the area around the host's head: an object held at the face is lit like the head), and it is smeared
along its own motion in the clip (host motion and the raise), as a shutter open for
part of the frame interval would. Last, the pasted pixels go through one generation of JPEG, as the
source's own pixels went through its codec. Everything is deterministic for the generator passed in.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from training.synth.composite import Cutout, ImageBGR, is_grayscale, match_lighting, transform_cutout

FloatImage = NDArray[np.float32]
# What edge_blur_sigma reports for a perfectly sharp step: its own resolution limit.
_SHARP_STEP_SIGMA = 0.8
MAX_DEFOCUS_SIGMA = 4.0
MAX_NOISE_SIGMA = 8.0


@dataclass(frozen=True)
class CameraLook:
    """How the host's camera renders things (per host), and how strongly a paste is matched to it."""

    defocus_sigma: float
    noise_sigma: float
    exposure: float
    jpeg_quality: int
    lighting: float
    grayscale: bool = False


def edge_blur_sigma(gray: NDArray[np.uint8]) -> float:
    """The Gaussian blur of a picture's sharpest edges, in pixels (0 for a perfectly sharp picture).

    A step of contrast C blurred by sigma has a steepest gradient of C / (sigma * sqrt(2 pi)); the median of
    that ratio over the strongest edges, less the estimator's own limit on a sharp step, is the blur.
    """
    image = gray.astype(np.float32)
    gx = cv2.Sobel(image, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(image, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    magnitude = np.hypot(gx, gy)
    # Wide enough to hold the whole step of an edge blurred by up to about 3 pixels.
    kernel = np.ones((13, 13), np.uint8)
    contrast = cv2.dilate(image, kernel) - cv2.erode(image, kernel)
    strong = (magnitude >= np.percentile(magnitude, 98)) & (contrast >= 20.0) & (magnitude > 0)
    if int(strong.sum()) < 10:
        return 0.0
    estimate = float(np.median(contrast[strong] / (np.sqrt(2.0 * np.pi) * magnitude[strong])))
    return float(min(MAX_DEFOCUS_SIGMA, np.sqrt(max(0.0, estimate**2 - _SHARP_STEP_SIGMA**2))))


def noise_sigma(gray: NDArray[np.uint8]) -> float:
    """Sensor noise (standard deviation in grey levels), by Immerkaer's fast estimator."""
    if min(gray.shape) < 3:
        return 0.0
    mask = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)
    response = cv2.filter2D(gray.astype(np.float32), -1, mask)[1:-1, 1:-1]
    height, width = gray.shape
    sigma = float(np.sqrt(np.pi / 2.0) * np.abs(response).sum() / (6.0 * (width - 2) * (height - 2)))
    return min(MAX_NOISE_SIGMA, sigma)


def measure_look(
    frames: list[ImageBGR], boxes: list[tuple[int, int, int, int]], rng: np.random.Generator
) -> CameraLook:
    """The camera's blur and noise around a host (median over the given frames and boxes), and a paste style.

    Args:
        frames: Clean frames of the host.
        boxes: Per frame, the pixel box (x0, y0, x1, y1) around the host's head and shoulders.
        rng: The host's generator (exposure, compression and lighting strength are drawn from it).
    """
    blurs, noises = [], []
    for frame, (x0, y0, x1, y1) in zip(frames, boxes, strict=True):
        gray = np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
        region = gray[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)]
        if region.size >= 64:
            blurs.append(edge_blur_sigma(region))
        noises.append(noise_sigma(gray))
    return CameraLook(
        grayscale=bool(frames) and is_grayscale(frames[0]),
        defocus_sigma=float(np.median(blurs)) if blurs else 0.0,
        noise_sigma=float(np.median(noises)) if noises else 0.0,
        exposure=float(rng.uniform(0.3, 0.7)),
        jpeg_quality=int(rng.integers(55, 90)),
        lighting=float(rng.uniform(0.3, 0.8)),
    )


def motion_kernel(dx: float, dy: float) -> FloatImage | None:
    """A normalised line kernel for a smear of (dx, dy) pixels; None when it is shorter than a pixel."""
    length = float(np.hypot(dx, dy))
    if length < 1.0:
        return None
    size = int(np.ceil(length)) | 1
    kernel = np.zeros((size, size), np.float32)
    centre = size // 2
    half = (dx / 2.0, dy / 2.0)
    start = (int(round(centre - half[0])), int(round(centre - half[1])))
    end = (int(round(centre + half[0])), int(round(centre + half[1])))
    cv2.line(kernel, start, end, (1.0,), 1, cv2.LINE_AA)
    total = float(kernel.sum())
    return kernel / total if total > 0 else None


def _prepared(
    cutout: Cutout, width_px: float, angle_deg: float, look: CameraLook, motion_px: tuple[float, float]
) -> tuple[FloatImage, FloatImage, tuple[float, float]]:
    """Scaled, rotated and blurred colour and alpha (float, straight alpha) and the anchor in them."""
    rotated, (cx, cy) = transform_cutout(cutout, width_px, angle_deg)
    ys, xs = np.nonzero(rotated[..., 3])
    if ys.size == 0:
        return np.zeros((1, 1, 3), np.float32), np.zeros((1, 1), np.float32), (0.0, 0.0)
    margin = int(np.ceil(3 * look.defocus_sigma + np.hypot(*motion_px) * look.exposure)) + 2
    y0, x0 = max(0, int(ys.min()) - margin), max(0, int(xs.min()) - margin)
    y1, x1 = min(rotated.shape[0], int(ys.max()) + margin + 1), min(rotated.shape[1], int(xs.max()) + margin + 1)
    patch = rotated[y0:y1, x0:x1].astype(np.float32) / 255.0
    alpha = patch[..., 3].copy()
    premultiplied = patch[..., :3] * alpha[..., None]
    # The cut-out's own edge is about as sharp as the estimator's limit; add the scene's blur on top.
    if look.defocus_sigma > 0.3:
        premultiplied = np.asarray(cv2.GaussianBlur(premultiplied, (0, 0), look.defocus_sigma), np.float32)
        alpha = np.asarray(cv2.GaussianBlur(alpha, (0, 0), look.defocus_sigma), np.float32)
    kernel = motion_kernel(motion_px[0] * look.exposure, motion_px[1] * look.exposure)
    if kernel is not None:
        premultiplied = np.asarray(cv2.filter2D(premultiplied, -1, kernel), np.float32)
        alpha = np.asarray(cv2.filter2D(alpha, -1, kernel), np.float32)
    colour = premultiplied / np.maximum(alpha, 1e-4)[..., None] * 255.0
    return colour.astype(np.float32), np.clip(alpha, 0.0, 1.0).astype(np.float32), (cx - x0, cy - y0)


def paste(
    frame: ImageBGR,
    cutout: Cutout,
    anchor_xy: tuple[float, float],
    width_px: float,
    angle_deg: float,
    look: CameraLook,
    motion_px: tuple[float, float],
    rng: np.random.Generator,
    light: ImageBGR | None = None,
) -> ImageBGR:
    """Paste a cutout with its anchor on ``anchor_xy``, matched to the frame; returns a new frame.

    Args:
        frame: The clean or partly composited frame (BGR); not modified.
        cutout: The object, its anchor the point that is held (a balloon's neck).
        anchor_xy: Frame pixel for the anchor.
        width_px: The object's width in the frame.
        angle_deg: Rotation about the anchor, counter-clockwise; 180 hangs a balloon below its neck.
        look: The host camera's blur, noise and compression, and the lighting strength.
        motion_px: How far the anchor moved since the previous frame (the smear's direction and length).
        rng: Generator for the noise.
        light: The part of the frame whose brightness and colour cast the object takes on; None for the area it
            covers. An object held at the face is lit like the head, not like the dark shirt behind it.
    """
    colour, alpha, (cx, cy) = _prepared(cutout, width_px, angle_deg, look, motion_px)
    out = frame.copy()
    height, width = out.shape[:2]
    ox, oy = int(round(anchor_xy[0] - cx)), int(round(anchor_xy[1] - cy))
    x0, y0 = max(0, ox), max(0, oy)
    x1, y1 = min(width, ox + colour.shape[1]), min(height, oy + colour.shape[0])
    if x1 <= x0 or y1 <= y0:
        return out
    colour = colour[y0 - oy : y1 - oy, x0 - ox : x1 - ox]
    weight = alpha[y0 - oy : y1 - oy, x0 - ox : x1 - ox]
    if float(weight.max()) <= 0.01:
        return out
    region = out[y0:y1, x0:x1].astype(np.float32)
    opaque = weight > 0.5
    if opaque.any():
        # Light from the surroundings, judged on the object's own pixels only (not its transparent margin).
        reference = light if light is not None and light.size else out[y0:y1, x0:x1]
        colour[opaque] = match_lighting(colour[opaque][:, None, :], reference, look.lighting)[:, 0, :]
    if look.grayscale:
        grey = cv2.cvtColor(np.clip(colour, 0, 255).astype(np.uint8), cv2.COLOR_BGR2GRAY).astype(np.float32)
        colour = np.repeat(grey[..., None], 3, axis=2)
    if look.noise_sigma > 0.3:
        colour = colour + rng.normal(0.0, look.noise_sigma, colour.shape).astype(np.float32)
    blended = weight[..., None] * colour + (1.0 - weight[..., None]) * region
    pasted = np.clip(blended, 0, 255).astype(np.uint8)
    # One generation of lossy compression on the pasted pixels, like the rest of the picture had at the source.
    ok, encoded = cv2.imencode(".jpg", pasted, [cv2.IMWRITE_JPEG_QUALITY, look.jpeg_quality])
    if ok:
        decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
        touched = cv2.dilate((weight > 0.01).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        pasted[touched] = decoded[touched]
    out[y0:y1, x0:x1] = pasted
    return out
