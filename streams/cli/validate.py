"""``touchline validate``: check touch/1 or Segment JSON Lines, one line per invalid record."""

from __future__ import annotations

import sys

import click

from schemas.event_map import DEFAULT_EVENT_MAP, EventMap
from schemas.touch import FieldError, TouchEvent, decode_json_object, validate_touch
from streams.services.inputs import read_lines
from streams.services.validate import segment_problems


@click.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--format", "kind", type=click.Choice(["touch", "segment"]), default="touch",
              show_default=True, help="touch/1 records, or Segment-spec calls and /v1/batch envelopes.")
def validate(files: tuple[str, ...], kind: str) -> None:
    """Check JSON Lines FILES ('-' for stdin): print `LINE: field: problem` per invalid record."""
    total = invalid = 0
    event_map = DEFAULT_EVENT_MAP
    if kind == "segment":
        from streams.settings import Settings

        try:
            event_map = EventMap.load(Settings().event_map)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
    for line in read_lines(files):
        total += 1
        payload = decode_json_object(line.raw)
        if isinstance(payload, FieldError):
            problems = [payload]
        elif kind == "segment":
            problems = segment_problems(payload, event_map)
        else:
            result = validate_touch(payload)
            problems = [] if isinstance(result, TouchEvent) else result
        if problems:
            invalid += 1
            where = f"{line.path}:{line.number}" if len(files) > 1 else str(line.number)
            click.echo(f"{where}: " + "; ".join(str(p) for p in problems))
    click.echo(f"{total} records, {invalid} invalid", err=True)
    sys.exit(1 if invalid else 0)
