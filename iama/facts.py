"""Live system facts shown read-only beside the questions they answer, and hashed at approval.

Each fact source is a small function ``(session, deployment_id, settings) -> Fact``. A fact is
``drift_relevant`` when a change to it must trigger re-assessment (model, retention, cameras, schedules,
the alert schema); volatile facts (field precision, routing) are shown but never hashed.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Callable
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from iama.config import IamaSettings
from iama.schema import Text
from iama.storage.models import Deployment
from nitroplatform.db.models import Camera
from nitrosignal.modelcard import ModelCard, read_card
from nitrosignal.wire.messages import Alert
from nitrosignal.wire.schemas import render


class Fact(BaseModel):
    """One fact about the running system."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    title: Text
    source: str = Field(description="Where the value was read, so a reader can check it.")
    value: Any
    drift_relevant: bool


class FactSnapshot(BaseModel):
    """All facts of a deployment at one moment, with the sha256 of the drift-relevant ones."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    facts: list[Fact]
    sha256: str

    def by_key(self) -> dict[str, Fact]:
        """Facts keyed by their ``key``."""
        return {fact.key: fact for fact in self.facts}


def canonical_sha256(value: Any) -> str:
    """sha256 of the canonical JSON of ``value`` (sorted keys, no whitespace)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def _cameras(session: Session, deployment_id: str) -> list[Camera]:
    return list(session.scalars(select(Camera).where(Camera.deployment_id == deployment_id).order_by(Camera.id)))


def deployment_fact(session: Session, deployment_id: str, settings: IamaSettings) -> Fact:
    """Purpose, legal basis, period and operator as registered for the deployment."""
    deployment = session.get(Deployment, deployment_id)
    if deployment is None:
        raise KeyError(f"no deployment {deployment_id!r}")
    value = {
        "id": deployment.id,
        "name": deployment.name,
        "purpose": deployment.purpose,
        "legal_basis": deployment.legal_basis,
        "period": f"{deployment.period_start} – {deployment.period_end}",
        "operator": deployment.operator,
    }
    return Fact(
        key="deployment",
        title=Text(nl="Inzet", en="Deployment"),
        source="iama_deployments",
        value=value,
        drift_relevant=True,
    )


def cameras_fact(session: Session, deployment_id: str, settings: IamaSettings) -> Fact:
    """The cameras of the deployment: id, name, site and mounting location."""
    value = [
        {"id": cam.id, "name": cam.name, "site": cam.site, "latitude": cam.latitude, "longitude": cam.longitude}
        for cam in _cameras(session, deployment_id)
    ]
    return Fact(
        key="cameras", title=Text(nl="Camera's", en="Cameras"), source="cameras", value=value, drift_relevant=True
    )


def masks_zones_fact(session: Session, deployment_id: str, settings: IamaSettings) -> Fact:
    """Named zones per camera. Masks are applied on the device; the heartbeat's config hash proves which."""
    value = [
        {"camera": cam.id, "zones": sorted(cam.zones or []), "device_config_hash": cam.config_hash}
        for cam in _cameras(session, deployment_id)
    ]
    # The config hash is shown but not hashed: it only appears after the first heartbeat.
    hashed = [{"camera": item["camera"], "zones": item["zones"]} for item in value]
    return Fact(
        key="masks_zones",
        title=Text(nl="Zones en privacymaskers", en="Zones and privacy masks"),
        source="cameras.zones, cameras.config_hash (heartbeat)",
        value={"cameras": value, "hashed": hashed},
        drift_relevant=True,
    )


def schedules_fact(session: Session, deployment_id: str, settings: IamaSettings) -> Fact:
    """The published schedule summary per camera (transparency table of the platform)."""
    try:
        transparency = importlib.import_module("nitroplatform.people.record_models").CameraTransparency
    except ModuleNotFoundError:
        return Fact(
            key="schedules",
            title=Text(nl="Tijdvensters", en="Schedules"),
            source="not available: the platform has no transparency table",
            value=None,
            drift_relevant=True,
        )
    value = {}
    for cam in _cameras(session, deployment_id):
        row = session.get(transparency, cam.id)
        value[cam.id] = row.schedule_summary if row is not None else ""
    return Fact(
        key="schedules",
        title=Text(nl="Tijdvensters", en="Schedules"),
        source="people_camera_transparency.schedule_summary",
        value=value,
        drift_relevant=True,
    )


def _card_summary(card: ModelCard) -> dict[str, Any]:
    return {
        "id": card.id,
        "version": card.version,
        "sha256": card.sha256,
        "baseline": card.baseline,
        "threshold": card.threshold,
        "metrics": card.metrics,
        "false_positive_rate_by_category": card.false_positive_rate_by_category,
        "training_data": [source.model_dump(mode="json") for source in card.training_data],
        "limitations": list(card.limitations),
        "known_confusers": list(card.known_confusers),
    }


def model_card_fact(session: Session, deployment_id: str, settings: IamaSettings) -> Fact:
    """The model each camera runs: its registry assignment, else the configured model file's card."""
    assigned: dict[str, ModelCard] = {}
    try:
        records = importlib.import_module("nitroplatform.people.record_models")
    except ModuleNotFoundError:
        records = None
    cameras = _cameras(session, deployment_id)
    if records is not None:
        for cam in cameras:
            assignment = session.get(records.ModelAssignment, cam.id)
            if assignment is not None:
                model = session.get(records.RegisteredModel, assignment.model_pk)
                if model is not None:
                    assigned[cam.id] = ModelCard.model_validate_json(model.card_json)
    default_card = read_card(settings.model_path) if settings.model_path is not None else None
    value = {}
    for cam in cameras:
        card = assigned.get(cam.id, default_card)
        value[cam.id] = _card_summary(card) if card is not None else None
    return Fact(
        key="model_card",
        title=Text(nl="Modelkaart", en="Model card"),
        source="people_model_assignments + model card" + (f"; default {settings.model_path}" if default_card else ""),
        value=value,
        drift_relevant=True,
    )


