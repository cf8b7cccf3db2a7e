"""``touchline sql``: run SQL against the catalog and print the result."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import duckdb
from rich.console import Console
from rich.table import Table

from sinks.catalog import build as build_views
from sinks.lake import Lake
from sinks.query import query
from streams.commands.lake_option import chosen_lake
from streams.settings import Settings


def print_result(columns: list[str], rows: list[tuple[object, ...]], fmt: str) -> None:
    """Print rows as an aligned table (terminal), CSV or JSON Lines."""
    if fmt == "auto":
        fmt = "table" if sys.stdout.isatty() else "csv"
    if fmt == "json":
        for row in rows:
            click.echo(json.dumps(dict(zip(columns, row, strict=True)), default=str))
    elif fmt == "csv":
        import csv

        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
    else:
        table = Table(*columns)
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        Console().print(table)


@click.command(name="sql")
@click.argument("statement")
@click.option("--lake", metavar="DIR|s3://BUCKET/PREFIX",
              help="Build the catalog's views over this lake for the statement (no catalog file needed).")
@click.option("--catalog", type=click.Path(dir_okay=False),
              help="The DuckDB catalog (default TOUCHLINE_CATALOG, else touchline.duckdb).")
@click.option("--format", "fmt", type=click.Choice(["auto", "table", "csv", "json"]), default="auto",
              show_default=True, help="auto: a table in a terminal, CSV when piped.")
def sql_command(statement: str, lake: str | None, catalog: str | None, fmt: str) -> None:
    """Run STATEMENT against the DuckDB catalog (read-only), or against the views of a lake (--lake).

    Without --lake, the catalog file is read; with none there, the views are built over TOUCHLINE_LAKE
    (else ./lake) when it exists.
    """
    settings = Settings()
    catalog = catalog or str(settings.catalog)
    try:
        if lake or (not Path(catalog).exists() and Lake(settings.lake).storage.exists()):
            columns, rows = _over_lake(lake or settings.lake, statement)
        elif not Path(catalog).exists():
            raise click.UsageError(f"no catalog at {catalog} and no lake at {settings.lake}: run `touchline demo` "
                                   "or a worker first, or pass --catalog or --lake")
        else:
            columns, rows = query(catalog, statement)
    except duckdb.Error as error:
        raise click.ClickException(str(error)) from error
    print_result(columns, rows, fmt)


def _over_lake(root: str, statement: str) -> tuple[list[str], list[tuple[object, ...]]]:
    """The statement's result over an in-memory catalog of the lake's views."""
    store = chosen_lake(root)
    connection = store.connect()
    try:
        build_views(store, connection)
        result = connection.execute(statement)
        return [d[0] for d in result.description] if result.description else [], result.fetchall()
    finally:
        connection.close()
