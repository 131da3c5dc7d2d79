"""Helpers shared by the IAMA tests (a uniquely named module, so it never clashes with other conftests)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from iama import service
from iama.config import IamaSettings
from nitroplatform.db.models import Camera

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
