"""The pose-normalised mouth crop and its input preparation: the classifier's only view of a person.

Training imports these two functions rather than copying them, so train and serve cannot drift. The crop is
a square centred a little below the mouth (where a balloon held at the lips sits), with a side proportional
to the person's body scale, so the same person near or far from the camera gives the same crop. The crop
exists only in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from detector.evidence.geometry import body_scale_px, mouth_point
from detector.pose.estimator import ImageBGR, PersonPose
from nitrosignal.modelcard import CropSpec

CROP_VERSION: Final = "mouth-v1"
# Per crop version: (side in body scales, downward shift of the centre in body scales). A side of 1.1
# shoulder widths holds the face, both hands near it and a balloon of up to ~30 cm at the lips. mouth-v2
# (wider, 1.6) and mouth-v3 (tighter, 0.85) are rejected experiments kept so they can be re-run: both
# measured worse (recall 0.64 and 0.72 against 0.74; v3's real false-positive rate 3.4 %; docs/TRAINING.md).
CROP_GEOMETRY: Final = {CROP_VERSION: (1.1, 0.1), "mouth-v2": (1.6, 0.1), "mouth-v3": (0.85, 0.1)}
DEFAULT_CROP_SPEC: Final = CropSpec(
    size_px=96, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), crop_version=CROP_VERSION
)


def _geometry(spec: CropSpec) -> tuple[float, float]:
    try:
        return CROP_GEOMETRY[spec.crop_version]
    except KeyError:
        known = ", ".join(sorted(CROP_GEOMETRY))
        raise ValueError(f"unknown crop_version {spec.crop_version!r}; this detector knows: {known}") from None


def mouth_crop(frame_bgr: ImageBGR, pose: PersonPose, spec: CropSpec) -> ImageBGR | None:
    """Cut the pose-normalised square crop around the mouth and hands.

    Args:
        frame_bgr: the frame, uint8 (H, W, 3) BGR.
        pose: the person's landmarks in that frame's pixels.
        spec: the model's crop specification (size and crop geometry version).

    Returns:
        A uint8 (size_px, size_px, 3) BGR crop, zero-padded where it leaves the frame, or None when the
        person's body scale is below 2 pixels (nothing meaningful to cut).

    Raises:
        ValueError: on an unknown crop version or a malformed frame.
    """
    if frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3:
        raise ValueError(f"frame must have shape (H, W, 3), got {frame_bgr.shape}")
    side_scales, shift_scales = _geometry(spec)
    scale = body_scale_px(pose)
    if scale < 2.0:
        return None
    centre = mouth_point(pose) + np.array([0.0, shift_scales * scale])
    side = side_scales * scale
    size = spec.size_px
    # An affine map from the square around the centre to the output; warpAffine pads outside with black and
    # interpolates once, so near and far people are resampled the same way.
    factor = size / side
    matrix = np.array(
        [[factor, 0.0, size / 2 - factor * centre[0]], [0.0, factor, size / 2 - factor * centre[1]]],
        dtype=np.float64,
    )
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    crop = cv2.warpAffine(
        frame_bgr, matrix, (size, size), flags=interpolation, borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0)
    )
    return np.asarray(crop, dtype=np.uint8)


def to_model_input(crops: Sequence[ImageBGR], spec: CropSpec) -> npt.NDArray[np.float32]:
    """Stack BGR uint8 crops into the classifier's float (N, 3, S, S) RGB input, normalised per the card.

    Args:
        crops: crops from :func:`mouth_crop`, each (size_px, size_px, 3) uint8 BGR.
        spec: the model's crop specification.

    Returns:
        float32 array (N, 3, S, S): ((rgb / 255) - mean) / std (training wraps it with ``torch.from_numpy``).

    Raises:
        ValueError: if a crop has the wrong shape or dtype.
    """
    size = spec.size_px
    for index, crop in enumerate(crops):
        if crop.shape != (size, size, 3) or crop.dtype != np.uint8:
            raise ValueError(f"crop {index} must be uint8 ({size}, {size}, 3), got {crop.dtype} {crop.shape}")
    if not crops:
        return np.zeros((0, 3, size, size), dtype=np.float32)
    batch = np.stack([crop[:, :, ::-1] for crop in crops]).astype(np.float32) / np.float32(255.0)
    planar = np.ascontiguousarray(batch.transpose(0, 3, 1, 2))
    mean = np.asarray(spec.mean, dtype=np.float32).reshape(1, 3, 1, 1)
    std = np.asarray(spec.std, dtype=np.float32).reshape(1, 3, 1, 1)
    normalised: npt.NDArray[np.float32] = (planar - mean) / std
    return normalised
