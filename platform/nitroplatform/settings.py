"""Platform settings, read from ``NITROSIGNAL_*`` environment variables (pydantic-settings).

Every field carries a description, which is the user documentation (``nitrosignal platform settings
validate`` prints every error at once). Unknown ``NITROSIGNAL_*`` keys in a ``.env`` file are errors, so a
typo never silently falls back to a default. Outside development, default or weak secrets and the ``open``
gating mode are refused.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

logger = logging.getLogger(__name__)

DEFAULT_SECRET = "changethis"
"""The development secret; refused outside development (the template's ``_check_default_secret``)."""

MIN_SECRET_LENGTH = 32


def default_data_dir() -> Path:
    """Per-user data folder: ``$XDG_DATA_HOME/nitrosignal`` or ``~/.local/share/nitrosignal``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "nitrosignal"


class Settings(BaseSettings):
    """Everything a platform process needs to know, validated at construction."""

    model_config = SettingsConfigDict(env_prefix="NITROSIGNAL_", extra="forbid", validate_default=True)

    environment: Literal["development", "production"] = Field(
        default="development",
        description="'production' refuses default secrets, the open gating mode and a missing database URL.",
    )
    data_dir: Path = Field(
        default_factory=default_data_dir, description="Folder for the SQLite database and the platform keys."
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db. Default: SQLite in data_dir.",
    )
    ingest_bind: str = Field(
        default="tcp://0.0.0.0:7750", description="ZeroMQ endpoint the ingest ROUTER binds (CURVE always on)."
    )
    ingest_enabled: bool = Field(
        default=True, description="Run the ZeroMQ ingest in this process; false for web-only workers."
    )
    sweeper_enabled: bool = Field(default=True, description="Run the incident auto-close sweeper in this process.")
    server_secret_key_file: Path | None = Field(
        default=None,
        description="CURVE secret certificate of the platform (mode 0600). Default: data_dir/keys/platform.key_secret.",
    )
    http_host: str = Field(default="127.0.0.1", description="Address the HTTP server listens on.")
    http_port: int = Field(default=8080, ge=0, le=65535, description="HTTP port (0 picks a free port).")
    trusted_proxies: str = Field(
        default="127.0.0.1,::1",
        description="Comma-separated addresses or networks (CIDR) of the reverse proxies in front of the HTTP port. "
        "Only a request from one of them may name the real client (X-Forwarded-For) and the scheme "
        "(X-Forwarded-Proto); login throttling keys on that client. Set it to the proxy's own address or network "
        "(deploy/platform/compose.yaml sets the proxy container's network); never to a network clients are on.",
    )
    secret_key: SecretStr = Field(
        default=SecretStr(DEFAULT_SECRET),
        description="Signs the login form's CSRF tokens (auth/login_csrf.py); sessions are random ids kept in the "
        "database and need no signature. At least 32 characters outside development.",
    )
    max_body_bytes: int = Field(
        default=1_000_000,
        ge=16_384,
        description="Largest request body the API accepts (413 beyond it); a model upload may be as large as "
        "NITROSIGNAL_PEOPLE_MODEL_MAX_BYTES.",
    )
    retention_days: int = Field(default=28, ge=1, le=3650, description="Days alerts and incidents are kept.")
    clock_skew_tolerance_s: float = Field(
        default=120.0, gt=0, description="How far a message's sent_at may lie in the future before it is refused."
    )
    flood_rate_per_s: float = Field(
        default=20.0, gt=0, description="Messages per second a camera may send on average (token bucket)."
    )
    flood_burst: int = Field(default=100, ge=1, description="Messages a camera may send in one burst.")
    offline_after_s: float = Field(
        default=180.0, gt=0, description="A camera without a heartbeat for this long counts as offline."
    )
    gating_mode: Literal["iama", "open"] = Field(
        default="iama",
        description="'iama': alerts count only from cameras with an approved, current IAMA. "
        "'open': no gating, development only.",
    )
    gate_cache_s: float = Field(default=5.0, ge=0, description="How long a gating decision is cached per camera.")
    ingest_batch_max: int = Field(
        default=512, ge=1, le=10000, description="Most messages the ingest drains into one database transaction."
    )
    ingest_log_lines_per_reason: int = Field(
        default=5,
        ge=0,
        description="Refusal log lines per refusal reason per ingest_log_interval_s; the rest are counted in "
        "metrics and summed up in one summary line per interval.",
    )
    ingest_log_interval_s: float = Field(default=10.0, gt=0, description="Window of the refusal log sampling.")
    sweeper_interval_s: float = Field(default=5.0, gt=0, description="Seconds between auto-close sweeps.")
    live_buffer_size: int = Field(
        default=4096, ge=16, description="Live events kept for Last-Event-ID replay after a reconnect."
    )
    live_keepalive_s: float = Field(
        default=15.0,
        gt=0,
        le=300,
        description="Seconds between keepalives on an idle live stream. At each one, and at least this often "
        "while events flow, the stream re-checks its caller's session or token and scope, and ends if they "
        "changed (a logout or deactivation in this worker, or on PostgreSQL in any worker, ends it at once).",
    )
    registry_refresh_s: float = Field(
        default=5.0, gt=0, description="Seconds between reloads of the camera registry cache used by ZAP."
    )
    live_relay: str | None = Field(
        default=None,
        description="ZeroMQ endpoint (ipc:// or tcp://127.0.0.1:PORT) that relays live events from the ingest "
        "process to web-only workers on the same machine; the ingest binds it, web workers connect.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO", description="Log level.")
    log_json: bool = Field(default=False, description="Write structured JSON log lines instead of plain text.")

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: str) -> str:
        entries = [entry.strip() for entry in value.split(",") if entry.strip()]
        for entry in entries:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError as exc:
                raise ValueError(f"{entry!r} is not an IP address or network: {exc}") from exc
        return ",".join(entries)

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.environment == "development":
            return self
        problems = []
        secret = self.secret_key.get_secret_value()
        if secret == DEFAULT_SECRET or len(secret) < MIN_SECRET_LENGTH:
            problems.append(
                f"secret_key must be a random string of at least {MIN_SECRET_LENGTH} characters in production "
                "(for example: openssl rand -base64 48)"
            )
        if self.gating_mode == "open":
            problems.append("gating_mode 'open' is only allowed in development")
        if self.database_url is None:
            problems.append("database_url must be set explicitly in production")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def effective_database_url(self) -> str:
        """The configured database URL, or SQLite in ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'platform.sqlite3'}"

    @property
    def effective_server_secret_key_file(self) -> Path:
        """The platform's CURVE secret certificate path."""
        return self.server_secret_key_file or self.data_dir / "keys" / "platform.key_secret"

    def warn_if_open(self) -> None:
        """Log loudly when gating is off, so nobody runs that way by accident."""
        if self.gating_mode == "open":
            logger.warning(
                "GATING IS OFF (gating_mode=open): alerts are accepted from every registered camera, "
                "with or without an approved IAMA. Development only."
            )

    def to_env(self) -> dict[str, str]:
        """Render these settings as ``NITROSIGNAL_*`` variables, to start a child process with them."""
        env: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            if isinstance(value, bool):
                value = "true" if value else "false"
            env[f"NITROSIGNAL_{name.upper()}"] = str(value)
        return env


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once. Tests build their own ``Settings`` and pass them explicitly."""
    return Settings()


def validation_messages(error: ValidationError) -> list[str]:
    """One readable line per settings error, naming the environment variable it came from."""
    lines = []
    for item in error.errors(include_url=False):
        location = ".".join(str(part) for part in item["loc"])
        if location:
            lines.append(f"NITROSIGNAL_{location.upper()}: {item['msg']}")
        else:
            # Cross-field checks report several problems in one message, '; '-separated.
            message = str(item["msg"]).removeprefix("Value error, ")
            lines.extend(f"(settings): {part}" for part in message.split("; "))
    return lines
