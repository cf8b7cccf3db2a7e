"""``touchline demo``: the whole pipeline on this machine, from generated touches to the lake."""

from __future__ import annotations

import logging
import time

import click
from rich.console import Console
from rich.table import Table

from sinks.catalog import build as build_catalog
from sinks.query import query
from streams.cli.generate import population_options, settings_from, wire_line
from streams.cli.lake_option import lake_option
from streams.services.housekeeping import compact_lake
from streams.settings import Settings
from transforms.generator import generate
from transforms.stitching import stitch
from transforms.types import Touch


@click.command(name="demo")
@population_options(duplicates=0.02, late=0.05, invalid=0.01)
@lake_option
@click.option("--catalog", type=click.Path(dir_okay=False), help="DuckDB catalog (default TOUCHLINE_CATALOG).")
@click.option("--timeout", default=600.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Seconds to wait for everything to land.")
def demo_command(lake: str | None, catalog: str | None, timeout: float, **population: object) -> None:
    """Start a broker and a worker, stream a generated population, summarise what landed."""
    from streams.runtime.broker import open_broker
    from streams.runtime.landed import wait_until_landed
    from streams.runtime.producing import produce_raw
    from streams.runtime.worker import Worker

    logging.basicConfig(level=logging.WARNING)
    overrides = {k: v for k, v in {"lake": lake, "catalog": catalog}.items() if v}
    settings = Settings(**overrides)  # type: ignore[arg-type]
    console = Console(stderr=True)
    gen = settings_from(**population)  # type: ignore[arg-type]
    with console.status("generating buyer journeys"):
        events = list(generate(gen))
    valid = sum(1 for e in events if not e.malformed and not e.duplicate)
    # The batch engine on the same records: the stream must land as many journey rows.
    journeys = len(stitch([Touch.from_wire(e.record) for e in events if e.record and not e.malformed]).rows)
    malformed = sum(e.malformed for e in events)
    console.print(f"generated {len(events):,} records for {gen.accounts:,} accounts over {gen.days} days "
                  f"({valid:,} valid distinct, {malformed:,} malformed, {len(events) - valid - malformed:,} "
                  "duplicates; some late and out of order)")
    with open_broker(settings.kafka_bootstrap) as broker:
        console.print(f"broker on {broker.bootstrap}")
        worker = Worker(broker.bootstrap, settings).start()
        try:
            started = time.monotonic()
            with console.status("streaming touches through the pipeline"):
                produce_raw((wire_line(e) for e in events), broker.bootstrap, settings)
                counts = wait_until_landed(worker.lake, valid, malformed, journeys, alive=worker.alive, timeout=timeout)
            seconds = time.monotonic() - started
        finally:
            worker.close()
    console.print(f"everything landed {seconds:.1f}s after the first record was sent "
                  "(process start and consumer-group joins included)")
    with console.status("compacting the lake"):
        compacted = compact_lake(worker.lake)
        build_catalog(worker.lake, settings.catalog)
    console.print(f"compacted {sum(r for r, _ in compacted.values()):,} small files into "
                  f"{sum(a for _, a in compacted.values()):,}")
    _summary(settings, counts)


def _summary(settings: Settings, counts: dict[str, int]) -> None:
    console = Console()
    table = Table("what", "count", title="Touchline demo")
    table.add_row("touches in (valid, distinct)", f"{counts['touches']:,}")
    table.add_row("dead letters", f"{counts['dead_letters']:,}")
    table.add_row("journey touches", f"{counts['journey_touches']:,}")
    table.add_row("late touches (for replay)", f"{counts['late_touches']:,}")
    table.add_row("lead SLA breaches", f"{counts['sla_breaches']:,}")
    _, stages = query(settings.catalog, "select stage, count(*) from journeys group by stage order by "
                                        "list_position(['find', 'engage', 'close', 'grow'], stage)")
    for stage, accounts in stages:
        table.add_row(f"accounts in {stage.title()}", f"{accounts:,}")
    console.print(table)
    # soft_wrap: a command is copied whole, never broken across lines at the terminal's width
    console.print(f"Query it: touchline sql \"select * from journeys limit 10\" --catalog {settings.catalog}",
                  soft_wrap=True)
    console.print(f"See it:   touchline dashboard --lake {settings.lake}   (or --out report.html)", soft_wrap=True)
