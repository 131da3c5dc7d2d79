"""Typed messages of the wire contract.

Every model forbids unknown fields and is frozen. Fields are chosen by an allow-list: nothing that could
identify a person (images, boxes, landmarks, coordinates, embeddings, long-lived track ids, free text from
the scene) has a field to travel in. Free text that does exist (a heartbeat's reason) is restricted to a
short machine vocabulary so that it cannot smuggle scene content either.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints

from nitrosignal.strict import StrictModel

ALERT_SCHEMA: Final = "nitrosignal.alert/1"
HEARTBEAT_SCHEMA: Final = "nitrosignal.heartbeat/1"
ACK_SCHEMA: Final = "nitrosignal.ack/1"

CameraId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$"),
    Field(description="Registered camera id, lower-case letters, digits, '.', '_' and '-'."),
]
ZoneName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=48, pattern=r"^[a-z0-9][a-z0-9._-]*$"),
    Field(description="Name of a zone from the camera's configuration; never a coordinate."),
]
MachineToken = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.:-]*$"),
]
Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


def _require_uuid4(value: uuid.UUID) -> uuid.UUID:
    if value.version != 4:
        raise ValueError(f"must be a version-4 uuid, got version {value.version}")
    return value


def _require_aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must carry a timezone offset (UTC recommended)")
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:  # 9999-12-31T23:59:59-01:00 lies beyond the last representable UTC time
        raise ValueError(f"is out of range in UTC: {exc}") from exc


def _require_whole_second(value: datetime) -> datetime:
    if value.microsecond != 0:
        raise ValueError("must be rounded to the whole second")
    return value


def _require_two_decimals(value: float) -> float:
    if round(value, 2) != value:
        raise ValueError(f"must have at most two decimals, got {value!r}")
    return value


TwoDecimals = Annotated[float, AfterValidator(_require_two_decimals)]
Uuid4 = Annotated[uuid.UUID, AfterValidator(_require_uuid4)]
AwareTime = Annotated[datetime, AfterValidator(_require_aware)]
SecondTime = Annotated[datetime, AfterValidator(_require_aware), AfterValidator(_require_whole_second)]


INT64_MAX: Final = 2**63 - 1
"""Every integer on the wire fits a signed 64-bit column (``BIGINT``) on SQLite and PostgreSQL alike."""


class WireModel(StrictModel):
    """Base of every wire message and its parts: strict, frozen, and no NaN or infinity."""

    # NaN and infinities compare false with every bound and cannot be stored meaningfully: refused outright.
    model_config = ConfigDict(allow_inf_nan=False)


class ModelRef(WireModel):
    """Which detection model produced a signal, so field precision can be tracked per version."""

    id: MachineToken = Field(description="Model family id, for example 'balloon-at-mouth'.")
    version: MachineToken = Field(description="Model version as published in the model registry.")
    sha256: Sha256Hex = Field(description="sha256 of the model file the device verified before loading.")


class AlertPhase(StrEnum):
    """Lifecycle of one incident on one camera."""

    NEW = "new"
    UPDATE = "update"
    END = "end"


class PeopleBucket(StrEnum):
    """Coarse count of people involved; exact counts are deliberately not sent."""

    ONE = "1"
    TWO_TO_FOUR = "2-4"
    FIVE_PLUS = "5+"


def people_bucket(count: int) -> PeopleBucket:
    """Map an exact head count to its bucket.

    Args:
        count: number of people taking part in the event, at least 1.

    Raises:
        ValueError: if ``count`` is below 1.
    """
    if count < 1:
        raise ValueError(f"people count must be at least 1, got {count}")
    if count == 1:
        return PeopleBucket.ONE
    if count <= 4:
        return PeopleBucket.TWO_TO_FOUR
    return PeopleBucket.FIVE_PLUS


class DeviceState(StrEnum):
    """What the detector is doing right now. 'No detection' and 'detector down' are never confused."""

    ACTIVE = "active"
    INACTIVE_SCHEDULE = "inactive_schedule"
    INACTIVE_GATED = "inactive_gated"
    DEGRADED = "degraded"
    ERROR = "error"


class _Envelope(WireModel):
    message_id: Uuid4 = Field(description="Random uuid4, unique per message.")
    camera_id: CameraId
    seq: int = Field(ge=1, le=INT64_MAX, description="Per-camera counter, strictly increasing, survives restarts.")
    sent_at: AwareTime = Field(description="When the device created the message (UTC).")


class Alert(_Envelope):
    """One confirmed event, or a change to it. Carries no image, position or identity of anyone."""

    schema_: Literal["nitrosignal.alert/1"] = Field(
        default=ALERT_SCHEMA, alias="schema", description="Schema name and major version."
    )
    incident_id: Uuid4 = Field(description="Stable across new/update/end of one event on this camera only.")
    phase: AlertPhase
    occurred_at: SecondTime = Field(description="When the event was confirmed, rounded to the second.")
    zone: ZoneName | None = Field(default=None, description="Named zone where it happened, if configured.")
    confidence: TwoDecimals = Field(ge=0.0, le=1.0, description="Calibrated probability, two decimals.")
    people_involved: PeopleBucket
    model: ModelRef
    expires_at: AwareTime = Field(description="The platform may auto-close the incident after this moment.")

    model_config = ConfigDict(populate_by_name=True)


class Heartbeat(_Envelope):
    """Periodic health report. States are explicit so that silence is never mistaken for 'all quiet'."""

    schema_: Literal["nitrosignal.heartbeat/1"] = Field(
        default=HEARTBEAT_SCHEMA, alias="schema", description="Schema name and major version."
    )
    state: DeviceState
    reason: MachineToken | None = Field(
        default=None, description="Machine-readable reason code for any state other than 'active'."
    )
    fps_in: float = Field(
        ge=0.0, le=1000.0, description="Frames read per second, averaged over the last heartbeat interval, whole."
    )
    fps_processed: float = Field(
        ge=0.0,
        le=1000.0,
        description="Frames analysed per second, averaged over the last heartbeat interval, rounded to a whole "
        "number: finer figures would follow the number of people in view.",
    )
    dropped_frames: int = Field(
        ge=0,
        le=INT64_MAX,
        description="Frames dropped by the bounded queue during the last heartbeat interval, rounded down to a "
        "power of ten (0, 1, 10, 100, ...).",
    )
    outbox_depth: int = Field(ge=0, le=INT64_MAX, description="Alerts waiting on the device for an ack.")
    model_version: MachineToken | None = Field(default=None, description="Loaded model version, if any.")
    uptime_s: int = Field(ge=0, le=INT64_MAX)
    config_hash: Sha256Hex = Field(
        description="HMAC-SHA256 of the camera config as written, keyed with a key derived from the camera's "
        "secret key (nitrosignal.confighash): identifies the config without revealing it."
    )

    model_config = ConfigDict(populate_by_name=True)


DeviceMessage = Annotated[Alert | Heartbeat, Field(discriminator="schema_")]


class AckResult(StrEnum):
    """What the platform did with a device message."""

    STORED = "stored"
    DUPLICATE = "duplicate"
    REFUSED = "refused"


class Ack(WireModel):
    """The platform's reply to one device message, sent only after the database commit."""

    schema_: Literal["nitrosignal.ack/1"] = Field(default=ACK_SCHEMA, alias="schema")
    camera_id: CameraId
    seq: int = Field(ge=0, le=INT64_MAX)
    result: AckResult
    reason: MachineToken | None = None
    gated: bool = Field(
        default=False, description="True while the camera's deployment lacks an approved, current IAMA."
    )

    model_config = ConfigDict(populate_by_name=True)


PlatformReply = Ack
