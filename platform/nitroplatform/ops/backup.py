"""Backup and restore of the platform: its database and its key files, with a verifiable manifest.

A backup is a folder (mode 0700: it holds the platform's secret key) with:

- ``database.sqlite3`` (SQLite, taken with the online backup API while the platform runs), or
  ``database.pgdump`` (PostgreSQL, ``pg_dump --format=custom``), or ``database/*.jsonl`` (a logical,
  SQLAlchemy-level dump, used for PostgreSQL when ``pg_dump`` is not installed);
- ``keys/``: the platform's key files, modes kept;
- ``manifest.json``: the sha256 of every file, the Alembic revision, and the row count of every table
  *in the snapshot that was dumped* (PostgreSQL counts run in the exported snapshot pg_dump uses).

Restore goes into a fresh, empty database only, and is verified by comparing the row counts of the
restored database with the manifest. The restored database is at the backup's schema revision; the next
platform start migrates it to the code's head (docs/UPGRADING.md).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, create_engine, inspect, text
from sqlalchemy.engine import URL, make_url

from nitroplatform.db.engine import make_engine
from nitroplatform.db.migrate import current_revision, upgrade
from nitroplatform.ops import logical
from nitrosignal import __version__

MANIFEST_NAME = "manifest.json"
FORMAT_VERSION = 1

BackupMethod = Literal["sqlite-backup", "pg_dump", "logical"]


class BackupError(RuntimeError):
    """A backup or restore that cannot be done safely; the message says why and what to do."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FileEntry(_Strict):
    """One file of the backup, relative to the backup folder."""

    path: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    mode: int = Field(description="Unix permission bits, restored as they were (0600 for secret keys).")


class DatabasePart(_Strict):
    """How the database was saved and what was in it."""

    backend: Literal["sqlite", "postgresql"]
    method: BackupMethod
    alembic_revision: str | None
    row_counts: dict[str, int]


class BackupManifest(_Strict):
    """The contents of ``manifest.json``."""

    format_version: int = FORMAT_VERSION
    created_at: datetime
    nitrosignal_version: str
    database: DatabasePart
    files: list[FileEntry]


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _libpq_args(url: URL) -> tuple[list[str], dict[str, str]]:
    # Pass the password through the environment, never argv (argv is visible in `ps`).
    args = ["--dbname", url.database or ""]
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return args, env


def _run_tool(argv: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{argv[0]} failed (exit {result.returncode}): {result.stderr.strip()[-2000:]}")


def _choose_method(url: URL, method: Literal["auto", "logical"]) -> BackupMethod:
    backend = url.get_backend_name()
    if method == "logical":
        return "logical"
    if backend == "sqlite":
        return "sqlite-backup"
    return "pg_dump" if shutil.which("pg_dump") else "logical"


def _backup_sqlite(url: URL, target: Path) -> None:
    source_path = url.database
    if not source_path or source_path == ":memory:":
        raise BackupError("cannot back up an in-memory SQLite database")
    if not Path(source_path).exists():
        raise BackupError(f"SQLite database {source_path} does not exist")
    # The online backup API copies a consistent snapshot page by page while the platform keeps writing.
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
    destination = sqlite3.connect(target)
    try:
        source.backup(destination)
    finally:
        destination.close()
        source.close()


def _snapshot_part(connection: Connection, backend: str, method: BackupMethod) -> DatabasePart:
    revision_row = None
    if inspect(connection).has_table(logical.ALEMBIC_TABLE):
        revision_row = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return DatabasePart(
        backend="sqlite" if backend == "sqlite" else "postgresql",
        method=method,
        alembic_revision=revision_row,
        row_counts=logical.row_counts(connection),
    )


def _dump_sqlite(url: URL, workdir: Path, method: BackupMethod) -> DatabasePart:
    # Everything is read from a copy taken with the online backup API: pysqlite does not wrap SELECTs in
    # a transaction, so reading the live file table by table could mix moments while the platform writes.
    copy = workdir / ("database.sqlite3" if method == "sqlite-backup" else ".snapshot.sqlite3")
    _backup_sqlite(url, copy)
    # A plain engine: the platform's engine would switch the copy to WAL and leave -wal files behind.
    engine = create_engine(f"sqlite:///{copy}")
    try:
        with engine.connect() as connection:
            part = _snapshot_part(connection, "sqlite", method)
            if method == "logical":
                logical.dump(connection, workdir / "database")
    finally:
        engine.dispose()
    if method == "logical":
        copy.unlink()
    return part


def _dump_database(database_url: str, workdir: Path, method: BackupMethod) -> DatabasePart:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return _dump_sqlite(url, workdir, method)
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            # One REPEATABLE READ snapshot for the counts and the dump (pg_dump --snapshot), so the
            # manifest matches the dump even while ingest keeps writing.
            connection.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
            part = _snapshot_part(connection, url.get_backend_name(), method)
            if method == "pg_dump":
                snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
                args, env = _libpq_args(url)
                _run_tool(
                    ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}"]
                    + ["--file", str(workdir / "database.pgdump")]
                    + args,
                    env,
                )
            else:
                logical.dump(connection, workdir / "database")
            connection.rollback()
            return part
    finally:
        engine.dispose()


