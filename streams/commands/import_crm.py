"""``touchline import``: CRM exports (Salesforce, HubSpot; CSV, JSON or JSON Lines) to touches."""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import Progress

from schemas import crm
from schemas.touch import TouchEvent
from streams.outputs import open_output
from streams.records import dumps
from streams.settings import Settings, salt_of
from transforms.privacy import pseudonymize


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a CSV file, a JSON array (or an object with a ``results`` array), or JSON Lines."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        return list(csv.DictReader(text.splitlines()))
    stripped = text.lstrip()
    if stripped.startswith("["):
        return list(json.loads(text))
    if stripped.startswith("{") and "\n{" not in stripped:
        document = json.loads(text)
        return list(document.get("results", [document]))
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def convert(system: str, rows: list[dict[str, Any]], source: str, currency: str | None) -> Iterator[crm.Converted]:
    """The converter for the CRM ``system``."""
    if system == "salesforce":
        yield from crm.convert_salesforce(rows, source, currency)
    else:
        yield from crm.convert_hubspot(rows, source, currency)


@click.command(name="import")
@click.argument("system", type=click.Choice(["salesforce", "hubspot"]))
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", help="The touches' source (default salesforce:import / hubspot:import).")
@click.option("--out", "-o", help="Write touch JSON Lines here instead of producing to touches-raw-v1.")
@click.option("--currency", metavar="CODE", callback=lambda _, __, value: value.upper() if value else None,
              help="The org's currency, for deal rows without one (single-currency exports); never assumed.")
def import_command(system: str, paths: tuple[Path, ...], source: str | None, out: str | None,
                   currency: str | None) -> None:
    """Import CRM export files: valid rows become touches, others are counted with their reason.

    Importing the same file twice changes nothing downstream: every touch keeps its CRM
    record id as event_id, and the pipeline de-duplicates on (source, event_id).
    """
    source = source or f"{system}:import"
    console = Console(stderr=True)
    touches: list[TouchEvent] = []
    skipped: Counter[str] = Counter()
    invalid: Counter[str] = Counter()
    with Progress(console=console, transient=True) as progress:
        for path in paths:
            rows = read_rows(path)
            task = progress.add_task(f"importing {path.name}", total=len(rows))
            for result in convert(system, rows, source, currency):
                if isinstance(result, TouchEvent):
                    touches.append(result)
                elif isinstance(result, crm.Skipped):
                    skipped[result.reason] += 1
                else:
                    invalid["; ".join(str(e) for e in result)] += 1
                progress.advance(task)
    salt = salt_of(Settings())  # with TOUCHLINE_EMAIL_HASH_SALT, e-mails never leave here in clear
    lines = [dumps(pseudonymize(t.to_wire(), salt)) for t in touches]
    if out:
        with open_output(out) as handle:
            handle.writelines(line.decode() + "\n" for line in lines)
    else:
        from streams.producing import produce_raw

        bootstrap = Settings().kafka_bootstrap
        if not bootstrap:
            raise click.UsageError("set TOUCHLINE_KAFKA_BOOTSTRAP (or use --out FILE)")
        produce_raw(lines, bootstrap)
    console.print(f"imported {len(touches):,} touches, skipped {sum(skipped.values()):,}, "
                  f"invalid {sum(invalid.values()):,}")
    for reason, count in (skipped + invalid).most_common():
        console.print(f"  {count:>6,}  {reason}")
    if any(reason.startswith("currency:") for reason in invalid):
        console.print("deal rows without a currency: give --currency CODE (the org's currency) if the export has "
                      "no currency column")
