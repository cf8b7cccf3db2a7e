"""The ``--lake`` option every command that reads or writes the lake shares."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from streams.settings import Settings

if TYPE_CHECKING:
    from sinks.lake import Lake

#: ``--lake``: a folder or an object store URL; unset, TOUCHLINE_LAKE (else ./lake).
lake_option = click.option("--lake", metavar="DIR|s3://BUCKET/PREFIX",
                           help="The lake: a folder or an object store URL (default TOUCHLINE_LAKE, else ./lake).")


def chosen_lake(given: str | None, *, existing: bool = True) -> Lake:
    """The lake a command was given (or the settings' one); with ``existing``, a clear error if there is none."""
    from sinks.lake import Lake  # here: `touchline worker` takes --lake and leaves delta-rs to its stages

    lake = Lake(given or Settings().lake)
    if existing and not lake.storage.exists():
        raise click.UsageError(f"no lake at {lake}: run `touchline demo`, `touchline worker` or "
                               "`touchline stitch --lake DIR` first")
    return lake