def backup_platform(
    *, database_url: str, keys_dir: Path, destination: Path, logical_dump: bool = False
) -> BackupManifest:
    """Back up the database at ``database_url`` and the key files in ``keys_dir`` into ``destination``.

    Args:
        database_url: SQLAlchemy URL of the platform database (SQLite or PostgreSQL).
        keys_dir: folder with the platform's key files (``platform.key``, ``platform.key_secret``).
        destination: a folder that must not exist yet; created with mode 0700.
        logical_dump: force the SQLAlchemy-level dump even where a native method exists.

    Raises:
        BackupError: if the destination exists, the database cannot be read or pg_dump fails.
    """
    if destination.exists():
        raise BackupError(f"{destination} exists; a backup goes into a new folder")
    if not keys_dir.is_dir():
        raise BackupError(f"keys folder {keys_dir} does not exist")
    method = _choose_method(make_url(database_url), "logical" if logical_dump else "auto")
    staging = destination.with_name(destination.name + ".partial")
    if staging.exists():
        raise BackupError(f"{staging} exists from an interrupted backup; remove it first")
    staging.mkdir(mode=0o700, parents=True)
    try:
        part = _dump_database(database_url, staging, method)
        (staging / "keys").mkdir(mode=0o700)
        for key_file in sorted(p for p in keys_dir.iterdir() if p.is_file()):
            shutil.copy2(key_file, staging / "keys" / key_file.name)
        files = [
            FileEntry(
                path=str(path.relative_to(staging)),
                sha256=sha256_file(path),
                mode=path.stat().st_mode & 0o777,
            )
            for path in sorted(staging.rglob("*"))
            if path.is_file()
        ]
        manifest = BackupManifest(
            created_at=datetime.now(UTC), nitrosignal_version=__version__, database=part, files=files
        )
        (staging / MANIFEST_NAME).write_text(manifest.model_dump_json(indent=2) + "\n")
        # Only a complete backup gets the final name: a half-written one is never mistaken for a good one.
        staging.rename(destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def verify_backup(backup_dir: Path) -> BackupManifest:
    """Read the manifest and check every file's sha256.

    Raises:
        BackupError: if the manifest is missing or a file is missing or altered.
    """
    manifest_path = backup_dir / MANIFEST_NAME
    if not manifest_path.is_file():
        raise BackupError(f"{manifest_path} is missing: {backup_dir} is not a complete nitrosignal backup")
    manifest = BackupManifest.model_validate_json(manifest_path.read_text())
    if manifest.format_version != FORMAT_VERSION:
        raise BackupError(f"backup format {manifest.format_version} is not supported (expected {FORMAT_VERSION})")
    for entry in manifest.files:
        path = backup_dir / entry.path
        if not path.is_file():
            raise BackupError(f"{path} is listed in the manifest but missing")
        if sha256_file(path) != entry.sha256:
            raise BackupError(f"{path} does not match its sha256 in the manifest: the backup is damaged")
    return manifest


def _require_empty(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            tables = inspect(connection).get_table_names()
    finally:
        engine.dispose()
    if tables:
        raise BackupError(
            f"the target database already has tables ({', '.join(sorted(tables)[:5])}...); restore only into a "
            "fresh, empty database"
        )


def _restore_database(backup_dir: Path, database_url: str, part: DatabasePart) -> None:
    url = make_url(database_url)
    target_backend = "sqlite" if url.get_backend_name() == "sqlite" else "postgresql"
    if target_backend != part.backend:
        # Even a logical dump is not portable: SQLite keeps naive UTC times and hex UUIDs, PostgreSQL does not.
        raise BackupError(f"a backup of a {part.backend} database restores into {part.backend}, not {target_backend}")
    if part.method == "sqlite-backup":
        target = Path(url.database or "")
        if target.exists() and target.stat().st_size > 0:
            raise BackupError(f"{target} exists; restore only into a fresh database file")
        target.parent.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(backup_dir / "database.sqlite3")
        destination = sqlite3.connect(target)
        try:
            source.backup(destination)
        finally:
            destination.close()
            source.close()
        return
    _require_empty(database_url)
    if part.method == "pg_dump":
        if not shutil.which("pg_restore"):
            raise BackupError("pg_restore is not installed; install the PostgreSQL client (postgresql-client-15)")
        args, env = _libpq_args(url)
        _run_tool(
            ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
            + args
            + [str(backup_dir / "database.pgdump")],
            env,
        )
        return
    # Logical: build the schema of the backup's revision with the migrations, then load the rows.
    if part.alembic_revision is None:
        raise BackupError("a logical backup without an Alembic revision cannot be restored")
    upgrade(database_url, part.alembic_revision)
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            logical.load(connection, backup_dir / "database", part.row_counts)
    finally:
        engine.dispose()


def _restore_keys(backup_dir: Path, manifest: BackupManifest, keys_dir: Path, overwrite_keys: bool) -> list[Path]:
    keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    restored = []
    for entry in manifest.files:
        if not entry.path.startswith("keys/"):
            continue
        target = keys_dir / Path(entry.path).name
        if target.exists() and sha256_file(target) != entry.sha256 and not overwrite_keys:
            raise BackupError(f"{target} exists with other contents; pass overwrite to replace the platform keys")
        # Write with the final mode from the first byte, so a secret key is never readable by others.
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, entry.mode)
        os.fchmod(fd, entry.mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write((backup_dir / entry.path).read_bytes())
        restored.append(target)
    return restored


def restore_platform(
    *, backup_dir: Path, database_url: str, keys_dir: Path, overwrite_keys: bool = False
) -> BackupManifest:
    """Restore a backup into a fresh database and a keys folder, and verify the row counts.

    Args:
        backup_dir: a folder written by :func:`backup_platform`.
        database_url: URL of a fresh, empty database (an existing SQLite file is refused).
        keys_dir: where the key files go (created with mode 0700).
        overwrite_keys: replace key files that exist there with other contents.

    Raises:
        BackupError: if the backup is damaged, the target is not empty, a tool fails, or the restored
            row counts differ from the manifest.
    """
    manifest = verify_backup(backup_dir)
    _restore_database(backup_dir, database_url, manifest.database)
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            restored_counts = logical.row_counts(connection)
    finally:
        engine.dispose()
    if restored_counts != manifest.database.row_counts:
        differences = {
            name: (manifest.database.row_counts.get(name), restored_counts.get(name))
            for name in sorted(set(restored_counts) | set(manifest.database.row_counts))
            if restored_counts.get(name) != manifest.database.row_counts.get(name)
        }
        raise BackupError(f"restored row counts differ from the backup (table: (backup, restored)): {differences}")
    if current_revision(database_url) != manifest.database.alembic_revision:
        raise BackupError("the restored database is not at the backup's schema revision")
    _restore_keys(backup_dir, manifest, keys_dir, overwrite_keys)
    return manifest
