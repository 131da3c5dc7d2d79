"""Privacy masks: polygons blacked out in the frame before any model sees it (DESIGN.md §4.4).

The mask is applied in place on the captured frame, so no unmasked copy survives past this stage.
Polygons are normalised (0..1 of width and height) and converted to pixels once per frame size.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, field_validator

Point = tuple[float, float]


class PrivacyMask(BaseModel):
    """One area the detector must never look at, such as a window, a front door or a garden."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=48, description="Label for operators; never sent anywhere.")
    polygon: tuple[Point, ...] = Field(
        min_length=3, description="Corners as [x, y] pairs, normalised 0..1 of the frame's width and height."
    )

    @field_validator("polygon")
    @classmethod
    def _normalised(cls, value: tuple[Point, ...]) -> tuple[Point, ...]:
        for index, (x, y) in enumerate(value):
            if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
                raise ValueError(f"corner {index} is ({x}, {y}); coordinates must be normalised between 0 and 1")
        return value


class MaskApplier:
    """Blacks out every configured polygon, in place, on frames of any size."""

    def __init__(self, masks: tuple[PrivacyMask, ...]) -> None:
        self._masks = masks
        self._cache: dict[tuple[int, int], list[npt.NDArray[np.int32]]] = {}

    def _pixels(self, height: int, width: int) -> list[npt.NDArray[np.int32]]:
        key = (height, width)
        if key not in self._cache:
            scale = np.array([width - 1, height - 1], dtype=np.float64)
            self._cache[key] = [
                np.round(np.array(mask.polygon, dtype=np.float64) * scale).astype(np.int32) for mask in self._masks
            ]
        return self._cache[key]

    def apply(self, frame: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        """Black out the masked areas of ``frame`` in place and return it.

        Raises:
            ValueError: if the frame is not an H×W×3 or H×W uint8 image.
        """
        if frame.dtype != np.uint8 or frame.ndim not in (2, 3):
            raise ValueError(f"frame must be an HxWx3 or HxW uint8 image, got {frame.dtype} {frame.shape}")
        if not self._masks:
            return frame
        polygons = self._pixels(frame.shape[0], frame.shape[1])
        black: tuple[int, ...] = (0, 0, 0) if frame.ndim == 3 else (0,)
        cv2.fillPoly(frame, polygons, black)
        return frame
