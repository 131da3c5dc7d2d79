"""Size limits: every free-text field of the API has a maximum, and the app caps every request body.

Before, a 5 MB IAMA comment was accepted and stored. The reverse proxy's own cap (deploy/platform/Caddyfile) is
tested behind a real Caddy in test_security_proxy.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from nitroplatform.api.routes.iama import COMMENT_MAX
from nitroplatform.auth.deps import Role
from nitroplatform.auth.tokens import issue_token
from nitroplatform.people.service import create_user

# Inputs the per-field rule does not cover, and what bounds them instead.
EXEMPT = {
    # The model upload's three files: bounded by NITROSIGNAL_PEOPLE_MODEL_MAX_BYTES (and the card and signature are
    # parsed and checked against the file before anything is stored).
    "POST /api/v1/models (multipart/form-data)",
    # The lossless IAMA exchange format (an export imported again): bounded as a whole by the request body cap, its
    # texts by the limits under which they were entered.
    "POST /api/v1/iama/records/import (application/json)",
    # A reconnecting stream's position: the live stream reads only an event number from it (api/routes/stream.py).
    "GET /api/v1/stream ?last_event_id",
}


def _problems(spec: dict[str, Any]) -> list[str]:
    components = spec.get("components", {}).get("schemas", {})
    problems: list[str] = []

    def walk(schema: dict[str, Any], where: str, seen: frozenset[str]) -> None:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                walk(components[name], f"{where} {name}", seen | {name})
            return
        for key in ("anyOf", "oneOf", "allOf"):
            for sub in schema.get(key, []):
                walk(sub, where, seen)
        kind = schema.get("type")
        free = not any(key in schema for key in ("enum", "const")) and schema.get("format") not in (
            "uuid",
            "date-time",
            "date",
            "time",
        )
        if kind == "string" and free and "maxLength" not in schema:
            problems.append(f"{where}: string without maxLength")
        if kind == "array":
            if "maxItems" not in schema:
                problems.append(f"{where}: array without maxItems")
            walk(schema.get("items", {}), f"{where}[]", seen)
        for name, sub in schema.get("properties", {}).items():
            walk(sub, f"{where}.{name}", seen)
        extra = schema.get("additionalProperties")
        if extra not in (None, False) and "maxProperties" not in schema:
            problems.append(f"{where}: object without maxProperties")
        if isinstance(extra, dict):
            walk(extra, f"{where}{{}}", seen)

    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for content_type, media in operation.get("requestBody", {}).get("content", {}).items():
                where = f"{method.upper()} {path} ({content_type})"
                if where not in EXEMPT:
                    walk(media["schema"], where, frozenset())
            for parameter in operation.get("parameters", []):
                where = f"{method.upper()} {path} ?{parameter['name']}"
                if parameter["in"] == "query" and where not in EXEMPT:
                    walk(parameter.get("schema", {}), where, frozenset())
    return problems


def test_every_free_text_input_has_a_maximum(app_factory: Callable[..., FastAPI]) -> None:
    spec = app_factory(with_ingest=False).openapi()
    assert len(spec["paths"]) > 60
    problems = _problems(spec)
    assert not problems, "inputs without a size limit:\n" + "\n".join(sorted(set(problems)))


@pytest.fixture
def privacy_client(
    app_factory: Callable[..., FastAPI], session_factory: sessionmaker[Session]
) -> Iterator[tuple[TestClient, dict[str, str], int]]:
    """A client, a privacy officer's auth headers, and the id of a real IAMA record (the worked example)."""
    with session_factory() as db:
        user = create_user(db, username="pia", password=None, roles=[Role.privacy_officer], actor="test")
        headers = {"Authorization": f"Bearer {issue_token(db, user_id=user.id, name='t').raw}"}
        db.commit()
    with TestClient(app_factory(with_ingest=False), base_url="https://testserver") as client:
        record = client.post("/api/v1/iama/example", headers=headers)
        assert record.status_code == 201, record.text
        yield client, headers, record.json()["id"]


# (comment length, how it is sent, expected status)
COMMENT_TABLE = [
    (COMMENT_MAX, "json", 201),
    (COMMENT_MAX + 1, "json", 422),
    (5_000_000, "json", 413),
    (5_000_000, "chunked", 413),  # no Content-Length: counted as it arrives and cut off
]


@pytest.mark.parametrize(("length", "how", "expected"), COMMENT_TABLE)
def test_an_iama_comment_is_bounded(
    privacy_client: tuple[TestClient, dict[str, str], int], length: int, how: str, expected: int
) -> None:
    client, headers, record_id = privacy_client
    path = f"/api/v1/iama/records/{record_id}/comments"
    body = {"body": "x" * length, "question_id": ""}
    if how == "json":
        response = client.post(path, json=body, headers=headers)
    else:
        raw = json.dumps(body).encode()
        chunks = (raw[start : start + 65536] for start in range(0, len(raw), 65536))
        response = client.post(path, content=chunks, headers=headers | {"Content-Type": "application/json"})
    assert response.status_code == expected, response.text[:300]
    if expected == 413:
        assert response.json()["error"]["code"] == "payload_too_large"


def test_a_model_upload_may_be_larger_than_other_bodies(
    privacy_client: tuple[TestClient, dict[str, str], int], session_factory: sessionmaker[Session]
) -> None:
    """Only the model upload gets the larger cap (the people settings' model size): 2 MB passes the body cap and is
    judged by the upload itself (an unsigned junk model: 422), while 2 MB anywhere else is 413."""
    client, _, _ = privacy_client
    with session_factory() as db:
        user = create_user(db, username="mel", password=None, roles=[Role.ml_engineer], actor="test")
        headers = {"Authorization": f"Bearer {issue_token(db, user_id=user.id, name='t').raw}"}
        db.commit()
    files = {"file": ("m.pt", b"x" * 2_000_000), "card": ("m.card.json", b"{}"), "signature": ("m.sig", b"AA==")}
    assert client.post("/api/v1/models", files=files, headers=headers).status_code == 422
    assert client.post("/api/v1/teams", content=b"x" * 2_000_000, headers=headers).status_code == 413
