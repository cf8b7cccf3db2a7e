"""The DuckDB catalog: views over the lake, layered staging → journeys → marts.

Each ``sinks/sql/<layer>/<name>.sql`` defines the model (a view) ``<name>``, after the macros of
``sinks/sql/macros/``. A model names what it reads: ``{{ ref('<model>') }}`` stands for another
model's view, and the views are created in the order those references give (a model may read one
of any layer); ``{{ lake.<table> }}`` stands for the Parquet files of the Delta table's current
version (or, while it has none, an empty relation of the same columns). The views are rebuilt
when a commit lands, so the catalog never holds data of its own and analysts open it read-only
while the pipeline keeps landing.

A header line ``-- key: a, b`` declares the columns that identify a model's row: unique together
and never null, except a column marked ``?`` (``currency?``: null where a row has no currency,
still one row per value); ``-- key: (one row)`` says the model has at most one row.
``tests/sql/test_catalog.py`` checks every key over a demo lake.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import duckdb
import pyarrow as pa

from sinks.lake import Lake
from sinks.tables import TABLES

SQL_ROOT = Path(__file__).with_name("sql")
LAYERS = ("staging", "journeys", "marts")
MACROS = SQL_ROOT / "macros"
_PLACEHOLDER = re.compile(r"\{\{\s*lake\.(\w+)\s*\}\}")
_REF = re.compile(r"\{\{\s*ref\(\s*'(\w+)'\s*\)\s*\}\}")
_KEY = re.compile(r"^--\s*key:\s*(.*?)\s*$", re.MULTILINE)
ONE_ROW = "(one row)"
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


@dataclass(frozen=True, slots=True)
class Model:
    """One ``.sql`` file: the view it defines, the models it reads and its declared key."""

    name: str
    path: Path
    sql: str
    refs: tuple[str, ...]
    key: tuple[str, ...] | None  # None: no key declared; (): at most one row
    nullable: frozenset[str]  # key columns that may be null


class ModelError(duckdb.Error):
    """A model's view could not be created: names the model and shows its SQL."""


class DependencyError(ValueError):
    """A model reads a model that does not exist, or the models read each other in a cycle."""


def parse(path: Path) -> Model:
    """The model a ``.sql`` file defines."""
    sql = path.read_text()
    refs = tuple(dict.fromkeys(_REF.findall(sql)))
    declared = _KEY.findall(sql)
    if len(declared) > 1:
        raise DependencyError(f"model {path.stem} ({path}) declares its key {len(declared)} times")
    key: tuple[str, ...] | None = None
    nullable: frozenset[str] = frozenset()
    if declared:
        columns = [] if declared[0] == ONE_ROW else [c.strip() for c in declared[0].split(",") if c.strip()]
        key = tuple(c.rstrip("?") for c in columns)
        nullable = frozenset(c.rstrip("?") for c in columns if c.endswith("?"))
    return Model(path.stem, path, sql, refs, key, nullable)


def load(root: Path = SQL_ROOT) -> dict[str, Model]:
    """Every model under ``root``'s layer folders, by name."""
    found: dict[str, Model] = {}
    for layer in LAYERS:
        for path in sorted((root / layer).glob("*.sql")):
            if path.stem in found:
                raise DependencyError(f"model {path.stem} is defined twice: {found[path.stem].path} and {path}")
            found[path.stem] = parse(path)
    return found


def ordered(models: Mapping[str, Model]) -> list[Model]:
    """The models, each after every model it reads (the same order on every build)."""
    for model in models.values():
        unknown = [ref for ref in model.refs if ref not in models]
        if unknown:
            raise DependencyError(f"model {model.name} ({model.path}) reads {', '.join(map(repr, unknown))}, "
                                  "which no model defines")
    sorter = TopologicalSorter({name: model.refs for name, model in models.items()})
    try:
        return [models[name] for name in sorter.static_order()]
    except CycleError as error:
        cycle = error.args[1]
        raise DependencyError(f"model {cycle[0]} ({models[cycle[0]].path}) reads itself through a cycle: "
                              + " -> ".join(reversed(cycle))) from None


def render(model: Model, lake: Lake, connection: duckdb.DuckDBPyConnection | None = None) -> str:
    """The model's SQL with its references resolved: a ``ref`` is the model's view, a ``lake.<table>`` its files."""
    body = _REF.sub(lambda m: m.group(1), model.sql)
    return _PLACEHOLDER.sub(lambda m: lake_relation(lake, m.group(1), connection), body)


def create(connection: duckdb.DuckDBPyConnection, model: Model, lake: Lake) -> None:
    """(Re)create the model's view; the models it reads must exist.

    An error of the model's SQL raises :class:`ModelError`; one reading the lake's files (or a locked catalog
    file) is raised as DuckDB gave it.
    """
    try:
        connection.execute(f"create or replace view {model.name} as {render(model, lake, connection)}")
    except duckdb.IOException:
        raise
    except duckdb.Error as error:
        raise ModelError(f"model {model.name} ({model.path}): {error}\n{model.sql}") from error


def refresh(lake: Lake, catalog: Path | str, tables: set[str]) -> list[str]:
    """Point the views that read ``tables`` of the lake at their files' current version; return their names.

    Only those: DuckDB binds the views a view reads each time it is queried, so every view above them sees
    the new files through them (rebuilding all ~70 views after each landing cost the sink a third of its CPU).
    The models are read again each time (a millisecond or two): a model edited while a worker runs is
    picked up by its next landing.
    """
    models = [model for model in ordered(load()) if tables & set(_PLACEHOLDER.findall(model.sql))]
    return _create_all(lake, catalog, models, macros=False) if models else []


def build(lake: Lake, catalog: Path | str | duckdb.DuckDBPyConnection) -> list[str]:
    """(Re)create every view of the catalog (a file, or an open connection); return their names."""
    return _create_all(lake, catalog, ordered(load()), macros=True)


def _create_all(lake: Lake, catalog: Path | str | duckdb.DuckDBPyConnection, models: list[Model], *,
                macros: bool) -> list[str]:
    """(Re)create ``models``' views in order (the macros first, with ``macros``), in one session of the catalog
    (a file, closed after, or a connection left open); return their names."""
    own = not isinstance(catalog, duckdb.DuckDBPyConnection)
    connection = catalog if isinstance(catalog, duckdb.DuckDBPyConnection) else lake.storage.connect(str(catalog))
    try:
        if macros:
            for path in sorted(MACROS.glob("*.sql")):
                connection.execute(path.read_text())
        for model in models:
            create(connection, model, lake)
    finally:
        if own:
            connection.close()
    return [model.name for model in models]
