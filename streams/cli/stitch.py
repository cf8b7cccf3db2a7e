"""``touchline stitch``: touch JSON Lines in, account journeys out (the batch runner)."""

from __future__ import annotations

import click

from schemas.touch import TouchEvent, parse_touch
from sinks.lake import Lake
from streams.cli.journey_options import journey_options
from streams.services.inputs import read_lines
from streams.services.outputs import open_output, write_records
from streams.services.stitch import JOURNEY_COLUMNS, write_lake
from streams.settings import Settings
from transforms.admission import AllCopies, admit, dedupe
from transforms.gc_pause import paused_gc
from transforms.settings import JourneySettings
from transforms.stitching import stitch
from transforms.types import Touch, unresolved_row


def read_touches(files: tuple[str, ...], salt: str | None = None) -> tuple[list[Touch], int]:
    """The touches of JSON Lines files, admitted as the resolve stage admits them (e-mails pseudonymized with a
    ``salt``, the best copy of each event: :mod:`transforms.admission`); invalid lines are reported on stderr and
    counted."""
    touches, invalid, seen = [], 0, AllCopies()
    for line in read_lines(files):
        event = parse_touch(line.raw)
        if isinstance(event, TouchEvent):
            if touch := admit(event, salt, seen):
                touches.append(touch)
        else:
            invalid += 1
            click.echo(f"{line.path}:{line.number}: " + "; ".join(str(p) for p in event), err=True)
    return dedupe(touches), invalid


@click.command(name="stitch")
@click.argument("files", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option("--out", "-o", default="-", show_default=True, help="Where the journey touches go.")
@click.option("--transitions", type=click.Path(dir_okay=False), help="Also write stage transitions here.")
@click.option("--lake", metavar="DIR|s3://BUCKET/PREFIX",
              help="Also write touches and journey touches as a lake here (replacing those tables).")
@journey_options
def stitch_command(files: tuple[str, ...], fmt: str, out: str, transitions: str | None, lake: str | None,
                   journey: JourneySettings) -> None:
    """Stitch touch JSON Lines FILES ('-' for stdin) into account journeys."""
    landing = Settings().lake_settings(lake)
    with paused_gc():
        touches, invalid = read_touches(files, landing.salt)
        result = stitch(touches, journey)
    rows = [row.to_row() for row in result.rows] + [unresolved_row(t) for t in result.unresolved]
    with open_output(out) as handle:
        write_records(rows, handle, fmt, JOURNEY_COLUMNS)
    if transitions:
        with open(transitions, "w", encoding="utf-8", newline="") as handle:
            write_records((r.transition_row() for r in result.rows if r.is_transition), handle,
                          "csv" if transitions.endswith(".csv") else "jsonl")
    if lake is not None:
        write_lake(Lake(lake), touches, rows[: len(result.rows)], result.breaches, landing.suppression_key)
    click.echo(f"{len(result.rows)} journey touches on {len(result.cursors)} accounts, "
               f"{len(result.unresolved)} unresolved, {invalid} invalid skipped", err=True)
