"""``touchline attribute``: credited conversions and revenue per channel (or other dimension)."""

from __future__ import annotations

from pathlib import Path

import click

from sinks.attribution import CONVERSIONS, DIMENSIONS, MODELS, MissingRate, Row, Uncertainty, attribute, from_paths
from streams.cli.lake_option import chosen_lake, lake_option
from streams.cli.money import checked_money, money_options
from streams.cli.sql import print_result
from transforms.bootstrap import RESAMPLES
from transforms.markov import ORDERS
from transforms.paths import parse_paths
from transforms.settings import DEFAULT_ATTRIBUTION


def _models(value: str) -> list[str]:
    chosen = list(MODELS) if value == "all" else [m.strip() for m in value.split(",") if m.strip()]
    unknown = [m for m in chosen if m not in MODELS]
    if unknown:
        raise click.BadParameter(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODELS)} or all")
    return chosen


def uncertainty_options(command: click.decorators.FC) -> click.decorators.FC:
    """--order, --intervals, --resamples and --seed: how the data-driven models run."""
    command = click.option("--seed", default=0, show_default=True,
                           help="Seed of the bootstrap and of --order auto's split (same seed, same figures).")(command)
    command = click.option("--resamples", default=RESAMPLES, show_default=True, type=click.IntRange(min=1),
                           help="--intervals: bootstrap resamples.")(command)
    command = click.option("--intervals", "level", type=click.FloatRange(0, 1, min_open=True, max_open=True),
                           help="Add LEVEL (e.g. 0.9) bootstrap intervals to the markov and shapley credits.")(command)
    return click.option("--order", default="1", show_default=True,
                        type=click.Choice([*map(str, ORDERS), "auto"]),
                        help="markov: the chain's order (auto: the best held-out log-likelihood).")(command)


def checked_uncertainty(order: str, level: float | None, resamples: int, seed: int) -> Uncertainty:
    """The uncertainty options as the sinks take them."""
    return Uncertainty(order if order == "auto" else int(order), level, resamples, seed)


def _line(row: Row, level: float | None) -> tuple[object, ...]:
    line: tuple[object, ...] = (row.model, row.dimension, row.value, round(row.conversions, 6), round(row.revenue, 2),
                                round(row.pipeline, 2), row.currency)
    if level is None:
        return line
    bounds = row.interval
    if bounds is None:
        return (*line, None, None, None, None)
    return (*line, round(bounds.conversions[0], 6), round(bounds.conversions[1], 6), round(bounds.value[0], 2),
            round(bounds.value[1], 2))


@click.command(name="attribute")
@click.option("--model", "model_names", default="all", show_default=True,
              help=f"One of {'|'.join(MODELS)}|all, or a comma-separated list.")
@click.option("--conversion", type=click.Choice(CONVERSIONS), default="closed_won", show_default=True)
@click.option("--by", "dimension", type=click.Choice(DIMENSIONS), default="channel", show_default=True)
@click.option("--lookback-days", default=DEFAULT_ATTRIBUTION.lookback_days, show_default=True,
              type=click.IntRange(min=1),
              help="Touches older than this earn no credit.")
@click.option("--half-life-days", default=DEFAULT_ATTRIBUTION.half_life_days, show_default=True,
              type=click.FloatRange(min=0, min_open=True),
              help="time_decay: credit halves every N days.")
@click.option("--format", "fmt", type=click.Choice(["auto", "table", "csv", "json"]), default="auto",
              show_default=True)
@money_options
@lake_option
@click.option("--paths", "paths_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Attribute a path file (path;total_conversions;total_conversion_value;total_null) "
                   "instead of a lake.")
@click.option("--influence", "show_influence", is_flag=True,
              help="Opportunities, pipeline and won revenue each source touched within the lookback (uncredited), "
                   "beside their credit under --model (one rule-based model; default w_shaped).")
@uncertainty_options
def attribute_command(model_names: str, conversion: str, dimension: str, lookback_days: int,
                      half_life_days: float, fmt: str, reporting_currency: str | None, rates: Path | None,
                      lake: str | None, paths_file: Path | None, show_influence: bool, order: str,
                      level: float | None, resamples: int, seed: int) -> None:
    """Credit conversions and revenue to channels, campaigns, event types, teams or stages.

    With --intervals, each markov and shapley credit gets bounds (conversions_low/high, and amount_low/high:
    revenue, or pipeline for opportunities) from a seeded bootstrap over the journeys.
    """
    if show_influence:
        _print_influence(model_names, dimension, lookback_days, fmt, reporting_currency, rates, lake)
        return
    models = _models(model_names)
    uncertainty = checked_uncertainty(order, level, resamples, seed)
    notes: list[str] = []
    if paths_file is not None:
        with paths_file.open(encoding="utf-8") as handle:
            rows = from_paths(parse_paths(handle), models, uncertainty, notes)
    else:
        try:
            rows = attribute(chosen_lake(lake).root, models, conversion, dimension, lookback_days=lookback_days,
                             half_life_days=half_life_days, uncertainty=uncertainty, notes=notes,
                             **checked_money(reporting_currency, rates))
        except MissingRate as error:
            raise click.UsageError(str(error)) from None
    if level is not None:
        notes.append(f"intervals: {level:g} percentile bounds from {resamples} bootstrap resamples of the journeys "
                     f"(seed {seed})")
    for note in notes:
        click.echo(note, err=True)
    columns = ["model", "dimension", "value", "conversions", "revenue", "pipeline", "currency"]
    if level is not None:
        columns += ["conversions_low", "conversions_high", "amount_low", "amount_high"]
    print_result(columns, [_line(r, level) for r in rows], fmt)


def _print_influence(model_names: str, dimension: str, lookback_days: int, fmt: str,
                     reporting_currency: str | None, rates: Path | None, lake: str | None) -> None:
    from sinks.returns import DEFAULT_MODEL, INFLUENCE_COLUMNS, INFLUENCE_DIMENSIONS, influence

    model = DEFAULT_MODEL if model_names == "all" else model_names.strip()
    if dimension not in INFLUENCE_DIMENSIONS:
        raise click.UsageError(f"--influence reports by {', '.join(INFLUENCE_DIMENSIONS)}, not {dimension}")
    try:
        rows = influence(chosen_lake(lake).root, dimension, model=model, lookback_days=lookback_days,
                         **checked_money(reporting_currency, rates))
    except (ValueError, MissingRate) as error:
        raise click.UsageError(str(error)) from None
    print_result(INFLUENCE_COLUMNS, [tuple(round(v, 6) if isinstance(v, float) else v for v in row) for row in rows],
                 fmt)
