"""Alembic environment: runs migrations on the connection nitroplatform.db.migrate hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from nitroplatform.db.engine import make_engine
from nitroplatform.db.models_registry import load_all_models

target_metadata = load_all_models()


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Use the caller's connection when given (it holds the migration lock), else open one."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as new_connection:
        _run(new_connection)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run nitrosignal platform db upgrade")
run_migrations_online()
