"""``nitrosignal train export``: TorchScript file, model card (JSON + Markdown), sha256 and Ed25519 signature.

The scripted module takes float (N, 3, S, S) normalised per the card's CropSpec and returns probabilities
(N,). The card's sha256 is that of the TorchScript file; the signature (``<model>.sig``, base64 of the 64
raw Ed25519 bytes) signs ``card.canonical_json()`` so a device or the registry can check both the card and,
through its sha256, the model. The private signing key lives outside the repository (by default
``~/.config/nitrosignal/model-signing.key``, mode 0600); only the public key is shipped.
"""

from __future__ import annotations

import base64
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
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from nitrosignal.modelcard import SIGNATURE_SUFFIX, DataSource, ModelCard, card_path_for, sha256_file
from training.efficientnet_lite import PRETRAINING_SOURCE, WEIGHTS_PACKAGE
from training.model import PRETRAINED_ARCHITECTURE, Probability, build_model, for_device
from training.train import TrainConfig, load_checkpoint

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


class SignatureError(ValueError):
    """A signature that does not verify."""


@dataclass(frozen=True)
class ExportResult:
    """Paths written by an export."""

    model: Path
    card: Path
    card_markdown: Path
    signature: Path | None


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """Read a PEM Ed25519 private key, refusing group- or world-readable key files."""
    path = path.expanduser()
    if path.stat().st_mode & 0o077:
        raise PermissionError(f"{path} is readable by group or others; chmod 600 it")
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise TypeError(f"{path} is not an Ed25519 private key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """Read a PEM Ed25519 public key."""
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise TypeError(f"{path} is not an Ed25519 public key")
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


def sign_card(card: ModelCard, key: Ed25519PrivateKey) -> bytes:
    """The signature file's content: base64 of the Ed25519 signature over the card's canonical JSON."""
    return base64.b64encode(key.sign(card.canonical_json())) + b"\n"


def verify_card(card: ModelCard, signature: bytes, public_key: Ed25519PublicKey) -> None:
    """Check a card's signature (base64 text or 64 raw bytes); raises SignatureError when it fails."""
    from cryptography.exceptions import InvalidSignature

    raw = signature if len(signature) == 64 else base64.b64decode(signature.strip(), validate=True)
    try:
        public_key.verify(raw, card.canonical_json())
    except InvalidSignature as error:
        raise SignatureError("the model card's signature does not verify with this public key") from error


def script_checkpoint(checkpoint: Path, out: Path) -> TrainConfig:
    """Load a best-model checkpoint and save it as TorchScript returning probabilities (N,)."""
    state = load_checkpoint(checkpoint)
    config = TrainConfig.model_validate_json(state["config"])
    model = build_model(config.architecture, config.width, pretrained=False)
    model.load_state_dict(state["model"])
    wrapped = Probability(for_device(model), config.mirror_average).eval()
    out.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # torch 2.14 flags TorchScript as deprecated; it is still the detector's classifier contract.
        warnings.simplefilter("ignore", FutureWarning)
        scripted = torch.jit.script(wrapped)
        scripted.save(str(out))  # type: ignore[no-untyped-call, unused-ignore]
        # Check the contract on the file itself, as the detector will load it.
        loaded = torch.jit.load(str(out), map_location="cpu")  # type: ignore[no-untyped-call, unused-ignore]
    probe = loaded(torch.zeros(2, 3, config.spec.size_px, config.spec.size_px))
    if tuple(probe.shape) != (2,) or not bool(((probe >= 0) & (probe <= 1)).all()):
        raise RuntimeError(f"scripted model breaks the contract: output shape {tuple(probe.shape)}")
    return config


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
    return f"{backbone} + sigmoid{mirror}; TorchScript"


def card_markdown(card: ModelCard, extra: dict[str, Any] | None = None) -> str:
    """A human-readable model card."""
    lines = [
        f"# Model card: {card.id} {card.version}",
        "",
        f"- File: `{card.file_name}` (sha256 `{card.sha256}`)",
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
    """Script a checkpoint and write its card (JSON, Markdown) and signature next to it.

    Args:
        checkpoint: ``best.pt`` from ``train fit``.
        out: The TorchScript file to write, e.g. ``detector/models/balloon-at-mouth.pt``.
        inputs: Version, provenance summary, metrics and (optionally) a threshold overriding the checkpoint's.
        signing_key: Ed25519 private key (PEM); None writes no signature.
        created_at: Card timestamp (defaults to now, UTC).
    """
    config = script_checkpoint(checkpoint, out)
    state = load_checkpoint(checkpoint)
    threshold = inputs.threshold if inputs.threshold is not None else float(state["threshold"])
    card = ModelCard(
        id=MODEL_ID,
        version=inputs.version,
        file_name=out.name,
        sha256=sha256_file(out),
        created_at=created_at or datetime.now(UTC).replace(microsecond=0),
        architecture=describe_architecture(config),
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
    card_path = card_path_for(out)
    card_path.write_text(json.dumps(card.model_dump(mode="json", by_alias=True), indent=2, sort_keys=True) + "\n")
    markdown = out.with_name(out.name + ".card.md")
    markdown.write_text(card_markdown(card, inputs.extra))
    signature = None
    if signing_key is not None:
        signature = out.with_name(out.name + SIGNATURE_SUFFIX)
        signature.write_bytes(sign_card(card, load_private_key(signing_key)))
    log.info("exported %s (sha256 %s, threshold %.3f)", out, card.sha256, threshold)
    return ExportResult(model=out, card=card_path, card_markdown=markdown, signature=signature)
