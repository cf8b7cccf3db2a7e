"""``touchline sync``: CRMs pulled incrementally, on durable cursors beside the lake."""

from __future__ import annotations

import click

from streams.commands.sync_hubspot import sync_hubspot


@click.group(name="sync")
def sync_command() -> None:
    """Pull what changed in a CRM since the last sync (cursors kept beside the lake) and produce its touches."""


sync_command.add_command(sync_hubspot)
