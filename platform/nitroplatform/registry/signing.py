"""Verify a model card's Ed25519 signature against the platform's trusted public keys.

The signature is base64 of the 64 raw Ed25519 bytes over ``ModelCard.canonical_json()``, exactly as
``training.export.sign_card`` writes it next to the model (``<model>.sig``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from nitrosignal.modelcard import ModelCard


class SignatureError(ValueError):
    """The signature is malformed or made by no trusted key."""


def load_trusted_keys(entries: Sequence[str]) -> list[Ed25519PublicKey]:
    """Parse configured trusted keys: PEM file paths or base64 raw 32-byte keys. Bad entries are errors."""
    keys: list[Ed25519PublicKey] = []
    for entry in entries:
        path = Path(entry)
        if entry.endswith(".pem") or path.is_file():
            key = serialization.load_pem_public_key(path.read_bytes())
            if not isinstance(key, Ed25519PublicKey):
                raise ValueError(f"{path} is not an Ed25519 public key")
            keys.append(key)
            continue
        try:
            raw = base64.b64decode(entry, validate=True)
        except binascii.Error as error:
            raise ValueError(f"trusted model key {entry[:12]}... is neither a PEM path nor base64") from error
        keys.append(Ed25519PublicKey.from_public_bytes(raw))
    return keys


def raw_public(key: Ed25519PublicKey) -> str:
    """base64 of the raw 32-byte public key, to record which key verified a card."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def verify_signature(card: ModelCard, signature: bytes, trusted: Sequence[Ed25519PublicKey]) -> Ed25519PublicKey:
    """Return the trusted key that verifies ``signature`` over the card, or raise SignatureError."""
    if not trusted:
        raise SignatureError("no trusted model-signing keys are configured (NITROSIGNAL_PEOPLE_TRUSTED_MODEL_KEYS)")
    text = signature.strip()
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error as error:
        raise SignatureError("the signature is not base64") from error
    if len(raw) != 64:
        raise SignatureError(f"an Ed25519 signature has 64 bytes, got {len(raw)}")
    message = card.canonical_json()
    for key in trusted:
        try:
            key.verify(raw, message)
        except InvalidSignature:
            continue
        return key
    raise SignatureError("the model card's signature does not verify with any trusted key")
