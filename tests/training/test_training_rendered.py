"""Rendered sprites and compositing: shape, determinism, highlight, knot, and where the anchor lands."""

from __future__ import annotations

import numpy as np
import pytest

from training.synth.composite import composite_balloon, degrade, sprite_cutout
from training.synth.rendered import neck_of, render_ball, render_balloon, render_bottle, render_cup


@pytest.mark.parametrize("diameter", [8, 40, 150])
def test_balloon_shape_and_alpha(diameter: int) -> None:
    sprite = render_balloon(diameter, (200, 30, 30), np.random.default_rng(0))
    assert sprite.dtype == np.uint8 and sprite.shape[1] == diameter and sprite.shape[2] == 4
    assert sprite.shape[0] > diameter  # taller than wide, with a knot
    assert sprite[..., 3].max() == 255 and sprite[0, 0, 3] < 10  # opaque body, transparent corner


def test_balloon_is_deterministic_per_seed() -> None:
    a = render_balloon(64, (10, 200, 10), np.random.default_rng(5))
    b = render_balloon(64, (10, 200, 10), np.random.default_rng(5))
    c = render_balloon(64, (10, 200, 10), np.random.default_rng(6))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_balloon_has_highlight_and_knot_at_bottom() -> None:
    sprite = render_balloon(100, (180, 20, 20), np.random.default_rng(1))
    opaque = sprite[..., 3] > 200
    green = sprite[..., 1][opaque]
    # The highlight is far brighter than the red latex's green channel elsewhere.
    assert green.max() > 150 and np.median(green) < 80
    x, y = neck_of(sprite)
    assert abs(x - 50) < 5 and y > sprite.shape[0] - 6


def test_small_balloon_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 8"):
        render_balloon(4, (1, 2, 3), np.random.default_rng(0))


@pytest.mark.parametrize("render", [render_ball, render_cup, render_bottle])
def test_lookalikes_render(render: object) -> None:
    sprite = render(60, (0, 0, 255), np.random.default_rng(2))  # type: ignore[operator]
    assert sprite.ndim == 3 and sprite.shape[2] == 4 and sprite[..., 3].max() > 150


@pytest.mark.parametrize(("angle", "above"), [(0.0, True), (180.0, False)])
def test_composite_puts_the_neck_on_the_anchor(angle: float, above: bool) -> None:
    scene = np.full((200, 200, 3), 30, np.uint8)
    cutout = sprite_cutout(render_balloon(60, (250, 250, 250), np.random.default_rng(3)), "test")
    out = composite_balloon(scene, cutout, (100.0, 100.0), 40.0, angle, lighting=0.0)
    changed = np.nonzero(np.abs(out.astype(int) - scene).sum(axis=2) > 30)
    ys, xs = changed
    assert abs(xs.mean() - 100) < 6
    # Upright: body above the neck; hanging (180): body below it.
    assert (ys.mean() < 100) == above
    assert (ys.max() <= 104) if above else (ys.min() >= 96)


def test_degrade_is_deterministic_and_keeps_shape() -> None:
    image = np.random.default_rng(0).integers(0, 255, (50, 60, 3), dtype=np.uint8)
    a = degrade(image, np.random.default_rng(9))
    b = degrade(image, np.random.default_rng(9))
    assert a.shape == image.shape and np.array_equal(a, b)
