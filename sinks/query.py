"""Query helpers used by the CLI and the dashboard: the catalog, opened read-only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb


def query(catalog: Path | str, sql: str, params: list[Any] | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run one statement against the catalog (read-only); return column names and rows."""
    connection = duckdb.connect(str(catalog), read_only=True)
    try:
        result = connection.execute(sql, params or [])
        columns = [d[0] for d in result.description] if result.description else []
        return columns, result.fetchall()
    finally:
        connection.close()

