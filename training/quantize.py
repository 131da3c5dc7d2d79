"""Static int8 quantisation of the ONNX classifier, calibrated on real training crops (an experiment).

``nitrosignal train quantize`` cuts mouth crops from training photos with the detector's own pose and crop
code, feeds them to onnxruntime's static quantiser (QDQ, per-channel int8 weights, uint8 activations,
min-max calibration) and writes ``<model>.int8.onnx`` without a card: it is not a model the detector runs
until its eval figures (recall, real false-positive rate) have been compared with the float model's, and
a card carries them. docs/TRAINING.md has the comparison.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt

from detector.evidence.crop import mouth_crop, to_model_input
from detector.media import IMAGE_SUFFIXES
from detector.pose.estimator import PoseEstimator
from detector.score import still_photo_pose
from detector.settings import PoseSettings
from nitrosignal.modelcard import CropSpec
from training.frontend import read_image
from training.onnx_export import INPUT_NAME

log = logging.getLogger(__name__)


def calibration_crops(folders: list[Path], spec: CropSpec, limit: int = 256, seed: int = 0) -> npt.NDArray[np.float32]:
    """Model inputs (N, 3, S, S) of every person in up to ``limit`` photos drawn from ``folders``."""
    photos = sorted(p for folder in folders for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    random.Random(seed).shuffle(photos)
    crops = []
    with PoseEstimator(still_photo_pose(PoseSettings())) as estimator:
        for path in photos[:limit]:
            image = read_image(path)
            for pose in estimator.estimate(image):
                crop = mouth_crop(image, pose, spec)
                if crop is not None:
                    crops.append(crop)
    if not crops:
        raise ValueError(f"no person found in {limit} photos of {', '.join(map(str, folders))}")
    return to_model_input(crops, spec)


def quantize_int8(model: Path, out: Path, crops: npt.NDArray[np.float32]) -> Path:
    """Write ``out``: ``model`` with int8 weights and activations, calibrated on ``crops``."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Crops(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self._batches: Iterator[npt.NDArray[np.float32]] = iter(np.array_split(crops, max(1, len(crops) // 16)))

        def get_next(self) -> dict[str, npt.NDArray[np.float32]] | None:
            batch = next(self._batches, None)
            return None if batch is None else {INPUT_NAME: np.ascontiguousarray(batch)}

    prepared = out.with_name(out.stem + ".prepared.onnx")
    quant_pre_process(str(model), str(prepared), skip_symbolic_shape=True)
    quantize_static(
        str(prepared),
        str(out),
        Crops(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.MinMax,
    )
    prepared.unlink()
    log.info("wrote %s, calibrated on %d crops", out, len(crops))
    return out
