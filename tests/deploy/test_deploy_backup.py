"""Backup, then restore into a fresh database: identical rows, keys back with their modes, damage detected."""

from __future__ import annotations

import contextlib
import shutil
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from nitroplatform.db.engine import make_engine
from nitroplatform.db.migrate import current_revision, head_revision, upgrade
from nitroplatform.ops import logical
from nitroplatform.ops.backup import BackupError, backup_platform, restore_platform, verify_backup
from nitrosignal.keys import generate_keypair, load_secret

DatabaseFactory = Callable[[], str]
BACKENDS = [pytest.param("sqlite", id="sqlite"), pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]


def _all_rows(url: str) -> dict[str, list[dict[str, Any]]]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            tables = logical.data_tables(logical.reflect(connection))
            result = {}
            for table in tables:
                order = list(table.primary_key.columns) or list(table.columns)
                rows = connection.execute(select(table).order_by(*order)).mappings()
                result[table.name] = [dict(row) for row in rows]
            return result
    finally:
        engine.dispose()


@pytest.fixture
def platform_keys(tmp_path: Path) -> Path:
    keys_dir = tmp_path / "platform-keys"
    generate_keypair(keys_dir, "platform")
    return keys_dir


@pytest.mark.parametrize("fresh_database", BACKENDS, indirect=True)
@pytest.mark.parametrize(
    ("logical_dump", "expected_method"),
    [
        (False, {"sqlite": "sqlite-backup", "postgresql": "pg_dump"}),
        (True, {"sqlite": "logical", "postgresql": "logical"}),
    ],
    ids=["native", "logical"],
)
def test_backup_restores_identical_rows_into_a_fresh_database(
    fresh_database: DatabaseFactory,
    populate: Callable[[str, int], None],
    platform_keys: Path,
    tmp_path: Path,
    logical_dump: bool,
    expected_method: dict[str, str],
) -> None:
    source = fresh_database()
    upgrade(source)
    populate(source, 3)
    if not logical_dump and source.startswith("postgresql") and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")

    manifest = backup_platform(
        database_url=source, keys_dir=platform_keys, destination=tmp_path / "backup", logical_dump=logical_dump
    )

    assert manifest.database.method == expected_method[manifest.database.backend]
    assert manifest.database.row_counts["cameras"] == 3
    assert manifest.database.row_counts["alerts"] == 9
    assert manifest.database.alembic_revision == head_revision()
    assert stat.S_IMODE((tmp_path / "backup").stat().st_mode) == 0o700

    target = fresh_database()
    restored_keys = tmp_path / "restored-keys"
    restore_platform(backup_dir=tmp_path / "backup", database_url=target, keys_dir=restored_keys)

    assert _all_rows(target) == _all_rows(source)
    assert current_revision(target) == head_revision()
    assert stat.S_IMODE((restored_keys / "platform.key_secret").stat().st_mode) == 0o600
    assert load_secret(restored_keys / "platform.key_secret") == load_secret(platform_keys / "platform.key_secret")


@pytest.mark.parametrize("fresh_database", BACKENDS, indirect=True)
def test_restored_postgres_sequences_continue_after_the_restored_ids(
    fresh_database: DatabaseFactory, populate: Callable[[str, int], None], platform_keys: Path, tmp_path: Path
) -> None:
    source = fresh_database()
    upgrade(source)
    populate(source, 1)
    backup_platform(database_url=source, keys_dir=platform_keys, destination=tmp_path / "b", logical_dump=True)
    target = fresh_database()
    restore_platform(backup_dir=tmp_path / "b", database_url=target, keys_dir=tmp_path / "k")

    # Inserting more data after a logical restore must not collide with restored integer ids.
    engine = make_engine(target)
    try:
        with engine.begin() as connection:
            alerts = logical.reflect(connection).tables["alerts"]
            row = dict(connection.execute(select(alerts).limit(1)).mappings().one())
            row.pop("id")
            row["seq"] = 1000
            connection.execute(alerts.insert().values(**row))
            assert connection.execute(select(alerts.c.id).order_by(alerts.c.id.desc())).scalars().first() == 4
    finally:
        engine.dispose()


def _tamper_database(backup: Path) -> None:
    part = next(
        p for p in sorted(backup.rglob("*")) if p.is_file() and p.name != "manifest.json" and "keys" not in p.parts
    )
    part.write_bytes(part.read_bytes() + b"x")


def _tamper_key(backup: Path) -> None:
    (backup / "keys" / "platform.key").write_text("tampered\n")


def _drop_manifest(backup: Path) -> None:
    (backup / "manifest.json").unlink()


