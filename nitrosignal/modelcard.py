"""The model card: what a detection model is, what it was trained on, how well it does, and its hash.

Shared by training (which writes it), the detector (which checks the model file's sha256 against it
before loading) and the platform's model registry (which stores, approves and serves it). The card sits
next to the model file as ``<model file>.card.json``; its Ed25519 signature, when present, sits next to
that as ``<model file>.sig`` and signs the card's canonical JSON.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field

from nitrosignal.strict import StrictModel
from nitrosignal.wire.messages import MachineToken, ModelRef, Sha256Hex

CARD_SUFFIX = ".card.json"
SIGNATURE_SUFFIX = ".sig"


class CropSpec(StrictModel):
    """How the detector cuts and normalises the classifier's input; training must use the same."""

    size_px: int = Field(ge=16, le=512, description="Square input side in pixels.")
    mean: tuple[float, float, float] = Field(description="Per-channel mean (RGB, 0..1) subtracted.")
    std: tuple[float, float, float] = Field(description="Per-channel std (RGB, 0..1) divided by.")
    crop_version: MachineToken = Field(description="Version of the pose-normalised crop geometry.")


class DataSource(StrictModel):
    """One source of training data, with its provenance."""

    name: str
    origin: str = Field(description="Where the data came from (repository, URL, collection).")
    licence: str
    legal_basis: str = Field(description="Consent or legal-basis reference for using it.")
    collected: str = Field(description="Collection date or period, ISO 8601 where known.")
    images: int = Field(ge=0)


class ModelCard(StrictModel):
    """Model card in JSON, the single source for model identity and published metrics."""

    model_config = ConfigDict(populate_by_name=True)

    schema_: Literal["nitrosignal.modelcard/1"] = Field(default="nitrosignal.modelcard/1", alias="schema")
    id: MachineToken
    version: MachineToken
    file_name: str = Field(description="Model file name the sha256 refers to.")
    sha256: Sha256Hex
    created_at: datetime
    architecture: str
    input: CropSpec
    threshold: float = Field(ge=0.0, le=1.0, description="Operating threshold on the balloon-at-mouth probability.")
    baseline: bool = Field(default=False, description="True for a hand-made baseline rather than a trained model.")
    intended_use: str
    training_data: tuple[DataSource, ...] = ()
    metrics: dict[str, float] = Field(default_factory=dict, description="Headline metrics on the eval set.")
    false_positive_rate_by_category: dict[str, float] = Field(default_factory=dict)
    limitations: tuple[str, ...] = ()
    known_confusers: tuple[str, ...] = ()

    def ref(self) -> ModelRef:
        """The short reference that travels in alerts."""
        return ModelRef(id=self.id, version=self.version, sha256=self.sha256)

    def canonical_json(self) -> bytes:
        """Deterministic bytes of the card, the input to its signature."""
        return json.dumps(self.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":")).encode()


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def card_path_for(model_path: Path) -> Path:
    """Where the card of a model file lives."""
    return model_path.with_name(model_path.name + CARD_SUFFIX)


def read_card(model_path: Path) -> ModelCard:
    """Read and validate the card that belongs to ``model_path``."""
    return ModelCard.model_validate_json(card_path_for(model_path).read_text())
