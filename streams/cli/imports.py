"""``touchline import``: CRM exports (``import salesforce|hubspot FILE...``) and ad spend (``import spend FILE...``)."""

from __future__ import annotations

import functools

import click

from streams.cli.import_crm import import_command
from streams.cli.import_spend import import_spend_command


def _crm_command(system: str) -> click.Command:
    """``import_command`` for one CRM: the same options, its SYSTEM argument fixed."""
    assert import_command.callback is not None
    return click.Command(system, callback=functools.partial(import_command.callback, system),
                         params=[p for p in import_command.params if p.name != "system"],
                         help=import_command.help, short_help=f"Import {system.title()} export files as touches.")


@click.group(name="import")
def import_group() -> None:
    """Import CRM exports as touches, or ad platforms' spend into the lake."""


for _system in ("salesforce", "hubspot"):
    import_group.add_command(_crm_command(_system))
import_group.add_command(import_spend_command)
