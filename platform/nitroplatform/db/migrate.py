"""Run Alembic migrations programmatically, under a lock so several workers starting at once don't collide.

PostgreSQL: a session-level advisory lock on the migrating connection. SQLite: an exclusive ``flock`` on a
file next to the database.
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from nitroplatform.db.engine import make_engine

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
ADVISORY_LOCK_KEY = 0x6E_69_74_72_6F_73  # "nitros": one fixed key for every platform database
HEAD = "head"


def alembic_config(url: str) -> Config:
    """The shipped alembic.ini with ``sqlalchemy.url`` set to ``url``."""
    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("version_locations", str(MIGRATIONS_DIR / "versions"))
    # ConfigParser treats % as interpolation; URLs may contain %-escapes.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@contextmanager
def _sqlite_file_lock(url: str) -> Iterator[None]:
    database = make_url(url).database
    if not database or database == ":memory:":
        yield
        return
    lock_path = Path(database).with_name(Path(database).name + ".migrate.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _upgrade_on(connection: Connection, url: str, revision: str) -> None:
    config = alembic_config(url)
    config.attributes["connection"] = connection
    command.upgrade(config, revision)
    connection.commit()


def upgrade(url: str, revision: str = HEAD) -> None:
    """Bring the database at ``url`` to ``revision`` (default: head), holding the migration lock.

    Args:
        url: SQLAlchemy database URL.
        revision: Alembic revision to upgrade to.
    """
    engine = make_engine(url)
    try:
        if engine.dialect.name == "postgresql":
            with engine.connect() as connection:
                connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
                connection.commit()
                try:
                    _upgrade_on(connection, url, revision)
                finally:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
                    connection.commit()
        else:
            with _sqlite_file_lock(url), engine.connect() as connection:
                _upgrade_on(connection, url, revision)
    finally:
        engine.dispose()
    logger.info("database at %s is at revision %s", make_url(url).render_as_string(hide_password=True), revision)


def current_revision(url: str) -> str | None:
    """The revision the database is at, or None for an empty database."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str | None:
    """The newest revision shipped with the code."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
