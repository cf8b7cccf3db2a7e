"""``touchline compact`` and ``touchline vacuum``: the lake's housekeeping, on demand."""

from __future__ import annotations

import click

from sinks.lake import VACUUM_RETENTION_HOURS
from sinks.tables import TABLES
from streams.cli.lake_option import chosen_lake, lake_option
from streams.services.housekeeping import compact_lake


@click.command(name="compact")
@lake_option
def compact_command(lake: str | None) -> None:
    """Merge each table's small files (per event date) into large ones and checkpoint the Delta log.

    Readers keep reading while it runs; the worker also does this every TOUCHLINE_LAKE_COMPACT_SECONDS.
    """
    for name, (removed, added) in compact_lake(chosen_lake(lake)).items():
        click.echo(f"{name}: {removed} files compacted into {added}")


@click.command(name="vacuum")
@lake_option
@click.option("--retention-hours", default=VACUUM_RETENTION_HOURS, show_default=True, type=click.IntRange(min=0),
              help="Keep files that a version younger than this still reads (time travel, slow readers).")
def vacuum_command(lake: str | None, retention_hours: int) -> None:
    """Delete the files no table version within the retention reads (compacted, replaced, or never committed)."""
    store = chosen_lake(lake)
    for name in TABLES:
        click.echo(f"{name}: {len(store.vacuum(name, retention_hours))} files deleted")
