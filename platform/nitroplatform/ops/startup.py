"""Start-up steps of a platform process, the same in the container, the systemd unit and the tests.

1. Read secrets from files: every ``NITROSIGNAL_<NAME>_FILE`` variable is replaced by ``NITROSIGNAL_<NAME>``
   holding that file's contents (Docker secrets, systemd credentials), so secrets never sit in a unit
   file, an image or a compose file.
2. Validate the settings (production refuses default secrets and a missing database URL).
3. Wait for the database to accept connections, with a deadline.
4. Migrate to the newest schema under a lock (``nitroplatform.db.migrate``): several workers starting
   at once migrate exactly once.
5. Check the platform's CURVE keys: the secret key must exist with mode 0600 (or be created on first
   start when asked to), and its public half is logged for provisioning.
6. Exec the server command, so it becomes the container's or unit's main process.

Run: ``python -m nitroplatform.ops.startup [--init-keys] [--db-timeout S] -- nitrosignal platform serve``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from nitroplatform.db.engine import make_engine
from nitroplatform.db.migrate import current_revision, head_revision, upgrade
from nitroplatform.settings import Settings, validation_messages
from nitrosignal.keys import KeyFileError, generate_keypair, load_secret

logger = logging.getLogger(__name__)

ENV_PREFIX = "NITROSIGNAL_"
FILE_SUFFIX = "_FILE"
DEFAULT_COMMAND = ("nitrosignal", "platform", "serve")


class StartupError(RuntimeError):
    """A start-up step failed; the process must not start serving."""


@dataclass(frozen=True)
class StartupReport:
    """What the start-up steps found and did."""

    database: str
    revision_before: str | None
    revision_after: str | None
    platform_public_key: str
    keys_created: bool


def load_file_variables(environ: MutableMapping[str, str]) -> list[str]:
    """Replace each ``NITROSIGNAL_X_FILE`` by ``NITROSIGNAL_X`` with the file's contents (one trailing newline
    stripped). Returns the names set.

    Settings whose own name ends in ``_file`` (``NITROSIGNAL_SERVER_SECRET_KEY_FILE``) are paths the
    platform reads itself, and are left alone.

    Raises:
        StartupError: if both ``X`` and ``X_FILE`` are set, or the file cannot be read.
    """
    names = []
    for key in sorted(k for k in environ if k.startswith(ENV_PREFIX) and k.endswith(FILE_SUFFIX)):
        if key.removeprefix(ENV_PREFIX).lower() in Settings.model_fields:
            continue
        target = key[: -len(FILE_SUFFIX)]
        if target in environ:
            raise StartupError(f"both {target} and {key} are set; set only one")
        path = Path(environ[key])
        try:
            value = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise StartupError(f"{key}: cannot read {path}: {exc.strerror}") from exc
        environ[target] = value.removesuffix("\n")
        # The platform's settings do not know the _FILE names; leave only the value behind.
        del environ[key]
        names.append(target)
    return names


def wait_for_database(url: str, *, timeout_s: float, interval_s: float = 1.0) -> None:
    """Return once the database answers ``SELECT 1``; retry until ``timeout_s``.

    Raises:
        StartupError: with the last connection error when the deadline passes.
    """
    deadline = time.monotonic() + timeout_s
    shown = make_url(url).render_as_string(hide_password=True)
    while True:
        engine = make_engine(url)
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return
        except OperationalError as exc:
            if time.monotonic() + interval_s > deadline:
                raise StartupError(f"database {shown} did not answer within {timeout_s:.0f} s: {exc.orig}") from exc
            logger.info("waiting for database %s: %s", shown, exc.orig)
        finally:
            engine.dispose()
        time.sleep(interval_s)


def check_platform_keys(secret_path: Path, *, create: bool) -> tuple[str, bool]:
    """Check the platform's secret key (mode 0600), creating the pair on first start when ``create``.

    Returns:
        The platform's public key (Z85) and whether the pair was created now.

    Raises:
        StartupError: if the key is missing (and not to be created), unreadable or readable by others.
    """
    created = False
    if not secret_path.exists():
        if not create:
            raise StartupError(
                f"platform secret key {secret_path} does not exist: create it with "
                f"'nitrosignal keys generate platform --dir {secret_path.parent}' or start with --init-keys"
            )
        name = secret_path.name.removesuffix(".key_secret")
        generate_keypair(secret_path.parent, name)
        created = True
    try:
        pair = load_secret(secret_path)
    except KeyFileError as exc:
        raise StartupError(str(exc)) from exc
    return pair.public.decode("ascii"), created


def run_startup(settings: Settings, *, db_timeout_s: float = 60.0, create_keys: bool = False) -> StartupReport:
    """Run steps 3 to 5: wait for the database, migrate under the lock, check the keys.

    Args:
        settings: the validated platform settings.
        db_timeout_s: how long to wait for the database.
        create_keys: create the platform keypair if it does not exist yet (first start).

    Raises:
        StartupError: if any step fails; the server must then not start.
    """
    url = settings.effective_database_url
    wait_for_database(url, timeout_s=db_timeout_s)
    before = current_revision(url)
    upgrade(url)
    after = current_revision(url)
    if after != head_revision():
        raise StartupError(f"after migrating, the database is at {after}, not at the code's head {head_revision()}")
    public, created = check_platform_keys(settings.effective_server_secret_key_file, create=create_keys)
    if created:
        logger.warning("created a NEW platform keypair; every camera bundle must carry this public key: %s", public)
    logger.info("database migrated %s -> %s; platform public key %s", before, after, public)
    return StartupReport(
        database=make_url(url).render_as_string(hide_password=True),
        revision_before=before,
        revision_after=after,
        platform_public_key=public,
        keys_created=created,
    )


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m nitroplatform.ops.startup",
        description="Run the platform's start-up steps, then exec the server command given after --.",
    )
    parser.add_argument("--init-keys", action="store_true", help="create the platform keypair on first start")
    parser.add_argument("--db-timeout", type=float, default=60.0, help="seconds to wait for the database")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="server command (default: %(default)s)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the container and the systemd unit; returns an exit code only on failure."""
    args = _parse(list(sys.argv[1:] if argv is None else argv))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    command = [part for part in args.command if part != "--"] or list(DEFAULT_COMMAND)
    try:
        load_file_variables(os.environ)
        settings = Settings()
        run_startup(settings, db_timeout_s=args.db_timeout, create_keys=args.init_keys)
    except ValidationError as exc:
        for line in validation_messages(exc):
            logger.error("settings: %s", line)
        return 2
    except StartupError as exc:
        logger.error("start-up failed: %s", exc)
        return 1
    logger.info("starting: %s", " ".join(command))
    os.execvp(command[0], command)


if __name__ == "__main__":
    raise SystemExit(main())
