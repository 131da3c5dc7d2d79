"""The camera's configuration: one YAML file, one strict model (:class:`CameraConfig`).

It is made of the stages' own config models (source, schedule, privacy masks, motion gate, analysis) and
the device's link, outbox and metrics settings. Every model forbids unknown keys, so a typo is an error
rather than a silently ignored setting, and each ``Field(description=...)`` is the user documentation.
Pydantic only: provisioning on the platform builds and writes this same model without the detector's
vision dependencies. ``config_hash`` identifies the configuration in heartbeats: an HMAC keyed with the
device's secret over the document as written (``nitrosignal.confighash``), so a password in an RTSP URL
cannot be guessed from it.
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    StringConstraints,
    field_validator,
    model_validator,
)

from detector.config.masking import PrivacyMask
from detector.config.motion import MotionSettings
from detector.config.schedule import ScheduleSettings
from detector.config.sources import SourceSettings
from detector.settings import AnalysisSettings, ZoneSettings
from nitrosignal.confighash import config_hash
from nitrosignal.strict import StrictModel
from nitrosignal.wire.messages import CameraId

IngestEndpoint = Annotated[str, StringConstraints(pattern=r"^tcp://[A-Za-z0-9.\-\[\]:]+:\d{1,5}$")]
"""The platform's ingest as devices reach it: ``tcp://host:port`` (an IPv6 host in brackets)."""


class PlatformLink(StrictModel):
    """Where the platform is and how patiently to talk to it."""

    endpoint: IngestEndpoint = Field(description="Platform ingest, tcp://host:port.")
    public_key_file: Path = Field(description="The platform's CURVE public key file (.key).")
    ack_timeout_s: float = Field(
        default=3.0, gt=0.0, le=60.0, description="Wait this long for an ack before reconnecting (Lazy Pirate)."
    )
    backoff_initial_s: float = Field(default=0.5, gt=0.0, description="First wait after an unanswered message.")
    backoff_max_s: float = Field(default=60.0, gt=0.0, description="Longest wait between attempts.")


class OutboxSettings(StrictModel):
    """The on-device store of unacked alerts (alerts only, never images)."""

    path: Path = Field(default=Path("outbox.sqlite3"), description="SQLite file of the outbox.")
    max_size_mb: float = Field(
        default=64.0, gt=0.0, description="Refuse new alerts (loudly) once the outbox would grow past this."
    )
    retention_days: float = Field(
        default=28.0,
        gt=0.0,
        le=366.0,
        description="Dead-lettered alerts, alerts never acked and quarantined corrupt outbox files older than "
        "this are deleted (at start and every hour), as the platform deletes its records after its retention.",
    )


class MetricsSettings(StrictModel):
    """Optional Prometheus endpoint with counters and latencies only (never any image), behind a token.

    It listens on loopback only and refuses every request without ``Authorization: Bearer <token>``: a
    local process without the token learns nothing, not even the frame rates that rise and fall with the
    number of people in view. Prometheus reads the token with ``authorization: credentials_file:``.
    """

    enabled: bool = Field(default=False, description="Serve /metrics. Off by default: the device listens on nothing.")
    host: str = Field(default="127.0.0.1", description="Loopback address to listen on (127.0.0.1 or ::1).")
    port: int = Field(default=9464, ge=1, le=65535, description="TCP port of the metrics endpoint.")
    token_file: Path | None = Field(
        default=None,
        description="File holding the bearer token (at least 32 characters, mode 0600); required when enabled.",
    )

    @model_validator(mode="after")
    def _loopback_with_token(self) -> MetricsSettings:
        try:
            loopback = ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            loopback = self.host == "localhost"
        if not loopback:
            raise ValueError(f"metrics host {self.host!r} is not loopback; the endpoint never listens beyond it")
        if self.enabled and self.token_file is None:
            raise ValueError("metrics are enabled without token_file; the endpoint never serves without a token")
        return self


class CameraConfig(StrictModel):
    """Everything one camera device needs."""

    camera_id: CameraId
    platform: PlatformLink
    secret_key_file: Path = Field(description="This camera's CURVE secret key file (.key_secret, mode 0600).")
    source: SourceSettings = Field(description="Where frames come from: type file, rtsp, http or device.")
    schedule: ScheduleSettings
    privacy_masks: tuple[PrivacyMask, ...] = Field(
        default=(), description="Areas blacked out before any model sees the frame."
    )
    zones: tuple[ZoneSettings, ...] = Field(default=(), description="Named areas; only the name travels in alerts.")
    analysis: AnalysisSettings = Field(default_factory=AnalysisSettings, description="Pose, evidence, confirmation.")
    motion: MotionSettings = Field(default_factory=MotionSettings, description="The motion gate in front of pose.")
    model_path: Path | None = Field(
        default=None,
        description="ONNX model file (its .card.json and .sig next to it); default: the shipped model.",
    )
    model_signing_keys: tuple[Path, ...] = Field(
        default=(),
        description="Ed25519 public keys (PEM) trusted to sign the model card; empty: the key shipped with the "
        "detector (detector/models/signing-key.pub). A model whose card no trusted key signed is refused.",
    )
    outbox: OutboxSettings = Field(default_factory=OutboxSettings)
    heartbeat_interval_s: float = Field(default=30.0, ge=1.0, le=3600.0, description="Seconds between heartbeats.")
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)

    @field_validator("zones")
    @classmethod
    def _unique_zones(cls, value: tuple[ZoneSettings, ...]) -> tuple[ZoneSettings, ...]:
        names = [zone.name for zone in value]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"zone names must be unique, repeated: {', '.join(duplicates)}")
        return value

    _document: dict[str, Any] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_document(cls, data: Any, handler: ModelWrapValidatorHandler[CameraConfig]) -> CameraConfig:
        # The document as written, for config_hash: it is what provisioning knows and registers.
        config = handler(data)
        if isinstance(data, Mapping):
            config._document = copy.deepcopy(dict(data))
        elif isinstance(data, CameraConfig):
            config._document = copy.deepcopy(data._document)
        return config

    def config_hash(self, secret_z85: bytes) -> str:
        """HMAC-SHA256 of the config document as written, keyed with this camera's secret key.

        See :mod:`nitrosignal.confighash`: the same value provisioning computes from the document it
        writes, and useless for guessing an RTSP password without the device's secret.
        """
        return config_hash(self._document, secret_z85)
