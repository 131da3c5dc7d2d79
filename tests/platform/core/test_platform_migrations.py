"""``alembic upgrade head`` gives exactly the schema of the ORM metadata, on SQLite and PostgreSQL, and the
migration lock lets several workers upgrade at once."""

from __future__ import annotations

import threading

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from nitroplatform.db.engine import make_engine
from nitroplatform.db.migrate import current_revision, head_revision, upgrade
from nitroplatform.db.models_registry import load_all_models


def test_upgrade_head_matches_metadata(database_url: str) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, load_all_models())
    finally:
        engine.dispose()
    assert differences == [], f"migrations and models disagree: {differences}"
    assert current_revision(database_url) == head_revision()


def test_concurrent_upgrades_do_not_collide(database_url: str) -> None:
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            upgrade(database_url)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert current_revision(database_url) == head_revision()
