"""Settings of the people side: sessions, login throttling, push, model trust, shift timezone.

The data folder, the environment and ``retention_days`` come from the core ``nitroplatform.settings``.

Read from the environment with the prefix ``NITROSIGNAL_PEOPLE_`` (for example
``NITROSIGNAL_PEOPLE_RETENTION_DAYS=14``). Tests build their own instance and put it on
``app.state.people_settings``; the API reads it from there first.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from nitroplatform.push.endpoints import DEFAULT_PUSH_HOSTS


class PeopleSettings(BaseSettings):
    """Everything the people side can be tuned with."""

    model_config = SettingsConfigDict(env_prefix="NITROSIGNAL_PEOPLE_", extra="forbid")

    timezone: str = Field(default="Europe/Amsterdam", description="Timezone of shifts and route time windows.")
    session_hours: float = Field(default=12.0, gt=0, le=24 * 7, description="Lifetime of a login session.")
    cookie_secure: bool | None = Field(
        default=None,
        description="Mark cookies Secure (HTTPS only). Default (unset): Secure in production and on every HTTPS "
        "request; plain-HTTP development (make demo on 127.0.0.1) gets cookies without the flag.",
    )
    login_free_failures: int = Field(
        default=3, ge=1, description="Failed logins of one username from one client address before delays begin."
    )
    login_free_failures_client: int = Field(
        default=10,
        ge=1,
        description="Failed logins from one client address, over all usernames, before that address is delayed "
        "(password spraying).",
    )
    login_delay_base_s: float = Field(
        default=1.0, gt=0, description="First delay after the free failures; it doubles with each further failure."
    )
    login_delay_max_s: float = Field(default=900.0, gt=0, description="The longest delay between two login attempts.")
    login_window_s: int = Field(default=3600, ge=1, description="How long a failed login is remembered.")
    push_ttl_live_s: int = Field(
        default=120, ge=0, description="Push TTL for a live incident: an undelivered page is useless after this."
    )
    push_cooldown_global_s: int = Field(default=0, ge=0, description="Minimum gap between any two pages to a user.")
    push_cooldown_camera_s: int = Field(default=60, ge=0, description="Minimum gap between new pages per camera.")
    push_allow_insecure_endpoints: bool = Field(
        default=False,
        description="Accept http:// push endpoints (local test receivers only; real push services use https).",
    )
    push_allowed_hosts: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PUSH_HOSTS),
        description="Host names of the push services the platform may send to; '*.domain' allows its subdomains. "
        "The default covers the major browsers: FCM (Chrome and most others), Mozilla autopush (Firefox), Apple web "
        "push (Safari) and WNS (Edge on Windows).",
    )
    push_allow_private_addresses: bool = Field(
        default=False,
        description="Allow push endpoints on loopback and private addresses (local test receivers only).",
    )
    vapid_subject: str = Field(
        default="mailto:privacy@example.invalid", description="VAPID `sub` claim: a contact for push services."
    )
    trusted_model_keys: list[str] = Field(
        default_factory=list,
        description="Ed25519 public keys trusted to sign model cards: paths to PEM files (as `nitrosignal train "
        "keygen` writes them) or base64 of the raw 32-byte key. Uploads signed by any other key are refused.",
    )
    model_max_bytes: int = Field(default=256 * 1024 * 1024, ge=1024, description="Largest model file accepted.")
    escalation_interval_s: float = Field(default=5.0, gt=0, description="How often the escalation task runs.")


@lru_cache
def get_people_settings() -> PeopleSettings:
    """The process-wide people settings, read once from the environment."""
    return PeopleSettings()
