"""``nitrosignal train export``: ONNX and TorchScript files, each with its card (JSON + Markdown) and signature.

Both files take float (N, 3, S, S) normalised per the card's CropSpec and return probabilities (N,). The
ONNX file is the one the detector runs (onnxruntime, no torch on the device); the TorchScript file is kept
next to it for training-side checks. Each file has its own card (schema ``nitrosignal.modelcard/2``, naming
the file, its ``format`` and its sha256) and signature (``<file>.sig``, base64 of the 64 raw Ed25519 bytes
over ``card.canonical_json()``), so a device or the registry checks the card and, through its sha256, the
file. The private signing key lives outside the repository (by default
``~/.config/nitrosignal/model-signing.key``, mode 0600); only the public key is shipped.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from nitrosignal.modelcard import CURRENT_SCHEMA, DataSource, ModelCard, ModelFormat, card_path_for, sha256_file
from nitrosignal.modelsig import SignatureError, load_public_key, sign_card, signature_path_for, verify_card
from training.efficientnet_lite import PRETRAINING_SOURCE, WEIGHTS_PACKAGE
from training.model import PRETRAINED_ARCHITECTURE, Probability, build_model, for_device
from training.onnx_export import OnnxProbability, export_onnx
from training.train import TrainConfig, load_checkpoint

__all__ = [
    "CardInputs",
    "ExportResult",
    "SignatureError",
    "export_model",
    "generate_signing_key",
    "load_private_key",
    "load_public_key",
    "sign_card",
    "verify_card",
]

log = logging.getLogger(__name__)

DEFAULT_SIGNING_KEY = Path("~/.config/nitrosignal/model-signing.key")
MODEL_ID = "balloon-at-mouth"
INTENDED_USE = (
    "Scores one person's pose-normalised mouth crop (cut by the nitrosignal detector's own pose and crop code) "
    "for a balloon held at the mouth, as one of several cues that the detector confirms over time before it "
    "sends an anonymous alert to an enforcement officer, who checks on site. Not for identifying people, not "
    "for use on stored footage, and never a sole basis for a sanction."
)
LIMITATIONS = (
    "Trained without any real photo of balloon use: positives are real balloons (Matterport/Flickr photos) and "
    "procedurally rendered balloons composited at the mouths of real people; recall on real scenes is unproven "
    "beyond the single real positive photo in the eval set.",
    "Rendered balloons are among the training positives so that the project's demo (a rendered balloon pasted on "
    "a licence-free photo) is detected; that demo says nothing about real-world recall.",
    "People whose mouth the pose model cannot find (a balloon covering the face, small or distant people, backs "
    "to the camera) are not scored at all.",
    "Eval figures come from a small set (about 150 real negatives, one real positive): one false alarm moves the "
    "false-positive rate by about 0.7 points.",
    "White or near-white balloons (a common nitrous-oxide balloon colour) score lower than coloured ones and are "
    "often below the operating threshold; hands or balloons that hide the mouth from the pose model are missed.",
    "Most training people are adults in daylight photos; grayscale, night-time infrared and crowds are thinly "
    "represented.",
)
KNOWN_CONFUSERS = (
    "balloon held close to or touching the face",
    "drinking from a cup or bottle",
    "smoking or vaping",
    "phone at the ear",
    "ball or round object at face height",
    "balloon on a string or held away (mostly rejected)",
)


@dataclass(frozen=True)
class ExportedFile:
    """One model file of an export with its card (JSON, Markdown) and signature (None when unsigned)."""

    model: Path
    card: Path
    card_markdown: Path
    signature: Path | None


@dataclass(frozen=True)
class ExportResult:
    """Paths written by an export: the ONNX file the detector runs, and the TorchScript file next to it."""

    model: Path
    card: Path
    card_markdown: Path
    signature: Path | None
    torchscript: ExportedFile


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """Read a PEM Ed25519 private key, refusing group- or world-readable key files."""
    path = path.expanduser()
    if path.stat().st_mode & 0o077:
        raise PermissionError(f"{path} is readable by group or others; chmod 600 it")
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise TypeError(f"{path} is not an Ed25519 private key")
    return key


def generate_signing_key(private_path: Path, public_path: Path) -> None:
    """Create an Ed25519 keypair: the private key (PEM, 0600) and its public key (PEM)."""
    private_path = private_path.expanduser()
    if private_path.exists():
        raise FileExistsError(f"{private_path} exists; refusing to overwrite a signing key")
    private_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    public_path.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def _probability_module(checkpoint: Path) -> tuple[TrainConfig, Probability]:
    state = load_checkpoint(checkpoint)
    config = TrainConfig.model_validate_json(state["config"])
    model = build_model(config.architecture, config.width, pretrained=False)
    model.load_state_dict(state["model"])
    return config, Probability(for_device(model.eval()), config.mirror_average).eval()


def script_checkpoint(checkpoint: Path, out: Path) -> TrainConfig:
    """Load a best-model checkpoint and save it as TorchScript returning probabilities (N,)."""
    config, wrapped = _probability_module(checkpoint)
    out.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # torch 2.14 flags TorchScript as deprecated; training keeps the file next to the ONNX one.
        warnings.simplefilter("ignore", FutureWarning)
        scripted = torch.jit.script(wrapped)
        scripted.save(str(out))  # type: ignore[no-untyped-call, unused-ignore]
        # Check the contract on the file itself, as it will be loaded again.
        loaded = torch.jit.load(str(out), map_location="cpu")  # type: ignore[no-untyped-call, unused-ignore]
    probe = loaded(torch.zeros(2, 3, config.spec.size_px, config.spec.size_px))
    if tuple(probe.shape) != (2,) or not bool(((probe >= 0) & (probe <= 1)).all()):
        raise RuntimeError(f"scripted model breaks the contract: output shape {tuple(probe.shape)}")
    return config


def checkpoint_to_onnx(checkpoint: Path, out: Path) -> float:
    """Write a best-model checkpoint as ONNX; returns its largest difference to the torch module (checked)."""
    config, wrapped = _probability_module(checkpoint)
    return export_onnx(OnnxProbability(wrapped.model, config.mirror_average).eval(), out, config.spec.size_px, wrapped)


def pretraining_sources(config: TrainConfig) -> tuple[DataSource, ...]:
    """The data the backbone's starting weights were trained on (none for a from-scratch backbone)."""
    return (PRETRAINING_SOURCE,) if config.architecture == PRETRAINED_ARCHITECTURE else ()


