"""Shared parts of the ``nitrosignal iama`` commands: options, the database session and error reporting."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import typer
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from iama import service
from iama.loader import AnswerError
from iama.workflow import WorkflowError

T = TypeVar("T")
DB_OPTION = typer.Option(
    None,
    "--database-url",
    envvar="NITROSIGNAL_DATABASE_URL",
    help="SQLAlchemy URL; default: the platform's database (NITROSIGNAL_* settings).",
)
ACTOR = typer.Option(..., "--as", help="Username of the person acting (recorded in history and workflow).")


@contextmanager
def db_session(database_url: str | None) -> Iterator[Session]:
    from nitroplatform.db.engine import make_engine
    from nitroplatform.db.models_registry import load_all_models
    from nitroplatform.db.session import make_sessionmaker, session_scope
    from nitroplatform.settings import get_settings

    load_all_models()
    engine = make_engine(database_url or get_settings().effective_database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            yield db
    finally:
        engine.dispose()


def run_in_session(database_url: str | None, action: Callable[[Session], T]) -> T:
    """Run ``action`` in one transaction; domain errors become a message and exit code 1."""
    try:
        with db_session(database_url) as db:
            return action(db)
    except (WorkflowError, service.NotFoundError, AnswerError, KeyError, ValueError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=1) from error
    except OperationalError as error:
        typer.echo(
            f"database error: {error.orig}; is the database migrated? run: nitrosignal platform db upgrade", err=True
        )
        raise typer.Exit(code=2) from error
