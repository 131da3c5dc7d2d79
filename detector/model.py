"""Loading the balloon-at-mouth model, with its sha256 checked against the model card next to it.

A model whose card is missing, malformed or names another file or hash is refused loudly: a device must
never run a model it cannot identify, because alerts carry the model's id, version and sha256.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch
from pydantic import ValidationError
from torch.jit._fuser import optimized_execution

from nitrosignal.modelcard import ModelCard, card_path_for, read_card, sha256_file

DEFAULT_MODEL_NAME = "balloon-at-mouth.pt"


class ModelLoadError(RuntimeError):
    """The model file or its card is missing, malformed or inconsistent."""


def default_model_path() -> Path:
    """Path of the shipped model, ``detector/models/balloon-at-mouth.pt``."""
    return Path(__file__).resolve().parent / "models" / DEFAULT_MODEL_NAME


@contextmanager
def _without_onednn() -> Iterator[None]:
    # Only the one switch: torch.backends.mkldnn.flags() would also reset oneDNN's determinism and TF32
    # settings for the whole process, and warns about TF32 on every call.
    previous = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = False  # type: ignore[assignment]  # a ContextProp in torch's stubs
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = previous


@dataclass(frozen=True)
class LoadedModel:
    """A verified TorchScript classifier and its card.

    Attributes:
        module: TorchScript module: float (N, 3, S, S) -> probabilities (N,).
        card: the model card whose sha256 matched the file.
    """

    module: torch.jit.ScriptModule
    card: ModelCard

    def predict(self, batch: torch.Tensor) -> npt.NDArray[np.float64]:
        """Balloon-at-mouth probabilities for a prepared batch.

        Args:
            batch: float tensor (N, 3, S, S) from :func:`detector.evidence.crop.to_model_input`.

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
        # Plain TorchScript interpretation: the profiling executor re-optimises on new batch sizes and stalls
        # a frame for hundreds of milliseconds, which a real-time loop cannot afford for a small model.
        # No oneDNN: it JIT-compiles kernels into writable, executable memory, which the systemd unit forbids
        # (MemoryDenyWriteExecute=yes); torch picks it for any batch of two or more crops.
        with torch.inference_mode(), optimized_execution(False), _without_onednn():
            output = self.module(batch.to(torch.float32))
        scores: npt.NDArray[np.float64] = np.asarray(output.detach().cpu().numpy(), dtype=np.float64).reshape(-1)
        if scores.shape != (batch.shape[0],):
            raise ValueError(f"model must return ({batch.shape[0]},) probabilities, got {tuple(output.shape)}")
        if not np.all(np.isfinite(scores)) or scores.min() < 0.0 or scores.max() > 1.0:
            raise ValueError("model returned values outside 0..1 or non-finite; expected probabilities")
        return scores


def load_model(path: Path) -> LoadedModel:
    """Load a TorchScript model after checking its sha256 against its card.

    Args:
        path: the model file; its card must sit next to it as ``<file>.card.json``.

    Returns:
        The verified model.

    Raises:
        ModelLoadError: if the file or card is missing or malformed, the card names another file, or the
            sha256 differs.
    """
    if not path.is_file():
        raise ModelLoadError(f"model file not found: {path}")
    card_path = card_path_for(path)
    if not card_path.is_file():
        raise ModelLoadError(f"model card not found: expected {card_path} next to {path.name}")
    try:
        card = read_card(path)
    except (ValidationError, ValueError) as error:
        raise ModelLoadError(f"model card {card_path} is not a valid nitrosignal.modelcard/1: {error}") from error
    if card.file_name != path.name:
        raise ModelLoadError(f"model card {card_path} describes {card.file_name!r}, not {path.name!r}")
    actual = sha256_file(path)
    if actual != card.sha256:
        raise ModelLoadError(f"sha256 of {path} is {actual}, but its card expects {card.sha256}; refusing to load")
    try:
        with warnings.catch_warnings():
            # torch 2.14 flags TorchScript as deprecated; it is still the classifier contract (issue 3 §4).
            warnings.simplefilter("ignore", FutureWarning)
            module = torch.jit.load(str(path), map_location="cpu")  # type: ignore[no-untyped-call]
    except (RuntimeError, ValueError) as error:
        raise ModelLoadError(f"{path} is not a loadable TorchScript module: {error}") from error
    module.eval()
    return LoadedModel(module=module, card=card)