def describe_architecture(config: TrainConfig) -> str:
    """The card's one-line architecture: backbone, how it was initialised and what the scripted file computes."""
    if config.architecture == "compact-cnn":
        backbone = f"compact-cnn width {config.width} (from scratch, weights=None)"
    elif config.architecture == PRETRAINED_ARCHITECTURE:
        backbone = f"{PRETRAINED_ARCHITECTURE} (ImageNet weights from {WEIGHTS_PACKAGE}, fine-tuned)"
    else:
        backbone = f"{config.architecture} (from scratch, weights=None)"
    mirror = ", mean with the mirrored crop" if config.mirror_average else ""
    return f"{backbone} + sigmoid{mirror}"


FORMAT_NAMES: dict[ModelFormat, str] = {"onnx": "ONNX (opset 17)", "torchscript": "TorchScript"}


def card_for_file(card: ModelCard, path: Path, file_format: ModelFormat) -> ModelCard:
    """The same model's card for another file of it: file name, format and sha256 replaced, schema current."""
    architecture = card.architecture
    for name in FORMAT_NAMES.values():
        architecture = architecture.removesuffix(f"; {name}")
    return ModelCard.model_validate(
        card.model_dump(by_alias=True)
        | {
            "schema": CURRENT_SCHEMA,
            "file_name": path.name,
            "format": file_format,
            "sha256": sha256_file(path),
            "architecture": f"{architecture}; {FORMAT_NAMES[file_format]}",
        }
    )


def write_card(
    card: ModelCard, path: Path, key: Ed25519PrivateKey | None, extra: dict[str, Any] | None = None
) -> ExportedFile:
    """Write the card (JSON, Markdown) of the model file ``path`` and, with a key, its signature."""
    card_path = card_path_for(path)
    card_path.write_text(card.to_json())
    markdown = path.with_name(path.name + ".card.md")
    markdown.write_text(card_markdown(card, extra))
    signature = None
    if key is not None:
        signature = signature_path_for(path)
        signature.write_bytes(sign_card(card, key))
    return ExportedFile(model=path, card=card_path, card_markdown=markdown, signature=signature)


def card_markdown(card: ModelCard, extra: dict[str, Any] | None = None) -> str:
    """A human-readable model card."""
    lines = [
        f"# Model card: {card.id} {card.version}",
        "",
        f"- File: `{card.file_name}`, {FORMAT_NAMES[card.file_format]} (sha256 `{card.sha256}`)",
        f"- Created: {card.created_at.isoformat()}",
        f"- Architecture: {card.architecture}",
        f"- Input: {card.input.size_px}x{card.input.size_px} RGB crop `{card.input.crop_version}`, "
        f"mean {card.input.mean}, std {card.input.std}",
        f"- Operating threshold: **{card.threshold:.3f}**",
        "",
        "## Intended use",
        "",
        card.intended_use,
        "",
        "## Training data and provenance",
        "",
        "| source | images | licence | legal basis | collected | origin |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {s.name} | {s.images} | {s.licence} | {s.legal_basis} | {s.collected} | {s.origin} |"
        for s in card.training_data
    ]
    lines += ["", "## Metrics on the eval set", "", "| metric | value |", "| --- | --- |"]
    lines += [f"| {name} | {value:.4f} |" for name, value in sorted(card.metrics.items())]
    lines += [
        "",
        "## False-positive rate per category (real eval photos, per image)",
        "",
        "| category | FPR |",
        "| --- | --- |",
    ]
    lines += [f"| {name} | {value:.4f} |" for name, value in sorted(card.false_positive_rate_by_category.items())]
    lines += ["", "## Limitations", ""] + [f"- {item}" for item in card.limitations]
    lines += ["", "## Known confusers", ""] + [f"- {item}" for item in card.known_confusers]
    if extra:
        lines += ["", "## Details", "", "```json", json.dumps(extra, indent=2, sort_keys=True), "```"]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class CardInputs:
    """What the card says beyond the model file itself."""

    version: str
    training_data: tuple[DataSource, ...]
    metrics: dict[str, float]
    fpr_by_category: dict[str, float]
    threshold: float | None = None
    extra: dict[str, Any] | None = None


