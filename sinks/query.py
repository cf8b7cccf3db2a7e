"""Query helpers used by the CLI and the dashboard: the catalog, opened read-only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from sinks.duckdb_s3 import enable_object_store


def open_catalog(catalog: Path | str) -> duckdb.DuckDBPyConnection:
    """The catalog, read-only; able to read the lake's files when they are on an object store."""
    connection = duckdb.connect(str(catalog), read_only=True)
    remote = connection.execute("select count(*) from duckdb_views() where regexp_matches(sql, '[a-z0-9]+://')")
    if remote.fetchone()[0]:  # type: ignore[index]
        enable_object_store(connection)
    return connection


def query(catalog: Path | str, sql: str, params: list[Any] | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run one statement against the catalog (read-only); return column names and rows."""
    connection = open_catalog(catalog)
    try:
        result = connection.execute(sql, params or [])
        columns = [d[0] for d in result.description] if result.description else []
        return columns, result.fetchall()
    finally:
        connection.close()

