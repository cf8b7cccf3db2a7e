"""``touchline sql``: run SQL against the catalog and print the result."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import duckdb
from rich.console import Console
from rich.table import Table

from sinks.attribution import RULE_BASED, MissingRate
from sinks.catalog import build as build_views
from sinks.lake import Lake
from sinks.query import query
from sinks.returns import DEFAULT_MODEL, query_returns
from streams.cli.lake_option import chosen_lake
from streams.cli.money import checked_money, money_options
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
@click.option("--model", type=click.Choice(RULE_BASED),
              help=f"The model the return marts (channel_performance, campaign_performance, influence) credit "
                   f"under: the session variable touchline_return_model [default: {DEFAULT_MODEL}]. Over a lake.")
@money_options
def sql_command(statement: str, lake: str | None, catalog: str | None, fmt: str, model: str | None,
                reporting_currency: str | None, rates: Path | None) -> None:
    """Run STATEMENT against the DuckDB catalog (read-only), or against the views of a lake (--lake).

    Without --lake, the catalog file is read; with none there, the views are built over TOUCHLINE_LAKE
    (else ./lake) when it exists. --model, --reporting-currency and --rates set the session's settings,
    so they build the views over a lake (--lake, else TOUCHLINE_LAKE).
    """
    settings = Settings()
    money = checked_money(reporting_currency, rates)
    session = model is not None or money["reporting_currency"] is not None
    if session and catalog and not lake:
        raise click.UsageError("--model, --reporting-currency and --rates set a lake's session: pass --lake, "
                               "not --catalog")
    catalog = catalog or str(settings.catalog)
    try:
        if session:
            columns, rows = query_returns(chosen_lake(lake or settings.lake).root, statement,
                                          model=model or DEFAULT_MODEL, **money)
        elif lake or (not Path(catalog).exists() and Lake(settings.lake).storage.exists()):
            columns, rows = _over_lake(lake or settings.lake, statement)
        elif not Path(catalog).exists():
            raise click.UsageError(f"no catalog at {catalog} and no lake at {settings.lake}: run `touchline demo` "
                                   "or a worker first, or pass --catalog or --lake")
        else:
            columns, rows = query(catalog, statement)
    except (duckdb.Error, MissingRate) as error:
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
