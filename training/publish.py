"""``nitrosignal train publish``: upload model, card and signature to the platform's model registry.

``POST /api/v1/models`` (multipart: ``file``, ``card``, ``signature``) with a Bearer API token of an
``ml_engineer``. The platform checks the sha256 and the signature against its trusted keys and registers the
model as pending; a different person approves it before any camera can fetch it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from nitrosignal.modelcard import SIGNATURE_SUFFIX, card_path_for, read_card, sha256_file

MODELS_ENDPOINT = "/api/v1/models"


class PublishError(RuntimeError):
    """The registry refused the upload, or the files are inconsistent."""


def publish_model(model: Path, base_url: str, token: str, client: httpx.Client | None = None) -> dict[str, Any]:
    """Upload a signed model to the registry.

    Args:
        model: The TorchScript file; its card and signature must sit next to it.
        base_url: Platform URL, e.g. ``https://nitrosignal.example.nl``.
        token: API token (Bearer) of an ml_engineer.
        client: An httpx client to use (tests pass one bound to the app); a new one otherwise.

    Returns:
        The registry's record of the model (JSON).

    Raises:
        PublishError: On a missing signature, a card that does not match the file, or a refusal by the registry.
    """
    card_path = card_path_for(model)
    signature = model.with_name(model.name + SIGNATURE_SUFFIX)
    for path in (model, card_path, signature):
        if not path.is_file():
            raise PublishError(f"missing {path}; export with a signing key first")
    card = read_card(model)
    if card.sha256 != sha256_file(model):
        raise PublishError(f"{card_path} does not describe {model} (sha256 differs)")
    files = {
        "file": (model.name, model.read_bytes(), "application/octet-stream"),
        "card": (card_path.name, card_path.read_bytes(), "application/json"),
        "signature": (signature.name, signature.read_bytes(), "text/plain"),
    }
    own = client is None
    http = client or httpx.Client(base_url=base_url, timeout=60.0)
    try:
        response = http.post(MODELS_ENDPOINT, files=files, headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as error:
        raise PublishError(f"cannot reach the registry at {base_url}: {error}") from error
    finally:
        if own:
            http.close()
    if response.status_code != 201:
        raise PublishError(f"registry refused the upload ({response.status_code}): {response.text[:500]}")
    result: dict[str, Any] = response.json()
    return result
