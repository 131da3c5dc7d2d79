"""Model registry: upload with a signed card, four-eyes approval, assignment, device download."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from fastapi.testclient import TestClient
from people_helpers import PeopleUser, add_camera  # type: ignore[import-not-found, unused-ignore]
from sqlalchemy.orm import Session, sessionmaker

from nitroplatform.auth.deps import Role
from nitroplatform.people.config import PeopleSettings
from nitrosignal.modelcard import CropSpec, ModelCard

MODEL_BYTES = b"torchscript model bytes for the test"


def _card(data: bytes = MODEL_BYTES, version: str = "1.0") -> ModelCard:
    return ModelCard(
        id="balloon-net",
        version=version,
        file_name="balloon.pt",
        sha256=hashlib.sha256(data).hexdigest(),
        created_at=datetime(2026, 11, 1, tzinfo=UTC),
        architecture="mobilenet",
        input=CropSpec(size_px=96, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), crop_version="v1"),
        threshold=0.7,
        intended_use="test",
    )


def _sign(card: ModelCard, key: Ed25519PrivateKey) -> bytes:
    return base64.b64encode(key.sign(card.canonical_json())) + b"\n"


@pytest.fixture
def signing_key(people_app: FastAPI, people_settings: PeopleSettings) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    people_app.state.people_settings = people_settings.model_copy(
        update={"trusted_model_keys": [base64.b64encode(raw).decode()]}
    )
    return key


def _upload(client: TestClient, user: PeopleUser, data: bytes, card: ModelCard, signature: bytes) -> int:
    files = {
        "file": ("balloon.pt", data),
        "card": ("balloon.pt.card.json", card.model_dump_json(by_alias=True)),
        "signature": ("balloon.pt.sig", signature),
    }
    response = client.post("/api/v1/models", files=files, headers=user.headers)
    return int(response.status_code)


# what is wrong with the upload → status
UPLOAD_TABLE: list[tuple[str, int]] = [
    ("untrusted_key", 422),
    ("tampered_card", 422),
    ("wrong_file", 422),
    ("garbage_signature", 422),
    ("good", 201),
]


def test_upload_checks_hash_and_signature(
    https_client: Callable[[], TestClient], make_user: Callable[..., PeopleUser], signing_key: Ed25519PrivateKey
) -> None:
    engineer = make_user("mila", Role.ml_engineer)
    client = https_client()
    for case, expected in UPLOAD_TABLE:
        card, data = _card(), MODEL_BYTES
        signature = _sign(card, signing_key)
        if case == "untrusted_key":
            signature = _sign(card, Ed25519PrivateKey.generate())
        elif case == "tampered_card":
            card = card.model_copy(update={"threshold": 0.1})
        elif case == "wrong_file":
            data = b"another file"
        elif case == "garbage_signature":
            signature = b"not base64 at all!"
        assert _upload(client, engineer, data, card, signature) == expected, case


def test_four_eyes_approval_assignment_and_device_fetch(
    https_client: Callable[[], TestClient],
    make_user: Callable[..., PeopleUser],
    signing_key: Ed25519PrivateKey,
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as db:
        add_camera(db, "cam-1")
        db.commit()
    engineer = make_user("mila", Role.ml_engineer, Role.privacy_officer)  # even holding both roles
    privacy = make_user("pim", Role.privacy_officer)
    admin = make_user("adam", Role.admin)
    client = https_client()
    card = _card()
    assert _upload(client, engineer, MODEL_BYTES, card, _sign(card, signing_key)) == 201
    model = client.get("/api/v1/models", headers=engineer.headers).json()[0]
    assert model["status"] == "pending"
    # Not yet approved: cannot be assigned, and devices cannot see it.
    assign = client.post(
        f"/api/v1/models/{model['id']}/assign", json={"camera_ids": ["cam-1"]}, headers=engineer.headers
    )
    assert assign.status_code == 409
    self_approval = client.post(f"/api/v1/models/{model['id']}/approve", headers=engineer.headers)
    assert self_approval.status_code == 403
    approved = client.post(f"/api/v1/models/{model['id']}/approve", headers=privacy.headers)
    assert approved.status_code == 200 and approved.json()["approved_by"] == "pim"
    assert client.post(f"/api/v1/models/{model['id']}/approve", headers=privacy.headers).status_code == 409
    assert client.post(
        f"/api/v1/models/{model['id']}/assign", json={"camera_ids": ["cam-1"]}, headers=engineer.headers
    ).json() == ["cam-1"]
    device_token = client.post(
        "/api/v1/users/adam/tokens", json={"name": "cam-1", "scope": "models:fetch"}, headers=admin.headers
    ).json()["token"]
    device = {"Authorization": f"Bearer {device_token}"}
    assigned = client.get("/api/v1/models/assigned/cam-1", headers=device).json()
    assert assigned["id"] == model["id"]
    file = client.get(f"/api/v1/models/{model['id']}/file", headers=device)
    assert file.content == MODEL_BYTES and file.headers["x-model-sha256"] == card.sha256
    fetched_card = ModelCard.model_validate_json(client.get(f"/api/v1/models/{model['id']}/card", headers=device).text)
    signature = base64.b64decode(client.get(f"/api/v1/models/{model['id']}/signature", headers=device).text)
    signing_key.public_key().verify(signature, fetched_card.canonical_json())  # raises if it does not verify


def test_duplicate_version_is_refused(
    https_client: Callable[[], TestClient], make_user: Callable[..., PeopleUser], signing_key: Ed25519PrivateKey
) -> None:
    engineer = make_user("mila", Role.ml_engineer)
    client = https_client()
    card = _card()
    assert _upload(client, engineer, MODEL_BYTES, card, _sign(card, signing_key)) == 201
    assert _upload(client, engineer, MODEL_BYTES, card, _sign(card, signing_key)) == 409
