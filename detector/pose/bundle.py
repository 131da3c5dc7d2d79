"""Build MediaPipe's PoseLandmarker ``.task`` bundle in memory from the tflite files mediapipe 0.10.21 ships.

mediapipe 0.10.21 ships ``pose_detection.tflite`` and ``pose_landmark_full.tflite`` for the legacy
single-person solution, without the image-normalisation metadata the Tasks API needs, and later releases
download models at run time (impossible here). So we add that metadata with mediapipe's own
``metadata_writers`` ([-1, 1] for the person detector, [0, 1] for the landmark model) and zip the two into a
bundle. The bundle only ever lives in memory (``BaseOptions(model_asset_buffer=...)``); nothing is written
to disk at run time.
"""

from __future__ import annotations

import functools
import io
import zipfile
from importlib import resources
from pathlib import Path
from typing import Final

DETECTOR_TFLITE: Final = "modules/pose_detection/pose_detection.tflite"
LANDMARK_TFLITE: Final = "modules/pose_landmark/pose_landmark_full.tflite"
# Names the Tasks PoseLandmarker graph looks for inside the bundle.
BUNDLE_DETECTOR_NAME: Final = "pose_detector.tflite"
BUNDLE_LANDMARK_NAME: Final = "pose_landmarks_detector.tflite"


class PoseBundleError(RuntimeError):
    """The pose bundle could not be built (missing or unreadable model files)."""


def _mediapipe_file(relative: str) -> bytes:
    root = Path(str(resources.files("mediapipe")))
    path = root / relative
    if not path.is_file():
        raise PoseBundleError(
            f"expected mediapipe 0.10.21's bundled model at {path}, found nothing; "
            "later mediapipe releases ship no models (DESIGN.md §7)"
        )
    return path.read_bytes()


def _with_image_metadata(model: bytes, name: str, mean: float, std: float) -> bytes:
    """Add image-input normalisation metadata: input = (pixel - mean) / std."""
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer, writer_utils

    buffer = bytearray(model)
    writer = metadata_writer.MetadataWriter.create(buffer)
    try:
        writer.add_general_info(name, "nitrosignal pose bundle part")
        writer.add_image_input(norm_mean=[mean], norm_std=[std])
        # The metadata must describe every output tensor, by name, or the populator refuses it.
        for output_name in writer_utils.get_output_tensor_names(buffer):
            writer.add_feature_output(name=output_name)
        content, _ = writer.populate()
    finally:
        # The writer keeps a temporary folder that it only removes on garbage collection; remove it now so
        # a run leaves no trace on disk.
        writer._temp_folder.cleanup()
    return bytes(content)


def _zip_stored(members: dict[str, bytes]) -> bytes:
    """Zip uncompressed with 4-byte alignment, as mediapipe's model_asset_bundle_utils does, but in memory."""
    from mediapipe.tasks.python.metadata.metadata_writers import model_asset_bundle_utils

    buffer = io.BytesIO()
    with model_asset_bundle_utils.AlignZipFile(buffer, mode="w", alignment=4) as archive:
        for name, content in members.items():
            archive.writestr(zipfile.ZipInfo(name), content)
    return buffer.getvalue()


@functools.cache
def pose_landmarker_bundle() -> bytes:
    """The PoseLandmarker ``.task`` bundle as bytes, built once per process and kept in memory.

    Returns:
        The zip bytes to pass as ``BaseOptions(model_asset_buffer=...)``.

    Raises:
        PoseBundleError: if mediapipe's tflite files are missing.
    """
    # Detector: [-1, 1] means (x - 127.5) / 127.5. Landmark model: [0, 1] means (x - 0) / 255.
    detector = _with_image_metadata(_mediapipe_file(DETECTOR_TFLITE), "pose_detector", 127.5, 127.5)
    landmarks = _with_image_metadata(_mediapipe_file(LANDMARK_TFLITE), "pose_landmarks_detector", 0.0, 255.0)
    return _zip_stored({BUNDLE_DETECTOR_NAME: detector, BUNDLE_LANDMARK_NAME: landmarks})
