"""``touchline sql``: run SQL against the catalog and print the result."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import duckdb
from rich.console import Console
from rich.table import Table

from sinks.query import query
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
@click.option("--catalog", type=click.Path(dir_okay=False),
              help="The DuckDB catalog (default TOUCHLINE_CATALOG, else touchline.duckdb).")
@click.option("--format", "fmt", type=click.Choice(["auto", "table", "csv", "json"]), default="auto",
              show_default=True, help="auto: a table in a terminal, CSV when piped.")
def sql_command(statement: str, catalog: str | None, fmt: str) -> None:
    """Run STATEMENT against the DuckDB catalog (read-only)."""
    catalog = catalog or str(Settings().catalog)
    if not Path(catalog).exists():
        raise click.UsageError(f"no catalog at {catalog}: run `touchline demo` or a worker first, or pass --catalog")
    try:
        columns, rows = query(catalog, statement)
    except duckdb.Error as error:
        raise click.ClickException(str(error)) from error
    print_result(columns, rows, fmt)
