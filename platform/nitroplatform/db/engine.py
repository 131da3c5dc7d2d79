"""Engine factory for SQLite (one machine) and PostgreSQL via psycopg 3 (several workers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

SQLITE_BUSY_TIMEOUT_MS = 10_000


def is_sqlite(url: str) -> bool:
    """True for a SQLite URL."""
    return make_url(url).get_backend_name() == "sqlite"


def is_postgres(url: str) -> bool:
    """True for a PostgreSQL URL."""
    return make_url(url).get_backend_name() == "postgresql"


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the HTTP workers read while the ingest writes; NORMAL sync is durable across process crashes
    # in WAL mode (only an OS crash can lose the last commits), which is the trade SQLite deployments take.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the settings each backend needs.

    SQLite gets WAL, foreign keys and a busy timeout on every connection, and its folder is created.
    PostgreSQL URLs must name the psycopg 3 driver (``postgresql+psycopg://``).

    Args:
        url: SQLAlchemy database URL.
        **kwargs: passed on to :func:`sqlalchemy.create_engine`.

    Raises:
        ValueError: for a PostgreSQL URL with another driver, or an unsupported backend.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _set_sqlite_pragmas)
        return engine
    if backend == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            raise ValueError(f"use the psycopg 3 driver: postgresql+psycopg://..., got {parsed.drivername}")
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(url, **kwargs)
    raise ValueError(f"unsupported database backend {backend!r}; use sqlite or postgresql+psycopg")
