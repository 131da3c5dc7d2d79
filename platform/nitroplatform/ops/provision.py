"""Provision a camera: create its keys, register it, and write a ready-to-copy device bundle.

The bundle (``<out>/<camera_id>/``, mode 0700) holds everything the device needs and nothing else:

- ``camera.yaml``: the camera config, built as the detector's own model (``detector.config.CameraConfig``,
  pydantic only, so the platform needs none of the detector's vision dependencies), written with only the
  fields provisioning sets, and read back with the detector's loader before the camera is registered; key
  paths are relative, so the bundle works where it lies and once copied to ``/etc/nitrosignal``;
- ``keys/<camera_id>.key_secret`` (0600) and ``keys/<camera_id>.key``: the camera's new CURVE keypair;
- ``keys/platform.key``: the platform's public key, which the device uses to authenticate the platform;
- ``systemd/nitrosignal-detector.service.d/10-platform.conf``: the drop-in that lets the hardened unit
  talk to the platform's address only (``IPAddressAllow=`` takes no variables, so it is written here);
- ``README.md``: the copy and check commands for this camera.

The camera's secret key is created here and travels once, inside the bundle, to the device; the platform
keeps only the public key in its registry.
"""

from __future__ import annotations

import ipaddress
import logging
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.orm import Session, sessionmaker

from detector.config import (
    CameraConfig,
    DeviceSource,
    IngestEndpoint,
    OutboxSettings,
    PlatformLink,
    ScheduleSettings,
    ScheduleWindow,
    validate_config_file,
)
from nitroplatform.cameras import CameraProfile, register_camera
from nitroplatform.db.session import session_scope
from nitroplatform.ops.bundle_text import bundle_readme, dropin_text, public_certificate
from nitrosignal.keys import generate_keypair, load_public
from nitrosignal.wire.messages import CameraId, ZoneName

logger = logging.getLogger(__name__)

OUTBOX_PATH = Path("/var/lib/nitrosignal/outbox.sqlite3")
"""The hardened unit's StateDirectory: the only place the detector may write."""


class ProvisionError(RuntimeError):
    """Provisioning cannot go ahead; nothing was registered."""


class ProvisionRequest(BaseModel):
    """What to provision. The endpoint is the address *devices* use to reach the platform's ingest."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    camera_id: CameraId
    endpoint: IngestEndpoint = Field(description="tcp://host:port of the ingest.")
    output_dir: Path = Field(description="Folder in which the bundle folder <camera_id>/ is created.")
    schedule: tuple[ScheduleWindow, ...] = Field(min_length=1, description="When the camera may look.")
    timezone: str = Field(default="Europe/Amsterdam")
    device_index: int = Field(default=0, ge=0, le=63, description="V4L2 camera index: /dev/video<index>.")
    allow_addresses: tuple[str, ...] = Field(
        default=(), description="Addresses for IPAddressAllow=; default: the endpoint host, resolved now."
    )
    name: str = ""
    site: str = ""
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    zones: tuple[ZoneName, ...] = ()
    deployment_id: str | None = None

    @model_validator(mode="after")
    def _makes_a_camera_config(self) -> ProvisionRequest:
        # The timezone and windows are checked by the detector's own schedule model, here, before any key or
        # file is created.
        camera_config(self)
        return self


@dataclass(frozen=True)
class ProvisionResult:
    """Where the bundle is and what went into it."""

    bundle_dir: Path
    config_path: Path
    camera_public_key: str
    platform_public_key: str
    allowed_addresses: tuple[str, ...]


def endpoint_host_port(endpoint: str) -> tuple[str, int]:
    """Split ``tcp://host:port`` (IPv6 in brackets) into host and port."""
    rest = endpoint.removeprefix("tcp://")
    host, _, port = rest.rpartition(":")
    return host.strip("[]"), int(port)


def resolve_allowed_addresses(endpoint: str, explicit: tuple[str, ...]) -> tuple[str, ...]:
    """The IP addresses (or prefixes) the device may talk to.

    Raises:
        ProvisionError: if an explicit entry is not an address or prefix, or the host does not resolve.
    """
    if explicit:
        for entry in explicit:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError as exc:
                raise ProvisionError(f"--allow-address {entry!r} is not an IP address or prefix") from exc
        return explicit
    host, port = endpoint_host_port(endpoint)
    try:
        return (str(ipaddress.ip_address(host)),)
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ProvisionError(
            f"cannot resolve {host!r} to write IPAddressAllow=: {exc}; pass --allow-address with its IP address"
        ) from exc
    return tuple(sorted({str(info[4][0]) for info in infos}))


