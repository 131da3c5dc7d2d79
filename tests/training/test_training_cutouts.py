"""Real-balloon cut-outs: only whole balloons are kept, their colour and shape vary, and composites respect a
black-and-white photo."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from training.importers import Box
from training.synth.composite import (
    Cutout,
    composite_balloon,
    cut_balloon,
    is_grayscale,
    is_whole_balloon,
    silhouette_shape,
    sprite_cutout,
    vary_balloon,
)
from training.synth.rendered import render_balloon
from training.synth.scenes import Banks, pick_balloon

Mask = NDArray[np.uint8]


def _ellipse_mask() -> Mask:
    mask = np.zeros((120, 100), np.uint8)
    cv2.ellipse(mask, (50, 60), (40, 50), 0, 0, 360, (255,), -1)
    return mask


def _bitten() -> Mask:
    # Another balloon in front takes a round bite out of the side.
    mask = _ellipse_mask()
    cv2.circle(mask, (92, 40), 35, (0,), -1)
    return mask


def _half() -> Mask:
    # Hidden below a straight edge (a shelf, another object or the frame).
    mask = _ellipse_mask()
    mask[60:] = 0
    return mask


def _two_balloons() -> Mask:
    mask = np.zeros((120, 200), np.uint8)
    cv2.circle(mask, (50, 60), 45, (255,), -1)
    cv2.circle(mask, (140, 60), 45, (255,), -1)
    return mask


@pytest.mark.parametrize(
    ("name", "mask", "whole"),
    [
        ("ellipse", _ellipse_mask(), True),
        (
            "rotated ellipse",
            cv2.warpAffine(_ellipse_mask(), cv2.getRotationMatrix2D((50, 60), 30, 1.0), (100, 120)),
            True,
        ),
        ("bitten by another balloon", _bitten(), False),
        ("lower half hidden", _half(), False),
        ("two balloons in one box", _two_balloons(), False),
        ("empty", np.zeros((50, 50), np.uint8), False),
    ],
)
def test_whole_balloon_shapes(name: str, mask: Mask, whole: bool) -> None:
    assert is_whole_balloon(mask) is whole, (name, silhouette_shape(mask))


def _photo_with_balloon(box_at_edge: bool) -> tuple[Mask, Box]:
    rng = np.random.default_rng(1)
    photo = np.clip(rng.normal(110, 12, (300, 400, 3)), 0, 255).astype(np.uint8)
    sprite = render_balloon(120, (220, 30, 40), rng)
    x0 = 0 if box_at_edge else 140
    height = sprite.shape[0]
    alpha = sprite[..., 3:4].astype(np.float32) / 255
    region = photo[60 : 60 + height, x0 : x0 + 120].astype(np.float32)
    photo[60 : 60 + height, x0 : x0 + 120] = (alpha * sprite[..., 2::-1] + (1 - alpha) * region).astype(np.uint8)
    return photo, Box(path="p.jpg", category="balloon", xmin=x0, ymin=60, xmax=x0 + 120, ymax=60 + height)


@pytest.mark.parametrize(("at_edge", "kept"), [(False, True), (True, False)])
def test_cut_balloon_keeps_whole_balloons_inside_the_photo(at_edge: bool, kept: bool) -> None:
    photo, box = _photo_with_balloon(at_edge)
    cutout = cut_balloon(photo, box, source="test")
    assert (cutout is not None) is kept
    if cutout is not None:
        assert is_whole_balloon(cutout.bgra[..., 3])


@pytest.mark.parametrize(("scene_is_gray", "result_is_gray"), [(True, True), (False, False)])
def test_composite_on_a_black_and_white_photo_stays_black_and_white(scene_is_gray: bool, result_is_gray: bool) -> None:
    rng = np.random.default_rng(2)
    gray = rng.integers(40, 200, (200, 200), dtype=np.uint8)
    scene = np.dstack([gray] * 3) if scene_is_gray else np.dstack([gray, gray // 2, gray // 3]).astype(np.uint8)
    cutout = sprite_cutout(render_balloon(60, (230, 20, 20), rng), "test")
    out = composite_balloon(scene, cutout, (100.0, 100.0), 50.0, 180.0, lighting=0.5)
    assert not np.array_equal(out, scene)
    assert is_grayscale(out) is result_is_gray


def _flat_balloon(bgr: tuple[int, int, int]) -> Cutout:
    """A flat-coloured upright balloon: an ellipse of alpha, the neck at the bottom centre."""
    bgra = np.zeros((120, 100, 4), np.uint8)
    bgra[..., :3] = bgr
    bgra[..., 3] = _ellipse_mask()
    return Cutout(bgra=bgra, anchor=(50.0, 110.0), source="test-balloons")


def _dominant_channel(cutout: Cutout) -> int:
    inside = cutout.bgra[..., 3] > 128
    return int(np.argmax(cutout.bgra[..., :3][inside].mean(axis=0)))


@pytest.mark.parametrize(
    ("colour", "hue_deg", "elongation", "dominant", "height"),
    [
        ((20, 20, 230), 0.0, 1.0, 2, 120),  # red stays red, same shape
        ((20, 20, 230), 120.0, 1.0, 1, 120),  # red turned green
        ((20, 20, 230), 240.0, 1.0, 0, 120),  # red turned blue
        ((20, 20, 230), 0.0, 1.25, 2, 150),  # longer, same colour
        ((20, 20, 230), 0.0, 0.85, 2, 102),  # rounder
    ],
)
def test_vary_balloon_recolours_and_stretches_along_the_axis(
    colour: tuple[int, int, int], hue_deg: float, elongation: float, dominant: int, height: int
) -> None:
    original = _flat_balloon(colour)
    varied = vary_balloon(original, hue_deg, elongation)
    assert varied.bgra.shape == (height, 100, 4)
    assert _dominant_channel(varied) == dominant
    # The neck stays the held point: it moves with the stretch, and provenance is the photo's.
    assert varied.anchor == pytest.approx((50.0, 110.0 * height / 120))
    assert varied.source == original.source
    resized_alpha = cv2.resize(original.bgra[..., 3], (100, height), interpolation=cv2.INTER_LINEAR)
    assert np.array_equal(varied.bgra[..., 3], resized_alpha)


@pytest.mark.parametrize("grey", [30, 128, 240])
def test_vary_balloon_keeps_grey_and_white_balloons_grey(grey: int) -> None:
    varied = vary_balloon(_flat_balloon((grey, grey, grey)), 90.0, 1.0)
    inside = varied.bgra[..., 3] > 128
    assert np.abs(varied.bgra[..., :3][inside].astype(int) - grey).max() <= 1


@pytest.mark.parametrize("elongation", [0.0, -1.0])
def test_vary_balloon_refuses_a_non_positive_stretch(elongation: float) -> None:
    with pytest.raises(ValueError, match="elongation"):
        vary_balloon(_flat_balloon((20, 20, 230)), 0.0, elongation)


@pytest.mark.parametrize(("variation", "varied"), [(0.0, False), (1.0, True)])
def test_pick_balloon_varies_the_configured_share_of_real_balloons(variation: float, varied: bool) -> None:
    original = _flat_balloon((20, 20, 230))
    rng = np.random.default_rng(5)
    picked = pick_balloon(Banks(balloons=[original], balloon_variation=variation), rng, False, 50.0)
    assert (picked is not original) is varied
    assert picked.source == original.source
    if not varied:
        # Off, it draws exactly what it drew before the option existed, so the shipped model's data is unchanged.
        reference = np.random.default_rng(5)
        reference.integers(1)
        assert rng.random() == reference.random()
