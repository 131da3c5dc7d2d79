"""Logical (SQLAlchemy-level) dump and load of the platform database, for hosts without pg_dump.

Each table becomes one JSON-lines file. Values that JSON cannot carry are tagged (``{"$dt": ...}``,
``{"$uuid": ...}``, ``{"$b64": ...}``, ``{"$dec": ...}``) so that loading gives back the same Python
objects. Loading goes into a fresh database that was first migrated to the dump's Alembic revision, so
the table shapes match; integer id sequences are then moved past the restored ids on PostgreSQL.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Integer, MetaData, Table, func, insert, select, text

ALEMBIC_TABLE = "alembic_version"
INSERT_BATCH = 500


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, time):
        return {"$time": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return {"$uuid": str(value)}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$b64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        ((tag, raw),) = value.items()
        decoders = {
            "$dt": datetime.fromisoformat,
            "$date": date.fromisoformat,
            "$time": time.fromisoformat,
            "$uuid": uuid.UUID,
            "$b64": base64.b64decode,
            "$dec": Decimal,
        }
        if tag in decoders:
            return decoders[tag](raw)
    return value


def reflect(connection: Connection) -> MetaData:
    """The tables as they are in the database (not as the code would create them)."""
    metadata = MetaData()
    metadata.reflect(bind=connection)
    return metadata


def data_tables(metadata: MetaData) -> list[Table]:
    """Tables in foreign-key order, without Alembic's bookkeeping table."""
    return [table for table in metadata.sorted_tables if table.name != ALEMBIC_TABLE]


def row_counts(connection: Connection) -> dict[str, int]:
    """Number of rows in every data table."""
    counts = {}
    for table in data_tables(reflect(connection)):
        counts[table.name] = int(connection.execute(select(func.count()).select_from(table)).scalar_one())
    return counts


def dump(connection: Connection, folder: Path) -> dict[str, int]:
    """Write every data table to ``folder/<table>.jsonl``; returns the row count per table."""
    folder.mkdir(parents=True, exist_ok=True)
    counts = {}
    for table in data_tables(reflect(connection)):
        order = list(table.primary_key.columns) or list(table.columns)
        written = 0
        with open(folder / f"{table.name}.jsonl", "w", encoding="utf-8") as handle:
            for row in connection.execute(select(table).order_by(*order)).mappings():
                handle.write(json.dumps({key: _encode(value) for key, value in row.items()}, sort_keys=True))
                handle.write("\n")
                written += 1
        counts[table.name] = written
    return counts


def _rows(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            yield {key: _decode(value) for key, value in json.loads(line).items()}


def load(connection: Connection, folder: Path, expected: dict[str, int]) -> None:
    """Insert the dumped rows into the (migrated, empty) tables of ``connection``'s database.

    Raises:
        ValueError: if the dump names a table the database does not have.
    """
    tables = {table.name: table for table in data_tables(reflect(connection))}
    missing = sorted(set(expected) - set(tables))
    if missing:
        raise ValueError(f"the dump has tables the migrated database lacks: {missing}; schema revisions differ")
    for name, table in tables.items():
        path = folder / f"{name}.jsonl"
        if name not in expected:
            continue
        batch: list[dict[str, Any]] = []
        for row in _rows(path):
            batch.append(row)
            if len(batch) >= INSERT_BATCH:
                connection.execute(insert(table), batch)
                batch = []
        if batch:
            connection.execute(insert(table), batch)
    if connection.dialect.name == "postgresql":
        _advance_sequences(connection, list(tables.values()))


def _advance_sequences(connection: Connection, tables: list[Table]) -> None:
    # Explicit ids were inserted, so each serial/identity sequence must move past them or the next insert
    # would collide with a restored row.
    for table in tables:
        for column in table.primary_key.columns:
            if not isinstance(column.type, Integer):
                continue
            sequence = connection.execute(
                text("SELECT pg_get_serial_sequence(:table, :column)"),
                {"table": table.name, "column": column.name},
            ).scalar_one()
            if sequence is None:
                continue
            top = connection.execute(select(func.max(column))).scalar_one()
            if top is not None:
                connection.execute(text("SELECT setval(:sequence, :top)"), {"sequence": sequence, "top": top})
