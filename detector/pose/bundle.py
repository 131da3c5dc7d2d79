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
# Flatbuffer identifiers and the metadata field name, as mediapipe's MetadataPopulator uses them.
_METADATA_FIELD: Final = "TFLITE_METADATA"
_METADATA_IDENTIFIER: Final = b"M001"
_TFLITE_IDENTIFIER: Final = b"TFL3"


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
    """Add image-input normalisation metadata, input = (pixel - mean) / std, entirely in memory.

    mediapipe's ``MetadataWriter.populate()`` round-trips the model through a temporary file (and keeps a
    temporary folder); the device writes nothing but its outbox, so the same two steps run here on bytes:
    the writer's own metadata builder, then the populator's insertion of the metadata buffer.
    """
    from mediapipe.tasks.metadata import metadata_schema_py_generated as metadata_fb
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_info, metadata_writer, writer_utils

    buffer = bytearray(model)
    image_input = metadata_info.InputImageTensorMd(
        name="image",
        description="Input image to be processed.",
        norm_mean=[mean],
        norm_std=[std],
        color_space_type=metadata_fb.ColorSpaceType.RGB,
        tensor_type=writer_utils.get_input_tensor_types(buffer)[0],
    )
    # The metadata must describe every output tensor, by name, or MediaPipe refuses the model.
    outputs = [metadata_info.TensorMd(name=output) for output in writer_utils.get_output_tensor_names(buffer)]
    metadata = metadata_writer._create_metadata_buffer(
        model_buffer=buffer,
        general_md=metadata_info.GeneralMd(name=name, description="nitrosignal pose bundle part"),
        input_md=[image_input],
        output_md=outputs,
    )
    return _insert_metadata(buffer, bytes(metadata))


def _insert_metadata(model: bytearray, metadata: bytes) -> bytes:
    """What ``MetadataPopulator.load_metadata_buffer`` + ``populate`` do, without their temporary file."""
    import flatbuffers  # type: ignore[import-untyped]  # ships no type information
    from mediapipe.tasks.cc.metadata.python import _pywrap_metadata_version
    from mediapipe.tasks.metadata import metadata_schema_py_generated as metadata_fb
    from mediapipe.tasks.metadata import schema_py_generated as schema_fb

    versioned = metadata_fb.ModelMetadataT.InitFromObj(metadata_fb.ModelMetadata.GetRootAsModelMetadata(metadata, 0))
    versioned.minParserVersion = _pywrap_metadata_version.GetMinimumMetadataParserVersion(metadata)
    builder = flatbuffers.Builder(0)
    builder.Finish(versioned.Pack(builder), _METADATA_IDENTIFIER)
    buffer_field = schema_fb.BufferT()
    buffer_field.data = builder.Output()

    tflite = schema_fb.ModelT.InitFromObj(schema_fb.Model.GetRootAsModel(model, 0))
    tflite.buffers = tflite.buffers or []
    tflite.metadata = tflite.metadata or []
    existing = [entry for entry in tflite.metadata if entry.name.decode("utf-8") == _METADATA_FIELD]
    if existing:
        tflite.buffers[existing[0].buffer] = buffer_field
    else:
        tflite.buffers.append(buffer_field)
        entry = schema_fb.MetadataT()
        entry.name = _METADATA_FIELD
        entry.buffer = len(tflite.buffers) - 1
        tflite.metadata.append(entry)
    builder = flatbuffers.Builder(0)
    builder.Finish(tflite.Pack(builder), _TFLITE_IDENTIFIER)
    return bytes(builder.Output())


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
