"""Pixel boxes for tiles and regions: where the pose model looks at full resolution for small people."""

from __future__ import annotations

from typing import NamedTuple


class Box(NamedTuple):
    """Axis-aligned pixel box (x0, y0, x1, y1); in memory only."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def area(self) -> float:
        """Area in square pixels (0 for an empty box)."""
        return max(0.0, self.x1 - self.x0) * max(0.0, self.y1 - self.y0)


def box_overlap(first: Box, second: Box) -> float:
    """Intersection over the smaller box's area (1.0 when one box contains the other).

    The smaller box, not the union, because a person cut at a tile edge yields a partial pose that lies
    inside the full pose of the same person.
    """
    width = min(first.x1, second.x1) - max(first.x0, second.x0)
    height = min(first.y1, second.y1) - max(first.y0, second.y0)
    if width <= 0 or height <= 0:
        return 0.0
    smaller = min(first.area, second.area)
    return (width * height) / smaller if smaller > 0 else 0.0


def tile_boxes(width: int, height: int, grid: tuple[int, int], overlap: float) -> list[Box]:
    """Overlapping tiles covering a width x height frame.

    Args:
        width: frame width in pixels.
        height: frame height in pixels.
        grid: (columns, rows).
        overlap: fraction of a tile's side shared with its neighbour, 0 <= overlap < 0.5.

    Returns:
        columns * rows boxes, row by row.
    """
    columns, rows = grid
    if columns < 1 or rows < 1:
        raise ValueError(f"grid must have at least one column and one row, got {grid}")
    if not 0.0 <= overlap < 0.5:
        raise ValueError(f"overlap must be in [0, 0.5), got {overlap}")
    tile_w = width / (columns - (columns - 1) * overlap)
    tile_h = height / (rows - (rows - 1) * overlap)
    boxes = []
    for row in range(rows):
        for column in range(columns):
            x0 = column * tile_w * (1 - overlap)
            y0 = row * tile_h * (1 - overlap)
            boxes.append(Box(x0, y0, min(float(width), x0 + tile_w), min(float(height), y0 + tile_h)))
    return boxes


def expand_box(box: Box, factor: float, width: int, height: int) -> Box:
    """Grow ``box`` about its centre by ``factor`` (and to a square at least), clipped to the frame."""
    cx, cy = (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2
    side = max(box.x1 - box.x0, box.y1 - box.y0) * factor
    return Box(
        max(0.0, cx - side / 2),
        max(0.0, cy - side / 2),
        min(float(width), cx + side / 2),
        min(float(height), cy + side / 2),
    )
