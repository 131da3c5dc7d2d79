"""Gating enforced by the platform's real ingest handler with the IAMA policy.

Alerts from a camera of a deployment without an approved IAMA are refused as ``gated``; after approval
they are stored; when the camera reports a model version that was not assessed, they are refused again.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from iama import service
from iama.config import IamaSettings
from iama.gating import IamaGatePolicy
from iama.worked_example import load_example
from nitroplatform.db.engine import make_engine
from nitroplatform.db.migrate import upgrade
from nitroplatform.db.models import Camera
from nitroplatform.db.session import make_sessionmaker
from nitroplatform.incidents.publish import IncidentPublisher
from nitroplatform.ingest.auth import CameraKeyCache
from nitroplatform.ingest.handler import Inbound, IngestHandler
from nitroplatform.ingest.metrics import PlatformMetrics
from nitroplatform.live.bus import LiveBus
from nitroplatform.settings import Settings
from nitrosignal.wire import Ack, Alert, Heartbeat, decode_reply, encode

KEY = "k" * 40
CARD = json.loads((Path(__file__).parents[2] / "detector/models/balloon-at-mouth.pt.card.json").read_text())


@pytest.fixture
def factory(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    url = f"sqlite:///{tmp_path / 'ingest.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    made = make_sessionmaker(engine)
    with made.begin() as db:
        db.add(Camera(id="cam-1", public_key=KEY, name="Boulevard", zones=["boulevard"], deployment_id="demo"))
    yield made
    engine.dispose()


def alert(seq: int) -> Alert:
    now = datetime.now(UTC)
    return Alert.model_validate(
        {
            "message_id": uuid.uuid4(),
            "camera_id": "cam-1",
            "seq": seq,
            "sent_at": now,
            "incident_id": uuid.uuid4(),
            "phase": "new",
            "occurred_at": now.replace(microsecond=0),
            "zone": "boulevard",
            "confidence": 0.9,
            "people_involved": "1",
            "model": {"id": CARD["id"], "version": CARD["version"], "sha256": CARD["sha256"]},
            "expires_at": now + timedelta(minutes=5),
        }
    )


def heartbeat(seq: int, model_version: str) -> Heartbeat:
    return Heartbeat.model_validate(
        {
            "message_id": uuid.uuid4(),
            "camera_id": "cam-1",
            "seq": seq,
            "sent_at": datetime.now(UTC),
            "state": "active",
            "fps_in": 10.0,
            "fps_processed": 9.5,
            "dropped_frames": 0,
            "outbox_depth": 0,
            "model_version": model_version,
            "uptime_s": 12,
            "config_hash": "b" * 64,
        }
    )


def send(handler: IngestHandler, message: Any) -> Ack:
    replies = handler.handle([Inbound(envelope=[b"peer"], payload=encode(message), user_id=KEY)])
    assert len(replies) == 1
    reply = decode_reply(replies[0].reply)
    assert isinstance(reply, Ack)
    return reply


def test_ingest_accepts_alerts_only_under_an_approved_current_iama(
    factory: sessionmaker[Session], tmp_path: Path, approve_all: Callable[..., None]
) -> None:
    model = Path(__file__).parents[2] / "detector/models/balloon-at-mouth.pt"
    iama_settings = IamaSettings(model_path=model, retention_days=28)
    keys = CameraKeyCache(factory)
    keys.reload()
    handler = IngestHandler(
        settings=Settings(environment="development", data_dir=tmp_path, gating_mode="iama"),
        factory=factory,
        key_cache=keys,
        gate=IamaGatePolicy(iama_settings),
        metrics=PlatformMetrics(),
        publisher=IncidentPublisher(bus=LiveBus(buffer_size=64)),
    )
    first = send(handler, alert(1))
    assert (first.result, first.reason, first.gated) == ("refused", "gated", True)

    example = load_example()
    with factory.begin() as db:
        service.create_deployment(session=db, deployment=example.deployment)
        record = service.create_record(
            session=db, deployment_id="demo", questionnaire_id=example.questionnaire_id, author="alice"
        )
        service.set_answers(session=db, record_id=record.id, answers=example.answers, actor="alice")
        approve_all(db, record.id, iama_settings, datetime.now(UTC))
    assert send(handler, heartbeat(2, CARD["version"])).gated is False
    stored = send(handler, alert(3))
    assert (stored.result, stored.gated) == ("stored", False)

    # The device now runs a model nobody assessed. The gate is decided before a heartbeat is stored, so the
    # heartbeat that reports the new version is still acked open; from then on alerts are refused and the
    # next heartbeat tells the device it is gated.
    assert send(handler, heartbeat(4, "0.2.0")).result == "stored"
    refused = send(handler, alert(5))
    assert (refused.result, refused.reason, refused.gated) == ("refused", "gated", True)
    assert send(handler, heartbeat(6, "0.2.0")).gated is True