def camera_config(request: ProvisionRequest) -> CameraConfig:
    """The camera's config as the detector's model, with only the fields provisioning decides set."""
    return CameraConfig(
        camera_id=request.camera_id,
        platform=PlatformLink(endpoint=request.endpoint, public_key_file=Path("keys/platform.key")),
        secret_key_file=Path(f"keys/{request.camera_id}.key_secret"),
        # `type` is set explicitly: it is the union's tag, so it must be written even though it is the default.
        source=DeviceSource(type="device", index=request.device_index),
        schedule=ScheduleSettings(timezone=request.timezone, windows=request.schedule),
        zones=(),
        outbox=OutboxSettings(path=OUTBOX_PATH),
    )


def camera_document(request: ProvisionRequest) -> dict[str, Any]:
    """The document ``camera.yaml`` holds: the fields provisioning set, as plain data, defaults left out.

    The device's ``config_hash`` is computed over the document as written (``nitrosignal.confighash``), and
    provisioning computes the same value from this dictionary.
    """
    return camera_config(request).model_dump(mode="json", exclude_unset=True)


def _validate_with_detector(config_path: Path) -> None:
    """Read the written file back with the detector's own loader, the files it names included."""
    _, issues = validate_config_file(config_path, with_files=True)
    if issues:
        raise ProvisionError(
            "generated camera.yaml does not validate: " + "; ".join(i.format(config_path.name) for i in issues)
        )


def provision_camera(
    request: ProvisionRequest, *, sessions: sessionmaker[Session], platform_public_key_file: Path
) -> ProvisionResult:
    """Create the camera's keys, register it, and write its device bundle.

    Args:
        request: what to provision.
        sessions: session factory of the platform database.
        platform_public_key_file: the platform's public (or secret) certificate; only the public key is read.

    Raises:
        ProvisionError: if the bundle folder exists, the address cannot be resolved or the config is invalid.
        nitroplatform.api.errors.ConflictError: if the camera id is already registered.
    """
    bundle_dir = request.output_dir / request.camera_id
    staging = request.output_dir / f".{request.camera_id}.partial"
    for path in (bundle_dir, staging):
        if path.exists():
            raise ProvisionError(f"{path} exists; move it away or choose another --out folder")
    platform_key = load_public(platform_public_key_file).decode("ascii")
    addresses = resolve_allowed_addresses(request.endpoint, request.allow_addresses)
    host, _ = endpoint_host_port(request.endpoint)
    staging.mkdir(mode=0o700, parents=True)
    try:
        files = generate_keypair(staging / "keys", request.camera_id)
        (staging / "keys").chmod(0o700)
        (staging / "keys" / "platform.key").write_text(public_certificate(platform_key))
        config_path = staging / "camera.yaml"
        header = [
            f"# Camera {request.camera_id}, provisioned by nitrosignal platform camera provision.",
            "# Check it on the device: nitrosignal detector validate /etc/nitrosignal/camera.yaml",
        ]
        if request.zones:
            # Only the device sees the image, so only the installer can draw the zones' polygons.
            zones = ", ".join(request.zones)
            header.append(f"# Zones registered on the platform: {zones}; add their polygons under zones.")
        config_path.write_text("\n".join(header) + "\n" + yaml.safe_dump(camera_document(request), sort_keys=False))
        _validate_with_detector(config_path)
        dropin = staging / "systemd" / "nitrosignal-detector.service.d" / "10-platform.conf"
        dropin.parent.mkdir(parents=True)
        dropin.write_text(dropin_text(addresses, host=host, device_index=request.device_index))
        camera_public = load_public(files.public_path).decode("ascii")
        (staging / "README.md").write_text(bundle_readme(request.camera_id, request.endpoint, camera_public))
        profile = CameraProfile(
            name=request.name,
            site=request.site,
            latitude=request.latitude,
            longitude=request.longitude,
            zones=request.zones,
            deployment_id=request.deployment_id,
        )
        with session_scope(sessions) as session:
            register_camera(session, camera_id=request.camera_id, public_key=camera_public, profile=profile)
        # Registered and complete: only now does the bundle get its final name.
        staging.rename(bundle_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    logger.info("provisioned camera %s (public key %s) into %s", request.camera_id, camera_public, bundle_dir)
    return ProvisionResult(
        bundle_dir=bundle_dir,
        config_path=bundle_dir / "camera.yaml",
        camera_public_key=camera_public,
        platform_public_key=platform_key,
        allowed_addresses=addresses,
    )
