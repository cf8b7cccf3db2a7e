"""``touchline generate``: a seeded population of B2B buyer journeys, faults on request."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click
from rich.progress import Progress

from streams.services.generate import wire_line
from streams.services.outputs import open_output
from transforms.causal import CausalSettings, effects_from, simulate
from transforms.generator import Emitted, GeneratorSettings, generate, segment_call


def _day(_: click.Context, __: click.Parameter, value: str) -> str:
    try:
        date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None
    return value


def population_options(duplicates: float = 0.0, late: float = 0.0,
                       invalid: float = 0.0) -> Callable[[click.decorators.FC], click.decorators.FC]:
    """The options that describe a simulated population (shared by generate and demo, whose fault rates differ)."""
    share = click.FloatRange(0.0, 1.0)

    def decorate(command: click.decorators.FC) -> click.decorators.FC:
        options = [
            click.option("--accounts", default=500, show_default=True, type=click.IntRange(min=1),
                         help="Accounts to simulate."),
            click.option("--seed", default=7, show_default=True, help="Same seed, same events."),
            click.option("--start", default="2026-01-01", show_default=True, callback=_day,
                         help="First day (YYYY-MM-DD)."),
            click.option("--days", default=365, show_default=True, type=click.IntRange(min=1),
                         help="Days to simulate."),
            click.option("--duplicates", default=duplicates, show_default=True, type=share,
                         help="Share of events sent twice."),
            click.option("--resends", default=0.0, show_default=True, type=share,
                         help="Share of events re-sent as a tracker retries (received later, earlier event time)."),
            click.option("--late", default=late, show_default=True, type=share,
                         help="Share of events sent out of order."),
            click.option("--invalid", default=invalid, show_default=True, type=share,
                         help="Share of extra malformed records."),
        ]
        for option in reversed(options):
            command = option(command)
        return command
    return decorate


def settings_from(accounts: int, seed: int, start: str, days: int, duplicates: float, late: float,
                  invalid: float, resends: float = 0.0) -> GeneratorSettings:
    """Generator settings from the command-line options."""
    first_day = datetime.fromisoformat(start).replace(tzinfo=UTC)
    return GeneratorSettings(accounts=accounts, seed=seed, start=first_day, days=days,
                             duplicate_rate=duplicates, late_rate=late, invalid_rate=invalid,
                             resend_rate=resends)


def _causal(settings: GeneratorSettings, effects_file: Path | None) -> tuple[list[Emitted], dict[str, Any]]:
    """The causal population's records (no faults: the truth is about the clean touches) and its truth."""
    if settings.duplicate_rate or settings.late_rate or settings.invalid_rate:
        raise click.UsageError("--causal simulates clean touches: drop --duplicates, --late and --invalid")
    base = CausalSettings(accounts=settings.accounts, seed=settings.seed, start=settings.start)
    if effects_file is not None:
        try:
            base = effects_from(json.loads(effects_file.read_text(encoding="utf-8")), base)
        except (ValueError, TypeError) as error:
            raise click.BadParameter(str(error), param_hint="--effects") from None
    run = simulate(base)
    return [Emitted(datetime.fromisoformat(r["occurred_at"]), r) for r in run.records], run.truth


@click.command(name="generate")
@population_options()
@click.option("--out", "-o", default="-", show_default=True, help="JSON Lines file, '-' for stdout.")
@click.option("--truth", type=click.Path(dir_okay=False),
              help="Also write each touch's true stage here (JSON Lines); with --causal, the counterfactual truth "
                   "(JSON): each channel's true incremental conversions, pipeline and revenue.")
@click.option("--causal", is_flag=True,
              help="Simulate channels with known incremental effects (transforms/causal.py) instead of the story "
                   "generator; --truth then gets what each channel truly caused.")
@click.option("--effects", "effects_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="--causal: a JSON file of baseline rates and channel effects (default: the built-in population).")
@click.option("--to-kafka", is_flag=True, help="Produce to touches-raw-v1 instead of writing a file.")
@click.option("--format", "fmt", type=click.Choice(["touch", "segment"]), default="touch", show_default=True,
              help="touch/1 records, or the Segment calls a tracker would have sent.")
@click.option("--skew", default=0.0, show_default=True, type=click.FloatRange(0.0, 1.0),
              help="--format segment: share of calls from a device clock off by up to two days.")
def generate_command(out: str, truth: str | None, causal: bool, effects_file: Path | None, to_kafka: bool, fmt: str,
                     skew: float, **population: object) -> None:
    """Simulate accounts, buying groups and their touches over a period of days."""
    settings = settings_from(**population)  # type: ignore[arg-type]
    causal_truth = None
    if effects_file is not None and not causal:
        raise click.UsageError("--effects describes a --causal population: add --causal")
    if causal:
        events, causal_truth = _causal(settings, effects_file)
    else:
        events = list(generate(settings))
    if fmt == "segment":
        if to_kafka:
            raise click.UsageError("touches-raw-v1 carries touch/1: use --format touch with --to-kafka")
        rng = random.Random(settings.seed)
        events = [replace(e, record=segment_call(e.record, rng, skew)) if e.record and not e.malformed else e
                  for e in events]
    if to_kafka:
        from streams.runtime.producing import produce_raw
        from streams.settings import Settings

        bootstrap = Settings().kafka_bootstrap
        if not bootstrap:
            raise click.UsageError("--to-kafka needs TOUCHLINE_KAFKA_BOOTSTRAP (e.g. from `touchline broker`)")
        with Progress(transient=True) as progress:
            sent = produce_raw((wire_line(e) for e in progress.track(events, description="producing touches")),
                               bootstrap)
        click.echo(f"produced {sent} records to touches-raw-v1", err=True)
    else:
        with open_output(out) as handle, Progress(transient=True, disable=out == "-") as progress:
            for event in progress.track(events, description="writing touches"):
                handle.write(wire_line(event).decode() + "\n")
    if truth and causal_truth is not None:
        with open(truth, "w", encoding="utf-8") as handle:
            json.dump(causal_truth, handle, indent=1)
            handle.write("\n")
    elif truth:
        with open(truth, "w", encoding="utf-8") as handle:
            for event in events:
                if event.truth is not None:
                    t = event.truth
                    handle.write(json.dumps({"event_id": t.event_id, "account_id": t.account_id,
                                             "stage": t.stage, "cycle": t.cycle,
                                             "is_reengagement": t.is_reengagement}) + "\n")
    valid = sum(1 for e in events if not e.malformed and not e.duplicate)
    malformed = sum(e.malformed for e in events)
    click.echo(f"{len(events)} records: {valid} distinct valid, {malformed} malformed, "
               f"{len(events) - valid - malformed} duplicates; {settings.accounts} accounts", err=True)
