"""Settings of the IAMA module, read from ``NITROSIGNAL_IAMA_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class IamaSettings(BaseSettings):
    """How long approvals last and where the facts come from."""

    model_config = SettingsConfigDict(env_prefix="NITROSIGNAL_IAMA_", extra="forbid")

    validity_days: int = Field(
        default=365, ge=1, le=3650, description="Days an approved IAMA stays current before it expires (12 months)."
    )
    model_path: Path | None = Field(
        default=None,
        description="Model file whose card (<file>.card.json) is the model fact for cameras without a "
        "model assignment in the registry.",
    )
    retention_days: int | None = Field(
        default=None,
        description="Retention period to show as a fact; default: the platform setting NITROSIGNAL_RETENTION_DAYS.",
    )
