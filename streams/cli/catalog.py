"""``touchline catalog``: write a DuckDB catalog file of the lake's views, for BI tools and `touchline sql`."""

from __future__ import annotations

from pathlib import Path

import click
import duckdb

from sinks.catalog import ModelError, build
from streams.cli.lake_option import chosen_lake, lake_option
from streams.settings import Settings


@click.command(name="catalog")
@lake_option
@click.option("--catalog", "catalog_file", type=click.Path(dir_okay=False, path_type=Path),
              help="The catalog file to write (default TOUCHLINE_CATALOG, else touchline.duckdb).")
def catalog_command(lake: str | None, catalog_file: Path | None) -> None:
    """Write (or refresh) a catalog file: the staging, journey and mart views over the lake's current tables.

    The views name the files of each table's current version: run it again after new commits land (a worker
    does so itself), and open the file read-only from a BI tool (DuckDB, or anything with a DuckDB driver).
    """
    store = chosen_lake(lake)
    target = catalog_file or Settings().catalog
    try:
        names = build(store, target)
    except duckdb.IOException as error:
        raise click.ClickException(f"cannot write {target}: {error}") from error
    except ModelError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"wrote {target}: {len(names)} views over {store}")