def export_model(
    checkpoint: Path, out: Path, inputs: CardInputs, signing_key: Path | None, created_at: datetime | None = None
) -> ExportResult:
    """Export a checkpoint as ONNX (for the detector) and TorchScript, each with its card and signature.

    Args:
        checkpoint: ``best.pt`` from ``train fit``.
        out: The model to write, e.g. ``detector/models/balloon-at-mouth.onnx``; the ONNX file gets this name
            with the suffix ``.onnx``, the TorchScript file the same name with ``.pt``.
        inputs: Version, provenance summary, metrics and (optionally) a threshold overriding the checkpoint's.
        signing_key: Ed25519 private key (PEM); None writes no signature.
        created_at: Card timestamp (defaults to now, UTC).
    """
    onnx_path, script_path = out.with_suffix(".onnx"), out.with_suffix(".pt")
    config = script_checkpoint(checkpoint, script_path)
    difference = checkpoint_to_onnx(checkpoint, onnx_path)
    state = load_checkpoint(checkpoint)
    threshold = inputs.threshold if inputs.threshold is not None else float(state["threshold"])
    card = ModelCard(
        schema_=CURRENT_SCHEMA,
        id=MODEL_ID,
        version=inputs.version,
        file_name=onnx_path.name,
        format="onnx",
        sha256=sha256_file(onnx_path),
        created_at=created_at or datetime.now(UTC).replace(microsecond=0),
        architecture=f"{describe_architecture(config)}; {FORMAT_NAMES['onnx']}",
        input=config.spec,
        threshold=threshold,
        baseline=False,
        intended_use=INTENDED_USE,
        # A pretrained backbone's own training data belongs in the summary too.
        training_data=inputs.training_data + pretraining_sources(config),
        metrics=inputs.metrics,
        false_positive_rate_by_category=inputs.fpr_by_category,
        limitations=LIMITATIONS,
        known_confusers=KNOWN_CONFUSERS,
    )
    key = load_private_key(signing_key) if signing_key is not None else None
    extra = (inputs.extra or {}) | {"onnx_max_difference_to_torch": difference}
    onnx = write_card(card, onnx_path, key, extra)
    scripted = write_card(card_for_file(card, script_path, "torchscript"), script_path, key, inputs.extra)
    log.info("exported %s and %s (threshold %.3f)", onnx_path, script_path, threshold)
    return ExportResult(
        model=onnx.model,
        card=onnx.card,
        card_markdown=onnx.card_markdown,
        signature=onnx.signature,
        torchscript=scripted,
    )


def convert_torchscript(script_path: Path, signing_key: Path | None) -> ExportResult:
    """Add the ONNX file to an exported TorchScript model whose checkpoint is gone (a shipped model).

    The weights do not change, so the card keeps everything (version, metrics, provenance, threshold, time);
    the ONNX file gets a card of its own, and the TorchScript card is rewritten in the current schema. Both are
    signed with ``signing_key`` (the previous signature may have come from a key that no longer exists).

    Args:
        script_path: the ``.pt`` file written by an earlier export, its card next to it.
        signing_key: Ed25519 private key (PEM); None writes no signature.

    Raises:
        ValueError: if the file's sha256 differs from its card.
        RuntimeError: if the ONNX file differs from the TorchScript file by more than the export tolerance.
    """
    from nitrosignal.modelcard import read_card
    from training.onnx_export import from_torchscript

    card = read_card(script_path)
    if sha256_file(script_path) != card.sha256:
        raise ValueError(f"{script_path} does not match its card's sha256; refusing to convert")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        scripted = torch.jit.load(str(script_path), map_location="cpu")  # type: ignore[no-untyped-call, unused-ignore]
    scripted.eval()
    onnx_path = script_path.with_suffix(".onnx")
    difference = export_onnx(from_torchscript(scripted), onnx_path, card.input.size_px, scripted)
    key = load_private_key(signing_key) if signing_key is not None else None
    onnx = write_card(
        card_for_file(card, onnx_path, "onnx"), onnx_path, key, {"onnx_max_difference_to_torch": difference}
    )
    script = write_card(card_for_file(card, script_path, "torchscript"), script_path, key)
    return ExportResult(
        model=onnx.model, card=onnx.card, card_markdown=onnx.card_markdown, signature=onnx.signature, torchscript=script
    )
