"""Loading the balloon-at-mouth model: format, sha256 and signature checked against its card, run by ONNX Runtime.

The device runs the classifier as ONNX with onnxruntime's CPU provider; torch belongs to training. Before a
byte of the model is interpreted, the card next to it must be a schema this detector reads, name the format
``onnx`` (the file's suffix must agree), name this file and its sha256, and carry an Ed25519 signature by a
trusted key. Anything else is refused loudly with :class:`ModelLoadError`: a device must never run a model
it cannot identify, because alerts carry the model's id, version and sha256, and it never runs without one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt
from pydantic import ValidationError

from nitrosignal.modelcard import KNOWN_SCHEMAS, ModelCard, card_path_for, format_of_file, sha256_file

if TYPE_CHECKING:
    import onnxruntime

# onnxruntime starts a telemetry client that writes a device id and an event database under ~/.cache/Microsoft
# with its first session. The detector writes nothing but its outbox and talks to nothing but the platform, so
# telemetry is switched off here, before onnxruntime is ever imported: the variable is read at its import.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

DEFAULT_MODEL_NAME: Final = "balloon-at-mouth.onnx"
SIGNING_KEY_NAME: Final = "signing-key.pub"
RUNTIME_FORMAT: Final = "onnx"


class ModelLoadError(RuntimeError):
    """The model file, its card or its signature is missing, malformed, inconsistent or untrusted."""


def default_model_path() -> Path:
    """Path of the shipped model, ``detector/models/balloon-at-mouth.onnx``."""
    return Path(__file__).resolve().parent / "models" / DEFAULT_MODEL_NAME


def shipped_signing_key_path() -> Path:
    """The public key the shipped model is signed with, ``detector/models/signing-key.pub``."""
    return Path(__file__).resolve().parent / "models" / SIGNING_KEY_NAME


@dataclass(frozen=True)
class LoadedModel:
    """A verified ONNX classifier and its card.

    Attributes:
        session: onnxruntime session: float32 (N, 3, S, S) -> probabilities (N,).
        card: the model card whose format, sha256 and signature matched.
    """

    session: onnxruntime.InferenceSession
    card: ModelCard

    def predict(self, batch: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        """Balloon-at-mouth probabilities for a prepared batch, all people of a frame in one call.

        Args:
            batch: float32 array (N, 3, S, S) from :func:`detector.evidence.crop.to_model_input`.

        Returns:
            float64 array (N,) of probabilities in 0..1.

        Raises:
            ValueError: on a batch of the wrong shape, or output that is not N probabilities.
        """
        size = self.card.input.size_px
        if batch.ndim != 4 or tuple(batch.shape[1:]) != (3, size, size):
            raise ValueError(f"batch must have shape (N, 3, {size}, {size}), got {tuple(batch.shape)}")
        if batch.shape[0] == 0:
            return np.zeros(0, dtype=np.float64)
        name = self.session.get_inputs()[0].name
        (output,) = self.session.run(None, {name: np.ascontiguousarray(batch, dtype=np.float32)})
        scores: npt.NDArray[np.float64] = np.asarray(output, dtype=np.float64).reshape(-1)
        if scores.shape != (batch.shape[0],):
            raise ValueError(f"model must return ({batch.shape[0]},) probabilities, got {np.shape(output)}")
        if not np.all(np.isfinite(scores)) or scores.min() < 0.0 or scores.max() > 1.0:
            raise ValueError("model returned values outside 0..1 or non-finite; expected probabilities")
        return scores


def read_checked_card(path: Path) -> ModelCard:
    """The card of ``path`` after checking its schema, format, file name and sha256 (not its signature).

    Raises:
        ModelLoadError: with a message that names what is wrong.
    """
    if not path.is_file():
        raise ModelLoadError(f"model file not found: {path}")
    card_path = card_path_for(path)
    if not card_path.is_file():
        raise ModelLoadError(f"model card not found: expected {card_path} next to {path.name}")
    try:
        document = json.loads(card_path.read_text())
    except (OSError, ValueError) as error:
        raise ModelLoadError(f"model card {card_path} is not readable JSON: {error}") from error
    schema = document.get("schema") if isinstance(document, dict) else None
    if schema not in KNOWN_SCHEMAS:
        raise ModelLoadError(
            f"model card {card_path} has schema {schema!r}; this detector reads {', '.join(KNOWN_SCHEMAS)} "
            "(a card from a newer schema needs a newer detector)"
        )
    try:
        card = ModelCard.model_validate(document)
    except ValidationError as error:
        raise ModelLoadError(f"model card {card_path} is not a valid {schema}: {error}") from error
    if card.file_format != RUNTIME_FORMAT:
        raise ModelLoadError(
            f"model card {card_path} describes a {card.file_format} file and names no ONNX sha256; this detector "
            "runs ONNX only (export the model to ONNX with `nitrosignal train export`)"
        )
    announced = format_of_file(path)
    if announced != card.file_format:
        raise ModelLoadError(
            f"model file {path.name} is {announced or 'of an unknown format (suffix ' + repr(path.suffix) + ')'}, "
            f"but its card names the format {card.file_format}"
        )
    if card.file_name != path.name:
        raise ModelLoadError(f"model card {card_path} describes {card.file_name!r}, not {path.name!r}")
    actual = sha256_file(path)
    if actual != card.sha256:
        raise ModelLoadError(f"sha256 of {path} is {actual}, but its card expects {card.sha256}; refusing to load")
    return card


def check_signature(path: Path, card: ModelCard, trusted_keys: Sequence[Path]) -> None:
    """Refuse a card that is unsigned or signed by none of ``trusted_keys`` (PEM Ed25519 public keys).

    Raises:
        ModelLoadError: naming the missing signature, an unreadable key, or the failed check.
    """
    from nitrosignal.modelsig import SignatureError, load_public_key, signature_path_for, verify_card_with_any

    signature = signature_path_for(path)
    if not signature.is_file():
        raise ModelLoadError(f"model {path.name} is unsigned: no {signature.name} next to it; refusing to load")
    try:
        keys = [load_public_key(key) for key in trusted_keys]
    except (OSError, TypeError, ValueError) as error:
        raise ModelLoadError(f"cannot read a trusted model-signing key: {error}") from error
    try:
        verify_card_with_any(card, signature.read_bytes(), keys)
    except SignatureError as error:
        raise ModelLoadError(f"model {path.name}: {error}; refusing to load") from error


def _session(path: Path, threads: int) -> onnxruntime.InferenceSession:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    # The classifier shares a small device with MediaPipe's own threads: one intra-op thread and no
    # inter-op pool, so it never competes with pose for the two cores (measured in docs/DEVICE_INSTALL.md).
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    # All graph optimisations: the layout transforms make the convolutions 2.5 times cheaper than "extended".
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    # A memory plan per batch size is kept for every number of people seen; without it the session holds
    # about 20 MB less at the same speed (measured with batches of 1 to 4 crops).
    options.enable_mem_pattern = False
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def load_model(path: Path, *, trusted_keys: Sequence[Path] | None, threads: int = 1) -> LoadedModel:
    """Load an ONNX model after checking its card, sha256 and (unless ``trusted_keys`` is None) signature.

    Args:
        path: the ``.onnx`` file; its card (``<file>.card.json``) and signature (``<file>.sig``) sit next to it.
        trusted_keys: public keys (PEM) of which one must have signed the card. None skips the signature
            check: only for training's own fresh, not yet signed export; the detector always passes keys.
        threads: onnxruntime intra-op threads.

    Returns:
        The verified model, ready to predict.

    Raises:
        ModelLoadError: if anything about the file, card or signature is wrong, or onnxruntime cannot load it.
    """
    card = read_checked_card(path)
    if trusted_keys is not None:
        check_signature(path, card, trusted_keys)
    try:
        session = _session(path, threads)
    except Exception as error:  # onnxruntime raises its own exception types for a malformed graph
        raise ModelLoadError(f"{path} is not a loadable ONNX model: {error}") from error
    inputs, outputs = session.get_inputs(), session.get_outputs()
    size = card.input.size_px
    if len(inputs) != 1 or len(outputs) != 1 or list(inputs[0].shape[1:]) != [3, size, size]:
        shapes = [tuple(i.shape) for i in inputs]
        raise ModelLoadError(f"{path} must take one (N, 3, {size}, {size}) input and give one output, got {shapes}")
    return LoadedModel(session=session, card=card)
