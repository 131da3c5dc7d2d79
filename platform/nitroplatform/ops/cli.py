"""Operator commands: provision a camera, back up and restore the platform, run the start-up steps.

The integrator mounts ``provision`` as ``nitrosignal platform camera provision`` and ``backup``,
``restore`` and ``prestart`` under ``nitrosignal platform``. Settings (database URL, data folder, key
file) come from the same ``NITROSIGNAL_*`` environment as the platform itself.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import typer
from pydantic import ValidationError

from detector.config import ScheduleWindow
from nitroplatform.api.errors import DomainError
from nitroplatform.db.engine import make_engine
from nitroplatform.db.session import make_sessionmaker
from nitroplatform.ops.backup import BackupError, backup_platform, restore_platform
from nitroplatform.ops.provision import ProvisionError, ProvisionRequest, provision_camera
from nitroplatform.ops.startup import StartupError, load_file_variables, run_startup
from nitroplatform.settings import Settings, get_settings, validation_messages

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

_WINDOW = re.compile(r"^(?P<days>[a-z,]+)\s+(?P<start>\d{1,2}:\d{2})-(?P<end>\d{1,2}:\d{2})$")


def _settings() -> Settings:
    # Same secrets-from-files convention as the start-up step, so operators can run these commands with the
    # service's environment file (NITROSIGNAL_DATABASE_URL_FILE=...).
    try:
        if load_file_variables(os.environ):
            get_settings.cache_clear()
        return get_settings()
    except StartupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    except ValidationError as exc:
        for line in validation_messages(exc):
            typer.echo(f"error: {line}", err=True)
        raise typer.Exit(code=2) from exc


def parse_window(text: str) -> ScheduleWindow:
    """Parse ``"fri,sat 20:00-04:00"`` into a schedule window of the detector's config.

    Raises:
        typer.BadParameter: if the text does not have that shape, or names no weekday or time the detector knows.
    """
    match = _WINDOW.match(text.strip().lower())
    if match is None:
        raise typer.BadParameter(f"expected 'DAYS HH:MM-HH:MM' such as 'fri,sat 20:00-04:00', got {text!r}")
    window = {"days": match["days"].split(","), "start": match["start"].zfill(5), "end": match["end"].zfill(5)}
    try:
        return ScheduleWindow.model_validate(window)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False))
        raise typer.BadParameter(f"{text!r}: {problems}") from exc


@app.command()
def provision(
    camera_id: str = typer.Argument(..., help="New camera id: lower-case letters, digits, '.', '_', '-'."),
    endpoint: str = typer.Option(..., help="Ingest address as devices reach it, e.g. tcp://203.0.113.10:7750."),
    schedule: list[str] = typer.Option(
        ..., "--schedule", help="When the camera may look, e.g. 'fri,sat 20:00-04:00'; repeat for more windows."
    ),
    out: Path = typer.Option(Path("."), "--out", help="Folder in which the bundle folder CAMERA_ID/ is written."),
    timezone: str = typer.Option("Europe/Amsterdam", help="IANA timezone of the schedule."),
    device_index: int = typer.Option(0, help="Camera node /dev/videoN on the device."),
    allow_address: list[str] = typer.Option(
        [], "--allow-address", help="IP address for the unit's IPAddressAllow= (default: resolve the endpoint)."
    ),
    name: str = typer.Option("", help="Human-readable camera name."),
    site: str = typer.Option("", help="Site, e.g. 'Boulevard Noord'."),
    zone: list[str] = typer.Option([], "--zone", help="Zone name known to the platform; repeatable."),
    deployment: str | None = typer.Option(None, help="Deployment id (its IAMA gates the camera)."),
) -> None:
    """Create a camera's keys, register it, and write its ready-to-copy device bundle."""
    settings = _settings()
    try:
        request = ProvisionRequest(
            camera_id=camera_id,
            endpoint=endpoint,
            output_dir=out,
            schedule=tuple(parse_window(window) for window in schedule),
            timezone=timezone,
            device_index=device_index,
            allow_addresses=tuple(allow_address),
            name=name,
            site=site,
            zones=tuple(zone),
            deployment_id=deployment,
        )
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            typer.echo(f"error: {'.'.join(str(p) for p in error['loc'])}: {error['msg']}", err=True)
        raise typer.Exit(code=2) from exc
    engine = make_engine(settings.effective_database_url)
    try:
        result = provision_camera(
            request,
            sessions=make_sessionmaker(engine),
            platform_public_key_file=settings.effective_server_secret_key_file,
        )
    except (ProvisionError, DomainError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    finally:
        engine.dispose()
    typer.echo(f"registered camera {camera_id} (public key {result.camera_public_key})")
    typer.echo(f"bundle: {result.bundle_dir}  (holds the camera's secret key: copy it to the device, then delete)")
    typer.echo(f"platform address allowed on the device: {', '.join(result.allowed_addresses)}")
    typer.echo(f"next: follow {result.bundle_dir / 'README.md'}")


@app.command()
def backup(
    destination: Path = typer.Argument(..., help="New folder for the backup (mode 0700; it holds secret keys)."),
    logical: bool = typer.Option(False, help="Use the SQLAlchemy-level dump even where pg_dump is installed."),
) -> None:
    """Back up the platform database and key files, with a sha256 manifest and row counts."""
    settings = _settings()
    try:
        manifest = backup_platform(
            database_url=settings.effective_database_url,
            keys_dir=settings.effective_server_secret_key_file.parent,
            destination=destination,
            logical_dump=logical,
        )
    except BackupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    rows = sum(manifest.database.row_counts.values())
    typer.echo(
        f"backup written to {destination}: {manifest.database.method}, revision {manifest.database.alembic_revision}, "
        f"{len(manifest.database.row_counts)} tables, {rows} rows, {len(manifest.files)} files"
    )


@app.command()
def restore(
    backup_dir: Path = typer.Argument(..., help="A folder written by 'nitrosignal platform backup'."),
    overwrite_keys: bool = typer.Option(False, help="Replace existing key files that differ from the backup."),
) -> None:
    """Restore a backup into the configured (fresh, empty) database and keys folder; verify row counts."""
    settings = _settings()
    try:
        manifest = restore_platform(
            backup_dir=backup_dir,
            database_url=settings.effective_database_url,
            keys_dir=settings.effective_server_secret_key_file.parent,
            overwrite_keys=overwrite_keys,
        )
    except BackupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    typer.echo(
        f"restored revision {manifest.database.alembic_revision} with identical row counts; "
        "start the platform to migrate it to the current version"
    )


@app.command()
def prestart(
    init_keys: bool = typer.Option(False, help="Create the platform keypair if it does not exist yet."),
    db_timeout: float = typer.Option(60.0, help="Seconds to wait for the database."),
) -> None:
    """Run the start-up steps only: read *_FILE secrets, wait for the database, migrate, check keys."""
    try:
        report = run_startup(_settings(), db_timeout_s=db_timeout, create_keys=init_keys)
    except StartupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    typer.echo(f"database {report.database} at {report.revision_after}; platform key {report.platform_public_key}")
