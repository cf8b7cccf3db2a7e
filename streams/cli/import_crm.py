"""``touchline import``: CRM exports (Salesforce, HubSpot; CSV, JSON or JSON Lines) to touches."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
from rich.console import Console
from rich.progress import Progress

from schemas import crm
from schemas.touch import TouchEvent
from streams.runtime.records import dumps
from streams.services.crm_import import numbered, read_rows
from streams.services.outputs import open_output
from streams.settings import Settings
from transforms.privacy import pseudonymize


def _zone(_: object, __: object, value: str | None) -> ZoneInfo | None:
    if not value:
        return None
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise click.BadParameter(f"{value!r} is not an IANA time zone (e.g. America/New_York)") from exc


@click.command(name="import")
@click.argument("system", type=click.Choice(["salesforce", "hubspot"]))
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", help="The touches' source (default salesforce:import / hubspot:import).")
@click.option("--out", "-o", help="Write touch JSON Lines here instead of producing to touches-raw-v1.")
@click.option("--currency", metavar="CODE", envvar="TOUCHLINE_CRM_CURRENCY",
              callback=lambda _, __, value: value.upper() if value else None,
              help="The org's currency, for deal rows without one (single-currency exports); never assumed "
                   "[default: TOUCHLINE_CRM_CURRENCY].")
@click.option("--time-zone", "zone", metavar="ZONE", envvar="TOUCHLINE_CRM_TIME_ZONE", callback=_zone,
              help="The org's or portal's time zone, for date-times written without one (report and UI exports, "
                   "e.g. 2026-10-10 18:00) [default: TOUCHLINE_CRM_TIME_ZONE].")
@click.option("--partial", is_flag=True, help="Import the valid rows of files that have invalid ones (exit 0).")
def import_command(system: str, paths: tuple[Path, ...], source: str | None, out: str | None,
                   currency: str | None, zone: ZoneInfo | None, partial: bool) -> None:
    """Import CRM export files: valid rows become touches, others are counted with their reason.

    An invalid row is reported with its file and row number (CSV: the line, the header being line 1);
    then nothing is imported and the exit status is 1, unless --partial. Importing the same file
    twice changes nothing downstream: every touch keeps its CRM record id as event_id, and the
    pipeline de-duplicates on (source, event_id).
    """
    export = crm.Export(source or f"{system}:import", currency, zone)
    console = Console(stderr=True)
    touches: list[TouchEvent] = []
    skipped: Counter[str] = Counter()
    invalid: Counter[str] = Counter()
    where: list[str] = []
    with Progress(console=console, transient=True) as progress:
        for path in paths:
            rows = read_rows(path)
            task = progress.add_task(f"importing {path.name}", total=len(rows))
            first = 2 if path.suffix.lower() == ".csv" else 1  # CSV: line numbers, after the header
            for row, result in numbered(system, rows, export, first):
                if isinstance(result, TouchEvent):
                    touches.append(result)
                elif isinstance(result, crm.Skipped):
                    skipped[result.reason] += 1
                else:
                    reason = "; ".join(str(e) for e in result)
                    invalid[reason] += 1
                    where.append(f"{path}:{row}: {reason}" if row is not None else f"{path}: {reason}")
                progress.advance(task)
    for line in where:
        click.echo(line, err=True)
    if any("has no time zone" in reason for reason in invalid):
        console.print("date-times without a zone: give --time-zone ZONE (the org's or portal's)")
    if any(reason.startswith("currency:") for reason in invalid):
        console.print("deal rows without a currency: give --currency CODE (the org's currency) if the export has "
                      "no currency column")
    if where and not partial:
        console.print(f"nothing imported: {len(where):,} invalid rows (above); fix them, or pass --partial to "
                      f"import the {len(touches):,} valid touches")
        raise SystemExit(1)
    salt = Settings().lake_settings().salt  # with TOUCHLINE_EMAIL_HASH_SALT, e-mails never leave here in clear
    lines = [dumps(pseudonymize(t.to_wire(), salt)) for t in touches]
    if out:
        with open_output(out) as handle:
            handle.writelines(line.decode() + "\n" for line in lines)
    else:
        from streams.runtime.producing import produce_raw

        bootstrap = Settings().kafka_bootstrap
        if not bootstrap:
            raise click.UsageError("set TOUCHLINE_KAFKA_BOOTSTRAP (or use --out FILE)")
        produce_raw(lines, bootstrap)
    console.print(f"imported {len(touches):,} touches, skipped {sum(skipped.values()):,}, "
                  f"invalid {sum(invalid.values()):,}")
    for reason, count in (skipped + invalid).most_common():
        console.print(f"  {count:>6,}  {reason}")
