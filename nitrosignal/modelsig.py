"""Ed25519 signatures over model cards: read public keys and verify a card's ``<model>.sig``.

Shared by the detector (which refuses a model whose card is unsigned or signed by no trusted key) and
training (which signs with a private key that never enters the repository, see :mod:`training.export`).
The signature file holds base64 of the 64 raw Ed25519 bytes over
:meth:`nitrosignal.modelcard.ModelCard.canonical_json`; the card's sha256 ties it to the file.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from nitrosignal.modelcard import SIGNATURE_SUFFIX, ModelCard


class SignatureError(ValueError):
    """A signature that is missing, malformed or made by no trusted key."""


def signature_path_for(model_path: Path) -> Path:
    """Where the signature of a model file's card lives."""
    return model_path.with_name(model_path.name + SIGNATURE_SUFFIX)


def load_public_key(path: Path) -> Ed25519PublicKey:
    """Read a PEM Ed25519 public key.

    Raises:
        TypeError: if the file holds another kind of key.
        ValueError: if it is not a PEM public key.
    """
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise TypeError(f"{path} is not an Ed25519 public key")
    return key


def sign_card(card: ModelCard, key: Ed25519PrivateKey) -> bytes:
    """The signature file's content: base64 of the Ed25519 signature over the card's canonical JSON."""
    return base64.b64encode(key.sign(card.canonical_json())) + b"\n"


def _raw_signature(signature: bytes) -> bytes:
    if len(signature) == 64:
        return signature
    try:
        raw = base64.b64decode(signature.strip(), validate=True)
    except binascii.Error as error:
        raise SignatureError("the signature is not base64") from error
    if len(raw) != 64:
        raise SignatureError(f"an Ed25519 signature has 64 bytes, got {len(raw)}")
    return raw


def verify_card(card: ModelCard, signature: bytes, public_key: Ed25519PublicKey) -> None:
    """Check a card's signature (base64 text or 64 raw bytes) with one key; raises SignatureError if it fails."""
    try:
        public_key.verify(_raw_signature(signature), card.canonical_json())
    except InvalidSignature as error:
        raise SignatureError("the model card's signature does not verify with this public key") from error


def verify_card_with_any(card: ModelCard, signature: bytes, keys: Sequence[Ed25519PublicKey]) -> Ed25519PublicKey:
    """The first of ``keys`` that verifies the card's signature.

    Raises:
        SignatureError: if no key is given, the signature is malformed, or no key verifies it.
    """
    if not keys:
        raise SignatureError("no trusted model-signing key to check the signature with")
    raw = _raw_signature(signature)
    for key in keys:
        try:
            key.verify(raw, card.canonical_json())
        except InvalidSignature:
            continue
        return key
    raise SignatureError("the model card's signature does not verify with any trusted model-signing key")
