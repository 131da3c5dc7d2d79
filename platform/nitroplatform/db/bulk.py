"""Bulk writes for the ingest hot path, straight to the DBAPI (``executemany`` on SQLite; COPY and array
``UPDATE ... FROM unnest`` on PostgreSQL, where psycopg's executemany is Python work per row).

SQLAlchemy's per-row parameter processing costs more than the database itself at thousands of rows per
second, so the hot path converts values once, here, into exactly what SQLAlchemy's own types would store:

* SQLite: UTC datetimes as ``YYYY-MM-DD HH:MM:SS.ffffff`` text, uuids as 32 hex digits, booleans as 0/1
  (``UTCDateTime``, ``Uuid`` and ``Boolean`` on SQLite);
* PostgreSQL: native ``timestamptz``, ``uuid`` and ``boolean`` values, passed through to psycopg.

``test_platform_bulk`` checks that rows written here read back identically through the ORM.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table


class BulkWriter:
    """Builds and runs ``INSERT``/``UPDATE`` ... ``executemany`` for one dialect."""

    def __init__(self, dialect_name: str) -> None:
        """Args: dialect_name: ``sqlite`` or ``postgresql``."""
        if dialect_name not in ("sqlite", "postgresql"):
            raise ValueError(f"bulk writes support sqlite and postgresql, not {dialect_name}")
        self.sqlite = dialect_name == "sqlite"
        self._placeholder = "?" if self.sqlite else "%s"
        self._sql_cache: dict[tuple[str, str, tuple[str, ...], tuple[str, ...]], str] = {}

    def time(self, value: datetime | None) -> Any:
        """A UTC-aware datetime in the dialect's storage form."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the platform stores UTC-aware times only")
        if self.sqlite:
            if value.tzinfo is not UTC:
                value = value.astimezone(UTC)
            # isoformat is much faster than strftime; it drops a zero microsecond, SQLAlchemy's format does not.
            text = value.replace(tzinfo=None).isoformat(" ")
            return text if value.microsecond else text + ".000000"
        return value

    def read_uuid(self, value: Any) -> uuid.UUID:
        """A uuid read back with a raw driver query (32 hex digits on SQLite, native on PostgreSQL)."""
        return uuid.UUID(hex=value) if isinstance(value, str) else value

    def uuid(self, value: uuid.UUID | None) -> Any:
        """A uuid in the dialect's storage form."""
        if value is None:
            return None
        return value.hex if self.sqlite else value

    def flag(self, value: bool) -> Any:
        """A boolean in the dialect's storage form."""
        return int(value) if self.sqlite else value

    def insert(
        self, connection: Connection, table: Table, columns: tuple[str, ...], rows: Sequence[Sequence[Any]]
    ) -> None:
        """``INSERT INTO table (columns) VALUES (...)`` for every row.

        SQLite: one executemany (the loop runs in C). PostgreSQL: ``COPY ... FROM STDIN`` in the same transaction,
        because psycopg's executemany spends tens of microseconds of Python per row in its pipeline (and a multi-row
        ``VALUES`` statement is re-parsed in Python on every call); the server converts each value to its column.
        """
        if not rows:
            return
        if self.sqlite:
            key = ("insert", table.name, columns, ())
            sql = self._sql_cache.get(key)
            if sql is None:
                values = ", ".join([self._placeholder] * len(columns))
                sql = self._sql_cache[key] = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({values})"
            connection.exec_driver_sql(sql, list(rows))
            return
        driver_connection: Any = connection.connection.driver_connection
        statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        with driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)

    def update(
        self,
        connection: Connection,
        table: Table,
        columns: tuple[str, ...],
        keys: tuple[str, ...],
        rows: Sequence[Sequence[Any]],
    ) -> None:
        """``UPDATE table SET columns... WHERE keys...``; each row holds the column values, then the keys."""
        if not rows:
            return
        if not self.sqlite and len({tuple(row[len(columns) :]) for row in rows}) == len(rows):
            self._update_from_arrays(connection, table, columns, keys, rows)
            return
        cache_key = ("update", table.name, columns, keys)
        sql = self._sql_cache.get(cache_key)
        if sql is None:
            assignments = ", ".join(f"{name} = {self._placeholder}" for name in columns)
            conditions = " AND ".join(f"{name} = {self._placeholder}" for name in keys)
            sql = self._sql_cache[cache_key] = f"UPDATE {table.name} SET {assignments} WHERE {conditions}"
        connection.exec_driver_sql(sql, list(rows))

    def _update_from_arrays(
        self,
        connection: Connection,
        table: Table,
        columns: tuple[str, ...],
        keys: tuple[str, ...],
        rows: Sequence[Sequence[Any]],
    ) -> None:
        """PostgreSQL: one ``UPDATE ... FROM unnest(arrays)`` instead of an executemany (tens of microseconds of
        psycopg pipeline per row). Only for rows with distinct keys, where it is equivalent: each row is applied
        once, and no two rows touch the same record."""
        cache_key = ("update-arrays", table.name, columns, keys)
        sql = self._sql_cache.get(cache_key)
        if sql is None:
            names = (*columns, *keys)
            arrays = ", ".join(f"%s::{table.c[name].type.compile(dialect=connection.dialect)}[]" for name in names)
            assignments = ", ".join(f"{name} = k.{name}" for name in columns)
            conditions = " AND ".join(f"{table.name}.{name} = k.{name}" for name in keys)
            source = f"unnest({arrays}) AS k({', '.join(names)})"
            sql = self._sql_cache[cache_key] = f"UPDATE {table.name} SET {assignments} FROM {source} WHERE {conditions}"
        connection.exec_driver_sql(sql, tuple(list(values) for values in zip(*rows, strict=True)))

    def fetch(self, connection: Connection, template: str, params: Sequence[Any]) -> list[Any]:
        """Rows of a hand-written query; ``{p}`` in ``template`` marks each positional parameter (not cached)."""
        return list(connection.exec_driver_sql(template.replace("{p}", self._placeholder), tuple(params)).all())

    def execute_many(self, connection: Connection, template: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run a hand-written statement for every row; ``{p}`` in ``template`` marks each positional parameter."""
        if not rows:
            return
        cache_key = ("template", template, (), ())
        sql = self._sql_cache.get(cache_key)
        if sql is None:
            sql = self._sql_cache[cache_key] = template.replace("{p}", self._placeholder)
        connection.exec_driver_sql(sql, list(rows))
