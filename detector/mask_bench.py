"""Per-frame cost of the privacy masks: ``python -m detector.mask_bench`` prints JSON.

Measures :class:`detector.masking.MaskApplier` (one fill per polygon, so the union is black) against the
single even-odd ``cv2.fillPoly`` call it replaced, on the same frame and the same masks, in the same run.
The figure that matters is the union's milliseconds per frame next to the pose stage's tens of milliseconds.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import cv2
import numpy as np
import numpy.typing as npt

from detector.config.masking import PrivacyMask
from detector.masking import MaskApplier

Frame = npt.NDArray[np.uint8]

MASK_SETS: dict[str, tuple[PrivacyMask, ...]] = {
    "window": (PrivacyMask(name="window", polygon=((0.05, 0.05), (0.2, 0.05), (0.2, 0.3), (0.05, 0.3))),),
    "three_overlapping": (
        PrivacyMask(name="left", polygon=((0.0, 0.0), (0.6, 0.0), (0.6, 1.0), (0.0, 1.0))),
        PrivacyMask(name="door", polygon=((0.4, 0.2), (0.8, 0.2), (0.8, 0.9), (0.4, 0.9))),
        PrivacyMask(name="garden", polygon=((0.7, 0.6), (1.0, 0.5), (0.9, 1.0))),
    ),
    "whole_frame_twice": tuple(
        PrivacyMask(name=f"all-{i}", polygon=((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))) for i in range(2)
    ),
}


def _median_ms(action: Callable[[Frame], object], frame: Frame, repeats: int) -> float:
    action(frame)  # warm-up: pixel cache, page faults
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        action(frame)
        samples.append((time.perf_counter() - started) * 1000.0)
    return round(float(np.median(samples)), 4)


def run(width: int, height: int, repeats: int) -> dict[str, object]:
    """Median milliseconds per frame of the union fill and of the old single even-odd call, per mask set."""
    frame = np.random.default_rng(1).integers(0, 255, size=(height, width, 3), dtype=np.uint8)
    results: dict[str, object] = {}
    for name, masks in MASK_SETS.items():
        applier = MaskApplier(masks)
        scale = np.array([width - 1, height - 1], dtype=np.float64)
        polygons = [np.round(np.array(m.polygon) * scale).astype(np.int32) for m in masks]

        def even_odd(image: Frame, polygons: list[npt.NDArray[np.int32]] = polygons) -> object:
            return cv2.fillPoly(image, polygons, (0, 0, 0))

        union_ms = _median_ms(applier.apply, frame.copy(), repeats)
        baseline_ms = _median_ms(even_odd, frame.copy(), repeats)
        results[name] = {
            "masks": len(masks),
            "union_ms": union_ms,
            "single_call_baseline_ms": baseline_ms,
            "union_over_baseline": round(union_ms / baseline_ms, 2) if baseline_ms > 0 else None,
        }
    return {"frame": [width, height], "repeats": repeats, "mask_sets": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--repeats", type=int, default=300)
    args = parser.parse_args()
    print(json.dumps(run(args.width, args.height, args.repeats), indent=2))


if __name__ == "__main__":
    main()
