"""Fixtures for the IAMA tests: a real database (SQLite, or PostgreSQL when configured) per test.

Each test runs inside one outer transaction that is rolled back at the end, so no test sees another's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from iama import service
from iama.config import IamaSettings
from iama.worked_example import load_example
from nitroplatform.db.engine import make_engine
from nitroplatform.db.models import Camera
from nitroplatform.db.models_registry import load_all_models

NOW = datetime(2027, 4, 1, 12, 0, tzinfo=UTC)


def add_camera(db: Session, camera_id: str, deployment_id: str | None = "demo") -> Camera:
    camera = Camera(
        id=camera_id,
        public_key=(camera_id + "k" * 40)[:40],
        name=camera_id,
        zones=["boulevard"],
        deployment_id=deployment_id,
    )
    db.add(camera)
    db.flush()
    return camera


def run_to_dpo_advice(db: Session, record_id: int) -> None:
    """Submit (alice), review everything acceptable (bob), DPO advice (dora), accept every risk (carol)."""
    service.submit(session=db, record_id=record_id, actor="alice")
    answers = service.answers_of(session=db, record_id=record_id)
    marks = [service.ReviewMark(question_id=qid, mark="acceptable") for qid in answers]
    service.review(session=db, record_id=record_id, actor="bob", marks=marks)
    service.finish_review(session=db, record_id=record_id, actor="bob")
    service.advise(session=db, record_id=record_id, actor="dora", opinion="positive", advice="Akkoord.")


def approve_all(db: Session, record_id: int, settings: IamaSettings, now: datetime = NOW) -> None:
    run_to_dpo_advice(db, record_id)
    record = service.get_record(session=db, record_id=record_id)
    for risk in service.residual_risks(session=db, record=record):
        service.decide_risk(session=db, record_id=record_id, actor="carol", position=risk.position, accept=True)
    service.approve(session=db, record_id=record_id, actor="carol", reasons="Proef akkoord", settings=settings, now=now)


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """SQLite in a temp folder, or a private schema on NITROSIGNAL_TEST_DATABASE_URL (dropped afterwards)."""
    base = os.environ.get("NITROSIGNAL_TEST_DATABASE_URL")
    if not base:
        made = make_engine(f"sqlite:///{tmp_path_factory.mktemp('iama-db') / 'iama.sqlite3'}")
        load_all_models().create_all(made)
        yield made
        made.dispose()
        return
    schema = f"t_iama_{uuid.uuid4().hex[:12]}"
    libpq = make_url(base).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    made = make_engine(url.render_as_string(hide_password=False))
    try:
        load_all_models().create_all(made)
        yield made
    finally:
        made.dispose()
        with psycopg.connect(libpq, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


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


AddCamera = Callable[..., Camera]
Approve = Callable[..., None]
ToDpoAdvice = Callable[[Session, int], None]


@pytest.fixture(name="add_camera")
def add_camera_fixture() -> AddCamera:
    """``add_camera(session, camera_id, deployment_id='demo')``."""
    return add_camera


@pytest.fixture(name="approve_all")
def approve_all_fixture() -> Approve:
    """``approve_all(session, record_id, settings, now=NOW)``: the full workflow with four people."""
    return approve_all


@pytest.fixture(name="run_to_dpo_advice")
def run_to_dpo_advice_fixture() -> ToDpoAdvice:
    """``run_to_dpo_advice(session, record_id)``."""
    return run_to_dpo_advice


@pytest.fixture
def now() -> datetime:
    """The fixed 'now' of these tests."""
    return NOW
