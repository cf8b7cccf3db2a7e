"""``touchline import spend``: ad platforms' spend exports into the lake's ``spend`` table.

Reading a file is this module's job (encodings, delimiters, the title lines and total rows that
platform downloads put around their table, the Google Ads API's JSON); turning a row into a spend
record is :mod:`schemas.spend`'s.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from schemas import spend
from schemas.channels import active_channel_rules
from sinks.tables import TABLES
from streams.cli.lake_option import chosen_lake

Numbered = tuple[int, dict[str, Any]]


def _text(path: Path) -> str:
    raw = path.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # LinkedIn and Excel exports: UTF-16 with a byte order mark
        return raw.decode("utf-16")
    return raw.decode("utf-8-sig")


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    """A Google Ads API result (``{"campaign": {"id": ...}, "metrics": {"costMicros": ...}}``) as dotted names."""
    if not isinstance(value, dict):
        return {prefix: value}
    found: dict[str, Any] = {}
    for key, inner in value.items():
        found.update(_flat(inner, f"{prefix}.{key}" if prefix else str(key)))
    return found


def _json_rows(text: str) -> Iterator[Numbered]:
    document = json.loads(text)
    batches = document if isinstance(document, list) else [document]  # searchStream: a list of batches
    number = 0
    for batch in batches:
        for result in batch.get("results", [batch]) if isinstance(batch, dict) else []:
            number += 1
            yield number, _flat(result)


def read_rows(path: Path, fmt: str) -> tuple[spend.Header, list[Numbered]]:
    """A file's header and its data rows, each with its line (CSV) or result number (JSON).

    The header is the first line that holds the format's columns: title and date-range lines above it
    (Google Ads and LinkedIn downloads) are passed over, and so are total rows below (``Total: ...``).
    """
    text = _text(path)
    if text.lstrip().startswith(("{", "[")):
        rows = list(_json_rows(text))
        names = list(dict.fromkeys(name for _, row in rows for name in row))
        header = spend.Header(names, fmt)
        if header.missing:
            raise click.UsageError(f"{path}: not a {fmt} report: no {', '.join(header.missing)}")
        return header, rows
    sample = "\n".join(text.splitlines()[:20])
    delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    found: spend.Header | None = None
    names: list[str] = []
    rows: list[Numbered] = []
    for cells in reader:
        if found is None:
            candidate = spend.Header(cells, fmt)
            if not candidate.missing:
                found, names = candidate, cells
            continue
        if not any(cell.strip() for cell in cells) or cells[0].strip().lower().startswith("total"):
            continue
        rows.append((reader.line_num, dict(zip(names, cells, strict=False))))
    if found is None:
        wanted = spend.Header([], fmt).missing
        raise click.UsageError(f"{path}: not a {fmt} report: no line holds its columns ({', '.join(wanted)})")
    return found, rows


@click.command(name="spend")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(spend.FORMATS), required=True,
              help="The export's shape: a platform's report, or Touchline's own CSV.")
@click.option("--currency", metavar="CODE", help="The currency of files that name none (GA4 cost data: the "
                                                 "property's currency).")
@click.option("--account", metavar="ID", help="The ad account of files without an account column [default: "
                                              "default].")
@click.option("--lake", metavar="DIR|s3://BUCKET/PREFIX", help="The lake (default TOUCHLINE_LAKE, else ./lake).")
@click.option("--partial", is_flag=True, help="Import the valid rows of files that have invalid ones (exit 0).")
def import_spend_command(paths: tuple[Path, ...], fmt: str, currency: str | None, account: str | None,
                         lake: str | None, partial: bool) -> None:
    """Import ad spend exports into the lake's spend table, one row per platform, account, campaign and day.

    Rows of one campaign and day in a file (an export broken down by device or ad set) are added up;
    re-importing a range replaces its rows (the table holds each key once, a later file's over an earlier
    one's), so overlapping exports never add up. An invalid row is reported as FILE:ROW: field: problem;
    then nothing is imported (exit 1), unless --partial.
    """
    console = Console(stderr=True)
    rules = active_channel_rules()
    export = spend.Export(fmt, rules, account, currency.upper() if currency else None)
    records: list[dict[str, Any]] = []
    where: list[str] = []
    unassigned: Counter[str] = Counter()
    for path in paths:
        header, rows = read_rows(path, fmt)
        numbered: list[tuple[int, dict[str, Any]]] = []
        for number, row in rows:
            result = spend.spend_row(row, header, export, rules.channels)
            if isinstance(result, list):
                where.append(f"{path}:{number}: " + "; ".join(str(problem) for problem in result))
            else:
                numbered.append((number, result))
        added, clashes = spend.summed(numbered, header)
        where += [f"{path}:{number}: {problem}" for number, problem in clashes]
        records += added
        unassigned.update(r["campaign_name"] or r["campaign_id"] for r in added if r["channel"] is None)
    for line in where:
        click.echo(line, err=True)
    if where and not partial:
        console.print(f"nothing imported: {len(where):,} invalid rows (above); fix them, or pass --partial to "
                      f"import the {len(records):,} valid rows")
        raise SystemExit(1)
    store = chosen_lake(lake, existing=False)
    merged = store.write(TABLES["spend"], records)
    console.print(f"imported {merged:,} spend rows into {store} (invalid {len(where):,})")
    for campaign, count in unassigned.most_common(10):
        console.print(f"  no channel rule meets campaign {campaign!r} ({count:,} rows): add one, or give the "
                      "file a channel column")
