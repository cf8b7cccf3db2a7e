"""The DuckDB catalog: views over the lake, layered staging → journeys → marts.

Each ``sinks/sql/<layer>/<name>.sql`` defines the relation ``<name>``; the layers run in
that order, after the macros of ``sinks/sql/macros/``. ``{{ lake.<table> }}`` stands for the
Parquet files of the Delta table's current version (or, while it has none, an empty relation
of the same columns): the views are rebuilt when a commit lands, so the catalog never holds
data of its own and analysts open it read-only while the pipeline keeps landing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import duckdb
import pyarrow as pa

from sinks.lake import Lake
from sinks.tables import TABLES

SQL_ROOT = Path(__file__).with_name("sql")
LAYERS = ("staging", "journeys", "marts")
MACROS = SQL_ROOT / "macros"
_PLACEHOLDER = re.compile(r"\{\{\s*lake\.(\w+)\s*\}\}")
_DUCKDB_TYPES = {pa.string(): "varchar", pa.float64(): "double", pa.int64(): "bigint", pa.bool_(): "boolean",
                 pa.timestamp("us", tz="UTC"): "timestamptz"}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _nulls(fields: Iterable[pa.Field]) -> str:
    return ", ".join(f"cast(null as {_DUCKDB_TYPES[f.type]}) as {f.name}" for f in fields)


def lake_relation(lake: Lake, table: str, connection: duckdb.DuckDBPyConnection | None = None) -> str:
    """SQL for a lake table: the files of its current version, or an empty relation with its columns.

    Files written before a column was added lack it: such a table's files are read by column name,
    and a column no file has yet reads as null (needs ``connection`` to look).
    """
    files, files_miss_columns = lake.current_files(table)
    if not files:
        return f"(select {_nulls(TABLES[table].schema)}, cast(null as date) as event_date where false)"
    listed = ", ".join(_quote(path) for path in files)
    if connection is None or not files_miss_columns:
        return f"read_parquet([{listed}], hive_partitioning = true)"
    relation = f"read_parquet([{listed}], hive_partitioning = true, union_by_name = true)"
    present = set(connection.sql(f"select * from {relation} limit 0").columns)
    missing = [f for f in TABLES[table].schema if f.name not in present]
    return f"(select *, {_nulls(missing)} from {relation})" if missing else relation


def build(lake: Lake, catalog: Path | str | duckdb.DuckDBPyConnection) -> list[str]:
    """(Re)create every view of the catalog (a file, or an open connection); return their names.

    Within a layer, a model whose inputs are not defined yet is retried after the others,
    so the build order follows the references without a list to maintain.
    """
    names: list[str] = []
    own = not isinstance(catalog, duckdb.DuckDBPyConnection)
    connection = lake.storage.connect(str(catalog)) if own else catalog
    try:
        for path in sorted(MACROS.glob("*.sql")):
            connection.execute(path.read_text())
        for layer in LAYERS:
            pending = [(p.stem, p.read_text()) for p in sorted((SQL_ROOT / layer).glob("*.sql"))]
            while pending:
                failed: list[tuple[str, str, Exception]] = []
                for name, sql in pending:
                    body = _PLACEHOLDER.sub(lambda m: lake_relation(lake, m.group(1), connection), sql)
                    try:
                        connection.execute(f"create or replace view {name} as {body}")
                        names.append(name)
                    except duckdb.CatalogException as error:
                        failed.append((name, sql, error))
                if len(failed) == len(pending):
                    raise failed[0][2]
                pending = [(name, sql) for name, sql, _ in failed]
    finally:
        if own:
            connection.close()
    return names