@pytest.mark.parametrize(
    ("damage", "expectation"),
    [
        (lambda _: None, contextlib.nullcontext()),
        (_tamper_database, pytest.raises(BackupError, match="sha256")),
        (_tamper_key, pytest.raises(BackupError, match="sha256")),
        (_drop_manifest, pytest.raises(BackupError, match="manifest.json is missing")),
    ],
    ids=["intact", "database-altered", "key-altered", "no-manifest"],
)
def test_verify_detects_a_damaged_backup(
    damage: Callable[[Path], None],
    expectation: contextlib.AbstractContextManager[Any],
    fresh_database: DatabaseFactory,
    populate: Callable[[str, int], None],
    platform_keys: Path,
    tmp_path: Path,
) -> None:
    source = fresh_database()
    upgrade(source)
    populate(source, 1)
    backup_platform(database_url=source, keys_dir=platform_keys, destination=tmp_path / "backup")
    damage(tmp_path / "backup")
    with expectation:
        verify_backup(tmp_path / "backup")


@pytest.mark.parametrize("fresh_database", BACKENDS, indirect=True)
def test_restore_refuses_a_database_that_is_not_empty(
    fresh_database: DatabaseFactory, populate: Callable[[str, int], None], platform_keys: Path, tmp_path: Path
) -> None:
    source = fresh_database()
    upgrade(source)
    populate(source, 1)
    backup_platform(database_url=source, keys_dir=platform_keys, destination=tmp_path / "backup")
    with pytest.raises(BackupError, match="fresh"):
        restore_platform(backup_dir=tmp_path / "backup", database_url=source, keys_dir=tmp_path / "k")


def test_backup_refuses_an_existing_destination(
    fresh_database: DatabaseFactory, platform_keys: Path, tmp_path: Path
) -> None:
    source = fresh_database()
    upgrade(source)
    (tmp_path / "backup").mkdir()
    with pytest.raises(BackupError, match="new folder"):
        backup_platform(database_url=source, keys_dir=platform_keys, destination=tmp_path / "backup")


def test_restore_refuses_to_overwrite_different_platform_keys(
    fresh_database: DatabaseFactory, platform_keys: Path, tmp_path: Path
) -> None:
    source = fresh_database()
    upgrade(source)
    backup_platform(database_url=source, keys_dir=platform_keys, destination=tmp_path / "backup")
    other_keys = tmp_path / "other-keys"
    generate_keypair(other_keys, "platform")
    with pytest.raises(BackupError, match="overwrite"):
        restore_platform(backup_dir=tmp_path / "backup", database_url=fresh_database(), keys_dir=other_keys)


@pytest.mark.postgres
@pytest.mark.parametrize("fresh_database", ["postgres"], indirect=True)
def test_restore_refuses_another_database_backend(
    fresh_database: DatabaseFactory, platform_keys: Path, tmp_path: Path
) -> None:
    source = fresh_database()
    upgrade(source)
    backup_platform(database_url=source, keys_dir=platform_keys, destination=tmp_path / "backup", logical_dump=True)
    sqlite_target = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    with pytest.raises(BackupError, match="restores into postgresql, not sqlite"):
        restore_platform(backup_dir=tmp_path / "backup", database_url=sqlite_target, keys_dir=tmp_path / "k")


@pytest.mark.parametrize("fresh_database", BACKENDS, indirect=True)
@pytest.mark.parametrize("logical_dump", [False, True], ids=["native", "logical"])
def test_backup_while_the_platform_writes_is_one_consistent_snapshot(
    fresh_database: DatabaseFactory,
    populate: Callable[[str, int], None],
    platform_keys: Path,
    tmp_path: Path,
    logical_dump: bool,
) -> None:
    source = fresh_database()
    upgrade(source)
    populate(source, 1)
    stop = threading.Event()
    written = []

    def keep_writing() -> None:
        # Ingest-like traffic: a new alert row every few milliseconds until the backup is done.
        engine = make_engine(source)
        try:
            with engine.connect() as connection:
                alerts = logical.reflect(connection).tables["alerts"]
                template = dict(connection.execute(select(alerts).limit(1)).mappings().one())
                template.pop("id")
                connection.rollback()
                seq = 100
                while not stop.is_set():
                    seq += 1
                    with connection.begin():
                        connection.execute(alerts.insert().values(**{**template, "seq": seq}))
                    written.append(seq)
        finally:
            engine.dispose()

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        while len(written) < 20:
            time.sleep(0.01)
        manifest = backup_platform(
            database_url=source, keys_dir=platform_keys, destination=tmp_path / "b", logical_dump=logical_dump
        )
    finally:
        stop.set()
        writer.join(timeout=30)
    assert 3 < manifest.database.row_counts["alerts"] < 3 + len(written) + 1
    # restore_platform compares the restored row counts with the manifest: a dump taken outside the
    # snapshot that was counted would fail here.
    restore_platform(backup_dir=tmp_path / "b", database_url=fresh_database(), keys_dir=tmp_path / "k")