@cache
def _alert_schema() -> dict[str, Any]:
    # The wire contract is fixed for the life of the process; render it once.
    schema: dict[str, Any] = json.loads(render(Alert))
    return schema


def alert_schema_fact(session: Session, deployment_id: str, settings: IamaSettings) -> Fact:
    """The exact JSON Schema of an alert: everything a camera can ever send about an event."""
    schema = _alert_schema()
    return Fact(
        key="alert_schema",
        title=Text(nl="Alertschema (alles wat een camera verstuurt)", en="Alert schema (all a camera sends)"),
        source="nitrosignal.wire.schemas.render(Alert)",
        value={"fields": sorted(schema.get("properties", {})), "sha256": canonical_sha256(schema), "schema": schema},
        drift_relevant=True,
    )


def retention_fact(session: Session, deployment_id: str, settings: IamaSettings) -> Fact:
    """How long alerts and incidents are kept, and whether gating is on."""
    platform_settings = importlib.import_module("nitroplatform.settings").get_settings()
    days = settings.retention_days if settings.retention_days is not None else platform_settings.retention_days
    return Fact(
        key="retention",
        title=Text(nl="Bewaartermijn", en="Retention"),
        source="NITROSIGNAL_RETENTION_DAYS / NITROSIGNAL_GATING_MODE",
        value={"retention_days": days, "gating_mode": platform_settings.gating_mode, "images_stored": False},
        drift_relevant=True,
    )


def field_precision_fact(session: Session, deployment_id: str, settings: IamaSettings) -> Fact:
    """Field precision per model version from officers' outcomes, when the platform computes it."""
    title = Text(nl="Precisie in het veld", en="Field precision")
    try:
        precision = importlib.import_module("nitroplatform.precision")
    except ModuleNotFoundError:
        return Fact(key="field_precision", title=title, source="not available", value=None, drift_relevant=False)
    compute = getattr(precision, "field_precision", None)
    if not callable(compute):
        return Fact(key="field_precision", title=title, source="not available", value=None, drift_relevant=False)
    camera_ids = {cam.id for cam in _cameras(session, deployment_id)}
    rows = compute(session, camera_ids=camera_ids)
    value = [row.model_dump(mode="json") if isinstance(row, BaseModel) else row for row in rows]
    return Fact(key="field_precision", title=title, source="nitroplatform.precision", value=value, drift_relevant=False)


def routing_fact(session: Session, deployment_id: str, settings: IamaSettings) -> Fact:
    """Which team is notified for the deployment's cameras (routes matching them or catch-all)."""
    title = Text(nl="Melding en routering", en="Notification and routing")
    try:
        route_model = importlib.import_module("nitroplatform.people.dispatch_models").Route
    except ModuleNotFoundError:
        return Fact(key="routing", title=title, source="not available", value=None, drift_relevant=False)
    camera_ids = {cam.id for cam in _cameras(session, deployment_id)}
    value = [
        {
            "name": route.name,
            "team_id": route.team_id,
            "camera_id": route.camera_id,
            "zone": route.zone,
            "weekdays": route.weekdays,
            "start_minute": route.start_minute,
            "end_minute": route.end_minute,
        }
        for route in session.scalars(select(route_model).order_by(route_model.priority, route_model.id))
        if route.camera_id is None or route.camera_id in camera_ids
    ]
    return Fact(key="routing", title=title, source="people_routes", value=value, drift_relevant=False)


FactSource = Callable[[Session, str, IamaSettings], Fact]
# Sources whose facts are hashed at approval and compared for drift.
DRIFT_SOURCES: tuple[FactSource, ...] = (
    deployment_fact,
    cameras_fact,
    model_card_fact,
    alert_schema_fact,
    retention_fact,
    schedules_fact,
    masks_zones_fact,
)
# Shown beside the questions, never hashed: they change all the time (outcomes, rosters).
VOLATILE_SOURCES: tuple[FactSource, ...] = (field_precision_fact, routing_fact)
FACT_SOURCES: tuple[FactSource, ...] = DRIFT_SOURCES + VOLATILE_SOURCES


def hashed_value(fact: Fact) -> Any:
    """The part of a fact's value that is hashed and compared for drift."""
    if isinstance(fact.value, dict) and "hashed" in fact.value:
        return fact.value["hashed"]
    if fact.key == "alert_schema":
        return fact.value["sha256"]
    return fact.value


def collect_facts(
    session: Session, *, deployment_id: str, settings: IamaSettings, include_volatile: bool = True
) -> FactSnapshot:
    """Collect the facts of a deployment and hash the drift-relevant ones.

    Args:
        session: database session.
        deployment_id: the deployment.
        settings: IAMA settings (model path, retention override).
        include_volatile: also collect field precision and routing; the gate leaves them out, since they
            never change the hash and cost queries on every decision.
    """
    sources = FACT_SOURCES if include_volatile else DRIFT_SOURCES
    facts = [source(session, deployment_id, settings) for source in sources]
    relevant = {fact.key: hashed_value(fact) for fact in facts if fact.drift_relevant}
    return FactSnapshot(facts=facts, sha256=canonical_sha256(relevant))
