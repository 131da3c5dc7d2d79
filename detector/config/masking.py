"""Privacy masks as configured: polygons, normalised to the frame, that must be simple and have an area.

What :mod:`detector.masking` blacks out is the union of all polygons, each filled on its own, so masks may
overlap, repeat or nest. A polygon must also be simple and have an area: a self-intersecting one is filled
even-odd within itself, and a degenerate one (repeated corner, corners on one line) hides nothing, so the
config refuses both, naming the mask. Pure Python: the geometry needs no image library.
"""

from __future__ import annotations

from itertools import combinations, pairwise

from pydantic import Field, ValidationInfo, field_validator

from nitrosignal.strict import StrictModel

Point = tuple[float, float]

_EPSILON = 1e-12
"""Tolerance of the geometry checks in normalised units (a pixel of a 4K frame is about 2.6e-4)."""


def _cross(o: Point, a: Point, b: Point) -> float:
    """z of (a - o) × (b - o): positive for a left turn, zero when the three points are on one line."""
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _on_segment(p: Point, a: Point, b: Point) -> bool:
    """Whether p, known to be on the line through a and b, lies between them (ends included)."""
    return min(a[0], b[0]) - _EPSILON <= p[0] <= max(a[0], b[0]) + _EPSILON and (
        min(a[1], b[1]) - _EPSILON <= p[1] <= max(a[1], b[1]) + _EPSILON
    )


def _segments_touch(a: Point, b: Point, c: Point, d: Point) -> bool:
    """Whether segment ab and segment cd share any point (crossing, touching or overlapping)."""
    d1, d2, d3, d4 = _cross(c, d, a), _cross(c, d, b), _cross(a, b, c), _cross(a, b, d)
    if ((d1 > _EPSILON and d2 < -_EPSILON) or (d1 < -_EPSILON and d2 > _EPSILON)) and (
        (d3 > _EPSILON and d4 < -_EPSILON) or (d3 < -_EPSILON and d4 > _EPSILON)
    ):
        return True
    return (
        (abs(d1) <= _EPSILON and _on_segment(a, c, d))
        or (abs(d2) <= _EPSILON and _on_segment(b, c, d))
        or (abs(d3) <= _EPSILON and _on_segment(c, a, b))
        or (abs(d4) <= _EPSILON and _on_segment(d, a, b))
    )


def polygon_problem(corners: tuple[Point, ...]) -> str | None:
    """Why ``corners`` is not a simple polygon with an area, or None when it is one.

    Refused: a repeated corner, all corners on one line (zero area), a corner on the straight line
    between its neighbours (collinear), and edges that cross or touch each other (self-intersecting).
    """
    count = len(corners)
    for i, j in combinations(range(count), 2):
        if abs(corners[i][0] - corners[j][0]) <= _EPSILON and abs(corners[i][1] - corners[j][1]) <= _EPSILON:
            return f"corners {i} and {j} are the same point {corners[i]}; a repeated corner is degenerate"
    if all(abs(_cross(corners[0], corners[1], corner)) <= _EPSILON for corner in corners[2:]):
        return "its corners lie on one line, so it has zero area and hides nothing"
    for index in range(count):
        before, corner, after = corners[index - 1], corners[index], corners[(index + 1) % count]
        if abs(_cross(before, corner, after)) <= _EPSILON:
            return f"corner {index} {corner} lies on the straight line through its neighbours (collinear); remove it"
    edges = [(corners[i], corners[(i + 1) % count]) for i in range(count)]
    for i in range(count):
        for j in range(i + 1, count):
            if j == i + 1 or (i == 0 and j == count - 1):
                continue  # neighbours share a corner; a fold-back between them is caught as collinear above
            if _segments_touch(*edges[i], *edges[j]):
                return (
                    f"edge {i}-{(i + 1) % count} and edge {j}-{(j + 1) % count} cross or touch "
                    "(self-intersecting); draw the area as a simple polygon or as several masks"
                )
    area = sum(a[0] * b[1] - b[0] * a[1] for a, b in pairwise((*corners, corners[0]))) / 2.0
    if abs(area) <= _EPSILON:
        return "it has zero area and hides nothing"
    return None


class PrivacyMask(StrictModel):
    """One area the detector must never look at, such as a window, a front door or a garden."""

    name: str = Field(min_length=1, max_length=48, description="Label for operators; never sent anywhere.")
    polygon: tuple[Point, ...] = Field(
        min_length=3,
        description="Corners as [x, y] pairs, normalised 0..1 of the frame's width and height. A simple polygon: "
        "no crossing edges, no repeated corner, no corner on the line between its neighbours. Masks may "
        "overlap, repeat or nest: every area covered by any mask is blacked out.",
    )

    @field_validator("polygon")
    @classmethod
    def _normalised_and_simple(cls, value: tuple[Point, ...], info: ValidationInfo) -> tuple[Point, ...]:
        for index, (x, y) in enumerate(value):
            if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
                raise ValueError(f"corner {index} is ({x}, {y}); coordinates must be normalised between 0 and 1")
        problem = polygon_problem(value)
        if problem is not None:
            raise ValueError(f"privacy mask {info.data.get('name', '?')!r}: {problem}")
        return value
