"""publish against the platform's real model registry app (SQLite): good key, wrong key, no token."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

pytest.importorskip("nitroplatform.api.app")

from fastapi.testclient import TestClient  # noqa: E402

from nitroplatform.api.app import create_app  # noqa: E402
from nitroplatform.auth.deps import Role  # noqa: E402
from nitroplatform.auth.tokens import issue_token  # noqa: E402
from nitroplatform.db.engine import make_engine  # noqa: E402
from nitroplatform.db.migrate import upgrade  # noqa: E402
from nitroplatform.db.models_registry import load_all_models  # noqa: E402
from nitroplatform.db.session import make_sessionmaker  # noqa: E402
from nitroplatform.people.config import PeopleSettings  # noqa: E402
from nitroplatform.people.service import create_user  # noqa: E402
from nitroplatform.settings import Settings  # noqa: E402
from nitrosignal.keys import generate_keypair  # noqa: E402
from nitrosignal.modelcard import read_card  # noqa: E402
from training.export import CardInputs, export_model, generate_signing_key  # noqa: E402
from training.model import build_model  # noqa: E402
from training.publish import PublishError, publish_model  # noqa: E402
from training.train import TrainConfig, save_checkpoint  # noqa: E402


@dataclass(frozen=True)
class Registry:
    client: TestClient
    token: str
    trusted_pub: Path


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    url = f"sqlite:///{tmp_path / 'platform.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    load_all_models().create_all(engine, checkfirst=True)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        user = create_user(session, username="mila", password=None, roles=[Role.ml_engineer], actor="test")
        token = issue_token(session, user_id=user.id, name="publish").raw
        session.commit()
    keys = generate_keypair(tmp_path / "server-keys", "platform")
    settings = Settings(
        environment="development",
        data_dir=tmp_path / "data",
        database_url=url,
        ingest_bind="tcp://127.0.0.1:0",
        server_secret_key_file=keys.secret_path,
        http_host="127.0.0.1",
        http_port=0,
        gating_mode="open",
    )
    app = create_app(settings, with_ingest=False)
    generate_signing_key(tmp_path / "trusted.key", tmp_path / "trusted.pub")
    app.state.people_settings = PeopleSettings(trusted_model_keys=[str(tmp_path / "trusted.pub")])
    with TestClient(app, base_url="https://testserver") as client:
        yield Registry(client, token, tmp_path / "trusted.pub")
    engine.dispose()


def _signed_model(tmp_path: Path, key: Path | None) -> Path:
    # The small from-scratch CNN: publishing does not depend on the backbone, and its file uploads quickly.
    config = TrainConfig(architecture="compact-cnn", frozen_blocks=0, epochs=1)
    checkpoint = tmp_path / "best.pt"
    torch.manual_seed(0)
    model = build_model(config.architecture, config.width)
    save_checkpoint(checkpoint, {"model": model.state_dict(), "threshold": 0.7, "config": config.model_dump_json()})
    inputs = CardInputs(version="0.0.1-test", training_data=(), metrics={}, fpr_by_category={})
    return export_model(checkpoint, tmp_path / "out" / "balloon-at-mouth.pt", inputs, key).model


@pytest.mark.parametrize(
    ("signer", "token_ok", "error"),
    [("trusted", True, None), ("other", True, "refused"), ("trusted", False, "refused"), (None, True, "missing")],
)
def test_publish_matrix(
    registry: Registry, tmp_path: Path, signer: str | None, token_ok: bool, error: str | None
) -> None:
    key = None
    if signer == "trusted":
        key = registry.trusted_pub.with_suffix(".key")
    elif signer == "other":
        generate_signing_key(tmp_path / "other.key", tmp_path / "other.pub")
        key = tmp_path / "other.key"
    model = _signed_model(tmp_path, key)
    token = registry.token if token_ok else "nst_wrong-token"
    if error is None:
        record = publish_model(model, "https://testserver", token, client=registry.client)
        assert record["status"] == "pending" and record["model_id"] == "balloon-at-mouth"
        # What the registry holds is the file the detector runs: the ONNX export, its sha256 from its card.
        assert record["file_name"] == "balloon-at-mouth.onnx" and record["sha256"] == read_card(model).sha256
    else:
        with pytest.raises(PublishError, match=error):
            publish_model(model, "https://testserver", token, client=registry.client)
