"""``touchline compact`` and ``touchline vacuum``: the lake's housekeeping, on demand."""

from __future__ import annotations

from pathlib import Path

import click

from sinks.lake import VACUUM_RETENTION_HOURS, Lake
from sinks.tables import TABLES
from streams.settings import Settings

_LAKE = click.option("--lake", type=click.Path(file_okay=False, path_type=Path), help="Lake (default TOUCHLINE_LAKE).")


def _lake(lake: Path | None) -> Lake:
    return Lake(lake or Settings().lake)


def compact_lake(lake: Lake) -> dict[str, tuple[int, int]]:
    """Compact every table; return (files removed, files added) per table."""
    done = {}
    for name in TABLES:
        metrics = lake.compact(name)
        done[name] = (int(metrics.get("numFilesRemoved", 0)), int(metrics.get("numFilesAdded", 0)))
    return done


@click.command(name="compact")
@_LAKE
def compact_command(lake: Path | None) -> None:
    """Merge each table's small files (per event date) into large ones and checkpoint the Delta log.

    Readers keep reading while it runs; the worker also does this every TOUCHLINE_LAKE_COMPACT_SECONDS.
    """
    for name, (removed, added) in compact_lake(_lake(lake)).items():
        click.echo(f"{name}: {removed} files compacted into {added}")


@click.command(name="vacuum")
@_LAKE
@click.option("--retention-hours", default=VACUUM_RETENTION_HOURS, show_default=True, type=click.IntRange(min=0),
              help="Keep files that a version younger than this still reads (time travel, slow readers).")
def vacuum_command(lake: Path | None, retention_hours: int) -> None:
    """Delete the files no table version within the retention reads (compacted, replaced, or never committed)."""
    store = _lake(lake)
    for name in TABLES:
        click.echo(f"{name}: {len(store.vacuum(name, retention_hours))} files deleted")
