"""``nitrosignal platform``: serve, manage cameras, migrate the database, validate settings, benchmark."""

from __future__ import annotations

import getpass
import json
import logging
import sys
from pathlib import Path

import typer
from pydantic import ValidationError
from sqlalchemy.orm import Session

from nitroplatform.bench.soak import soak_app
from nitroplatform.ops import cli as ops_cli
from nitroplatform.people import cli as people_cli
from nitroplatform.settings import Settings, get_settings, validation_messages
from nitrosignal.keys import KeyFileError, load_public

app = typer.Typer(
    help="Central platform: ingest, API, live stream, cameras and database.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
camera_app = typer.Typer(help="Register, list and remove cameras (their CURVE public keys).", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
settings_app = typer.Typer(help="Inspect and validate the NITROSIGNAL_* settings.", no_args_is_help=True)
app.add_typer(camera_app, name="camera")
app.add_typer(db_app, name="db")
app.add_typer(settings_app, name="settings")
# Commands that live with their own component, mounted here so that operators find them in one place.
camera_app.command("provision")(ops_cli.provision)
app.command("backup")(ops_cli.backup)
app.command("restore")(ops_cli.restore)
app.command("prestart")(ops_cli.prestart)
app.add_typer(people_cli.user_app, name="user")
app.add_typer(people_cli.team_app, name="team")
app.add_typer(people_cli.audit_app, name="audit")
app.command("retention")(people_cli.retention)
app.add_typer(soak_app, name="soak")


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(settings: Settings) -> None:
    """Plain or JSON log lines on stderr at the configured level."""
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_json:
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)


def _load_settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as exc:
        for line in validation_messages(exc):
            typer.echo(f"error: {line}", err=True)
        raise typer.Exit(code=2) from exc


@app.command()
def serve(
    host: str | None = typer.Option(None, help="Override NITROSIGNAL_HTTP_HOST."),
    port: int | None = typer.Option(None, help="Override NITROSIGNAL_HTTP_PORT."),
    ingest: bool | None = typer.Option(
        None, "--ingest/--no-ingest", help="Run the ZeroMQ ingest and sweeper here (default from settings)."
    ),
) -> None:
    """Migrate the database, create the platform keys on first start, and serve HTTP + ZeroMQ ingest."""
    import uvicorn

    from nitroplatform.api.app import create_app
    from nitroplatform.launcher import prepare, uvicorn_options

    settings = _load_settings()
    overrides: dict[str, object] = {}
    if host is not None:
        overrides["http_host"] = host
    if port is not None:
        overrides["http_port"] = port
    if ingest is not None:
        overrides["ingest_enabled"] = ingest
        overrides["sweeper_enabled"] = ingest
    if overrides:
        settings = Settings(**{**settings.model_dump(), **overrides})
    configure_logging(settings)
    settings.warn_if_open()
    try:
        keypair = prepare(settings)
    except (KeyFileError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    if settings.ingest_enabled:
        typer.echo(f"platform public key: {keypair.public.decode()} (ingest on {settings.ingest_bind})", err=True)
    uvicorn.run(create_app(settings), log_level="info", **uvicorn_options(settings))


@camera_app.command("add")
def camera_add(
    camera_id: str = typer.Argument(..., help="Camera id: lower-case letters, digits, '.', '_' and '-'."),
    public_key: str | None = typer.Option(None, "--public-key", help="The camera's Z85 CURVE public key."),
    public_key_file: Path | None = typer.Option(
        None, "--public-key-file", help="The camera's public certificate (NAME.key) from `nitrosignal keys`."
    ),
    name: str = typer.Option("", help="Human-readable name."),
    site: str = typer.Option("", help="Site or street where the camera hangs."),
    lat: float | None = typer.Option(None, help="Latitude of the camera itself (never of people)."),
    lon: float | None = typer.Option(None, help="Longitude of the camera itself."),
    zone: list[str] = typer.Option([], "--zone", help="Zone name from the camera config; repeat for several."),
    deployment: str | None = typer.Option(None, help="Deployment id (its IAMA gates the camera)."),
) -> None:
    """Register a camera and its public key; the running ingest accepts it within seconds."""
    from nitroplatform.api.errors import DomainError
    from nitroplatform.api.schemas import CameraIn
    from nitroplatform.audit.chain import record
    from nitroplatform.cameras import CameraProfile, register_camera

    if (public_key is None) == (public_key_file is None):
        typer.echo("error: give exactly one of --public-key or --public-key-file", err=True)
        raise typer.Exit(code=2)
    try:
        key = public_key if public_key is not None else load_public(Path(str(public_key_file))).decode()
        body = CameraIn(
            id=camera_id,
            public_key=key.strip(),
            name=name,
            site=site,
            latitude=lat,
            longitude=lon,
            zones=zone,
            deployment_id=deployment,
        )
    except (KeyFileError, ValidationError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    settings = _load_settings()
    with _session(settings) as session:
        try:
            register_camera(
                session,
                camera_id=body.id,
                public_key=body.public_key,
                profile=CameraProfile(
                    name=body.name,
                    site=body.site,
                    latitude=body.latitude,
                    longitude=body.longitude,
                    zones=tuple(body.zones),
                    deployment_id=body.deployment_id,
                ),
            )
            record(
                session,
                actor=_cli_actor(),
                action="camera.create",
                target_type="camera",
                target_id=body.id,
                detail={"site": body.site, "deployment_id": body.deployment_id},
            )
            session.commit()
        except DomainError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            raise typer.Exit(code=1) from exc
    typer.echo(f"registered camera {camera_id}")


@camera_app.command("list")
def camera_list(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """List registered cameras with their status."""
    from nitroplatform.cameras import camera_out, list_cameras
    from nitroplatform.db.models import utcnow

    settings = _load_settings()
    with _session(settings) as session:
        rows = [camera_out(c, now=utcnow(), offline_after_s=settings.offline_after_s) for c in list_cameras(session)]
    if as_json:
        typer.echo(json.dumps([row.model_dump(mode="json") for row in rows], indent=2))
        return
    for row in rows:
        typer.echo(f"{row.id:<24} {row.status.value:<18} {row.site:<24} {row.public_key}")


@camera_app.command("remove")
def camera_remove(camera_id: str = typer.Argument(..., help="Id of the camera to remove.")) -> None:
    """Remove a camera; its key stops being accepted at the next registry refresh. History stays until retention."""
    from nitroplatform.api.errors import DomainError
    from nitroplatform.audit.chain import record
    from nitroplatform.cameras import remove_camera

    settings = _load_settings()
    with _session(settings) as session:
        try:
            remove_camera(session, camera_id=camera_id)
            record(session, actor=_cli_actor(), action="camera.remove", target_type="camera", target_id=camera_id)
            session.commit()
        except DomainError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            raise typer.Exit(code=1) from exc
    typer.echo(f"removed camera {camera_id}")


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Alembic revision to upgrade to.")) -> None:
    """Apply migrations (under a lock, so concurrent workers don't collide)."""
    from nitroplatform.db.migrate import current_revision, upgrade

    settings = _load_settings()
    upgrade(settings.effective_database_url, revision)
    typer.echo(f"database at revision {current_revision(settings.effective_database_url)}")


@settings_app.command("validate")
def settings_validate() -> None:
    """Validate NITROSIGNAL_* settings; print every error (exit 2) or the effective settings (secrets hidden)."""
    try:
        settings = Settings()
    except ValidationError as exc:
        for line in validation_messages(exc):
            typer.echo(f"error: {line}", err=True)
        raise typer.Exit(code=2) from exc
    shown = settings.model_dump(mode="json")
    shown["secret_key"] = "********"
    shown["effective_database_url"] = settings.effective_database_url
    typer.echo(json.dumps(shown, indent=2))


@app.command()
def bench(
    database_url: list[str] = typer.Option(
        [],
        "--database-url",
        help="Database to benchmark; repeat for several. Default: a fresh SQLite file, "
        "plus PostgreSQL from NITROSIGNAL_TEST_DATABASE_URL when set (in a throw-away schema).",
    ),
    seconds: float = typer.Option(10.0, help="Measured duration per database."),
    cameras: int = typer.Option(1000, help="Simulated cameras, each with its own CURVE key and socket."),
    heartbeat_interval: float = typer.Option(5.0, help="Seconds between heartbeats of each camera."),
    sender_processes: int = typer.Option(1, help="Processes that drive the simulated cameras."),
    alerts_per_incident: int = typer.Option(
        10, min=1, help="Alerts per simulated incident (new, updates, end); 1 makes every alert a new incident."
    ),
    split: bool = typer.Option(
        False,
        "--split/--single",
        help="Run ingest and web (SSE) in separate processes joined by the live relay, so each gets a core.",
    ),
    restart_at: float | None = typer.Option(
        None,
        help="Kill the platform (SIGKILL) this many seconds into the run and restart it, to check that "
        "nothing is lost or duplicated.",
    ),
) -> None:
    """Measure sustained ingest (alerts/s, acks included), ingest-to-SSE latency, and lost/duplicated counts."""
    from nitroplatform.bench.ingest import BenchConfig, run_bench

    config = BenchConfig(
        seconds=seconds,
        cameras=cameras,
        heartbeat_interval_s=heartbeat_interval,
        sender_processes=sender_processes,
        restart_at_s=restart_at,
        alerts_per_incident=alerts_per_incident,
        split=split,
    )
    typer.echo(json.dumps(run_bench(database_url, config), indent=2))


def _cli_actor() -> str:
    """Audit actor for command-line changes: the operating-system user who ran the command."""
    return f"cli:{getpass.getuser()}"


def _session(settings: Settings) -> Session:
    from nitroplatform.db.engine import make_engine
    from nitroplatform.db.migrate import upgrade
    from nitroplatform.db.session import make_sessionmaker

    upgrade(settings.effective_database_url)
    return make_sessionmaker(make_engine(settings.effective_database_url))()


if __name__ == "__main__":
    app()
