"""``config_hash``: a keyed digest of a camera config, computed the same way on the device and at provisioning.

A camera config may hold secrets (an RTSP or HTTP URL with a password or token) and the places of privacy
masks. A plain sha256 of it, sent in every heartbeat and stored by the platform, lets anyone who reads
the hash test guesses offline: a weak RTSP password falls to a dictionary in seconds. So the hash is an
**HMAC-SHA256 keyed with a key derived from the camera's CURVE secret key**, which only the device (and
provisioning, which creates that key) ever holds:

    key         = HMAC-SHA256(key=b"nitrosignal/config_hash/v1", message=<Z85 text of the camera's secret key>)
    config_hash = HMAC-SHA256(key=key, message=<canonical JSON of the config document>).hexdigest()

Keying was chosen over leaving secrets out because an allow- or deny-list of "secret" fields silently
misses the next field that carries one (a token in a URL's query, a new source type); keying protects
every field, also the mask and zone polygons.

The message is the config **document as written** (the YAML parsed to plain data), canonicalised as JSON
with sorted keys and no whitespace, so comments, key order and formatting do not change the hash, and
relative paths stay relative (the bundle's folder and ``/etc/nitrosignal`` give the same value). Defaults
are not filled in: writing a default value explicitly is a change of the document and changes the hash.

Standard library only (plus PyYAML for :func:`config_hash_of_yaml`), so the platform's provisioning can
compute the value it registers without the detector's dependencies.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

import yaml

_KEY_LABEL = b"nitrosignal/config_hash/v1"
_Z85_KEY_LENGTH = 40


def _plain(value: Any) -> Any:
    """The document as JSON-ready plain data; refuses what JSON cannot represent unambiguously."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"config value of type {type(value).__name__} has no canonical JSON form")


def canonical_json(document: Mapping[str, Any]) -> bytes:
    """The canonical bytes of a config document: sorted keys, no whitespace, UTF-8.

    A non-finite float (YAML's ``.inf``) is written as JSON's common extension (``Infinity``), so every
    document the detector accepts has a hash.

    Raises:
        TypeError: for a value without a JSON form.
    """
    return json.dumps(_plain(document), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _device_key(secret_z85: bytes) -> bytes:
    if len(secret_z85) != _Z85_KEY_LENGTH:
        raise ValueError(f"expected the camera's Z85 CURVE secret key (40 characters), got {len(secret_z85)} bytes")
    # A derived key, so the CURVE secret itself is never used as a MAC key in another construction.
    return hmac.new(_KEY_LABEL, secret_z85, hashlib.sha256).digest()


def config_hash(document: Mapping[str, Any], secret_z85: bytes) -> str:
    """The keyed config hash (64 hex characters) of a config document for the camera with this secret key.

    Args:
        document: the camera config as plain data (the YAML file parsed with ``yaml.safe_load``, or the
            dictionary provisioning dumps into ``camera.yaml``).
        secret_z85: the camera's CURVE secret key, Z85-encoded (``nitrosignal.keys.KeyPair.secret``).

    Raises:
        ValueError: if the key is not a 40-character Z85 key.
        TypeError: if the document holds a value without a JSON form.
    """
    return hmac.new(_device_key(secret_z85), canonical_json(document), hashlib.sha256).hexdigest()


def config_hash_of_yaml(text: str | bytes, secret_z85: bytes) -> str:
    """:func:`config_hash` of a YAML config document.

    Raises:
        ValueError: if the YAML is not a mapping (or as :func:`config_hash`).
        yaml.YAMLError: if the YAML does not parse.
    """
    document = yaml.safe_load(text)
    if not isinstance(document, Mapping):
        raise ValueError("a camera config is a mapping of settings")
    return config_hash(document, secret_z85)
