"""``touchline backfill`` and ``touchline replay``: history through Apache Beam."""

from __future__ import annotations

import time
from collections.abc import Callable

import click
from rich.console import Console

from sinks.lake import Lake
from sinks.privacy import SuppressionKeyError
from streams.cli.journey_options import journey_options
from streams.cli.lake_option import chosen_lake, lake_option
from streams.services.backfill import backfill, replay
from transforms.settings import JourneySettings


def _run_with_progress(what: str, store: Lake, job: Callable[[], dict[str, int]]) -> None:
    """Run ``job`` (it returns the tables it committed and their versions) under a spinner, then say how
    many rows each rebuilt table holds."""
    console = Console(stderr=True)
    started = time.monotonic()
    with console.status(what):
        try:
            versions = job()
        except (FileNotFoundError, SuppressionKeyError) as error:  # no input, nothing to replay, no key
            raise click.UsageError(str(error)) from None
    counts = {t: store.rows(t) for t in versions}
    console.print(f"{what.replace('ing', 'ed', 1)} in {time.monotonic() - started:.1f}s: "
                  + ", ".join(f"{counts[table]:,} {table} (version {version})" for table, version in versions.items()))


@click.command(name="backfill", context_settings={"ignore_unknown_options": True})
@click.option("--input", "inputs", multiple=True, required=True, help="Touch JSON Lines: paths or globs.")
@lake_option
@click.option("--runner", default="DirectRunner", show_default=True,
              help="DirectRunner or DaskRunner (tested); FlinkRunner, SparkRunner, DataflowRunner... (untested).")
@click.option("--workers", type=click.IntRange(min=1),
              help="DirectRunner: run this many processes; DaskRunner without --dask_client_address: a local "
                   "cluster of this many worker processes.")
@journey_options
@click.argument("beam_args", nargs=-1, type=click.UNPROCESSED)
def backfill_command(inputs: tuple[str, ...], lake: str | None, runner: str, workers: int | None,
                     journey: JourneySettings, beam_args: tuple[str, ...]) -> None:
    """Rebuild touches, journey_touches and dead_letters of a lake from raw touch files."""
    from streams.settings import Settings

    landing = Settings().lake_settings(lake)  # the salt and suppression key, as the streaming pipeline reads them
    store = chosen_lake(landing.root, existing=False)
    _run_with_progress(f"backfilling {store} on {runner}", store,
                       lambda: backfill(inputs, landing, journey, runner=runner, workers=workers, beam_args=beam_args))


@click.command(name="replay", context_settings={"ignore_unknown_options": True})
@lake_option
@click.option("--runner", default="DirectRunner", show_default=True, help="As backfill's.")
@click.option("--workers", type=click.IntRange(min=1), help="As backfill's.")
@journey_options
@click.option("--event-map", type=click.Path(dir_okay=False, exists=True),
              help="Event name rules over the shipped defaults [default: TOUCHLINE_EVENT_MAP]: a replay turns the "
                   "custom:<name> touches they name into their event types.")
@click.option("--channel-rules", type=click.Path(dir_okay=False, exists=True),
              help="Channel rules to re-bucket the touches the rules classified by (touches and journeys, from "
                   "the inputs the rules read when they landed), in the replay's one commit per table "
                   "[default: the channels as they landed].")
@click.argument("beam_args", nargs=-1, type=click.UNPROCESSED)
def replay_command(lake: str | None, runner: str, workers: int | None, journey: JourneySettings,
                   event_map: str | None, channel_rules: str | None, beam_args: tuple[str, ...]) -> None:
    """Re-stitch journey_touches from the lake's own touches (e.g. after changing the rules)."""
    from streams.cli.channels import activate_channel_rules
    from streams.settings import Settings

    rules = activate_channel_rules(channel_rules) if channel_rules else None

    runtime = Settings()
    landing = runtime.lake_settings(lake)
    names = event_map or (str(runtime.event_map) if runtime.event_map else None)
    store = chosen_lake(landing.root, existing=False)
    _run_with_progress(f"replaying {store} on {runner}", store,
                       lambda: replay(landing, journey, runner=runner, workers=workers, beam_args=beam_args,
                                      event_map=names, channel_rules=rules))
