"""Fixtures for the IAMA tests: a real database (SQLite, or PostgreSQL when configured) per test.

Each test runs inside one outer transaction that is rolled back at the end, so no test sees another's rows.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from iama_testlib import add_camera
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from iama import service
from iama.config import IamaSettings
from iama.worked_example import load_example
from nitroplatform.db.engine import make_engine
from nitroplatform.db.models_registry import load_all_models


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    url = os.environ.get("NITROSIGNAL_TEST_DATABASE_URL") or (
        f"sqlite:///{tmp_path_factory.mktemp('iama-db') / 'iama.sqlite3'}"
    )
    made = make_engine(url)
    metadata = load_all_models()
    metadata.create_all(made)
    yield made
    made.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    connection = engine.connect()
    outer = connection.begin()
    db = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield db
    finally:
        db.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def settings(tmp_path: Path) -> IamaSettings:
    return IamaSettings(validity_days=365, retention_days=28)


@pytest.fixture
def filled_record(session: Session) -> int:
    """The worked example as a complete draft for deployment 'demo' with camera cam-1, author 'alice'."""
    example = load_example()
    service.create_deployment(session=session, deployment=example.deployment)
    add_camera(session, "cam-1")
    record = service.create_record(
        session=session, deployment_id="demo", questionnaire_id=example.questionnaire_id, author="alice"
    )
    service.set_answers(session=session, record_id=record.id, answers=example.answers, actor="alice")
    return record.id
