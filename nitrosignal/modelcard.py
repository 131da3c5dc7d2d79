"""The model card: what a detection model is, what it was trained on, how well it does, and its hash.

Shared by training (which writes it), the detector (which checks the model file's format and sha256
against it before loading) and the platform's model registry (which stores, approves and serves it). The
card sits next to the model file as ``<model file>.card.json``; its Ed25519 signature sits next to that as
``<model file>.sig`` and signs the card's canonical JSON, so through the sha256 it covers the file too.

Schemas: ``nitrosignal.modelcard/1`` described a TorchScript file and had no ``format``;
``nitrosignal.modelcard/2`` names the file's ``format`` (``onnx``, which the detector runs, or
``torchscript``, which training keeps). A card from a schema this code does not know is refused with a
message that says so, never read as if it were an older one.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Literal, get_args

from pydantic import ConfigDict, Field, model_validator

from nitrosignal.strict import StrictModel
from nitrosignal.wire.messages import MachineToken, ModelRef, Sha256Hex

CARD_SUFFIX = ".card.json"
SIGNATURE_SUFFIX = ".sig"

CardSchema = Literal["nitrosignal.modelcard/1", "nitrosignal.modelcard/2"]
KNOWN_SCHEMAS: Final[tuple[str, ...]] = get_args(CardSchema)
CURRENT_SCHEMA: Final = "nitrosignal.modelcard/2"
ModelFormat = Literal["onnx", "torchscript"]
# How a model file's name says its format; the card must name the same one.
FORMAT_SUFFIXES: Final[dict[str, ModelFormat]] = {".onnx": "onnx", ".pt": "torchscript"}


def format_of_file(path: Path) -> ModelFormat | None:
    """The model format a file name announces (``.onnx``, ``.pt``), or None for any other suffix."""
    return FORMAT_SUFFIXES.get(path.suffix.lower())


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

    schema_: CardSchema = Field(
        default="nitrosignal.modelcard/1",
        alias="schema",
        description="Card schema. /1 (the default, for older TorchScript cards) has no format; /2 names it.",
    )
    id: MachineToken
    version: MachineToken
    file_name: str = Field(description="Model file name the sha256 refers to.")
    format: ModelFormat | None = Field(
        default=None, description="Serialisation of file_name (schema /2 only): 'onnx' or 'torchscript'."
    )
    sha256: Sha256Hex = Field(description="sha256 of the file named by file_name, in the format named by format.")
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

    @model_validator(mode="before")
    @classmethod
    def _known_schema(cls, data: Any) -> Any:
        # Said plainly, before pydantic's literal error: a newer card needs newer software, not a guess.
        schema = data.get("schema", data.get("schema_")) if isinstance(data, dict) else None
        if schema is not None and schema not in KNOWN_SCHEMAS:
            raise ValueError(
                f"card schema {schema!r} is not one this software reads ({', '.join(KNOWN_SCHEMAS)}); "
                "a newer card needs a newer nitrosignal"
            )
        return data

    @model_validator(mode="after")
    def _format_matches_schema(self) -> ModelCard:
        if self.schema_ == "nitrosignal.modelcard/1" and self.format is not None:
            raise ValueError("a nitrosignal.modelcard/1 card has no format field; use schema nitrosignal.modelcard/2")
        if self.schema_ != "nitrosignal.modelcard/1" and self.format is None:
            raise ValueError(f"a {self.schema_} card must name the model file's format (onnx or torchscript)")
        return self

    @property
    def file_format(self) -> ModelFormat:
        """The format of ``file_name``: named on /2 cards, TorchScript on /1 cards (the only format then)."""
        return self.format if self.format is not None else "torchscript"

    def ref(self) -> ModelRef:
        """The short reference that travels in alerts."""
        return ModelRef(id=self.id, version=self.version, sha256=self.sha256)

    def to_json(self) -> str:
        """The card file's text: indented, sorted, and without the field a /1 card does not have."""
        return json.dumps(self._document(), indent=2, sort_keys=True) + "\n"

    def canonical_json(self) -> bytes:
        """Deterministic bytes of the card, the input to its signature."""
        return json.dumps(self._document(), sort_keys=True, separators=(",", ":")).encode()

    def _document(self) -> dict[str, Any]:
        # A /1 card has no format: leaving it out keeps the canonical bytes, and so old signatures, unchanged.
        exclude = {"format"} if self.format is None else None
        document: dict[str, Any] = self.model_dump(mode="json", by_alias=True, exclude=exclude)
        return document


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
