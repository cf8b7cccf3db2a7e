"""``touchline attribute``: credited conversions and revenue per channel (or other dimension)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from sinks.attribution import CONVERSIONS, DIMENSIONS, MODELS, MissingRate, attribute, from_paths
from streams.commands.lake_option import chosen_lake, lake_option
from streams.commands.sql import print_result
from transforms.paths import parse_paths
from transforms.settings import DEFAULT_ATTRIBUTION


def _models(value: str) -> list[str]:
    chosen = list(MODELS) if value == "all" else [m.strip() for m in value.split(",") if m.strip()]
    unknown = [m for m in chosen if m not in MODELS]
    if unknown:
        raise click.BadParameter(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODELS)} or all")
    return chosen


def money_options(command: click.decorators.FC) -> click.decorators.FC:
    """--reporting-currency and --rates: amounts converted into one currency (shared with the scorecard)."""
    command = click.option("--rates", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                           help="CSV currency,valid_from,rate: one unit of currency is rate units of the reporting "
                                "currency from valid_from on (until its next row).")(command)
    return click.option("--reporting-currency", metavar="CODE",
                        help="Report every amount in this currency, at the rate of the conversion's day "
                             "(default: each amount in its own currency).")(command)


def checked_money(reporting_currency: str | None, rates: Path | None) -> dict[str, Any]:
    """The money options as open_lake's keywords, or a usage error."""
    if rates is not None and reporting_currency is None:
        raise click.UsageError("--rates needs --reporting-currency (the currency the rates convert into)")
    return {"reporting_currency": reporting_currency.upper() if reporting_currency else None, "rates": rates}


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
def attribute_command(model_names: str, conversion: str, dimension: str, lookback_days: int,
                      half_life_days: float, fmt: str, reporting_currency: str | None, rates: Path | None,
                      lake: str | None, paths_file: Path | None, show_influence: bool) -> None:
    """Credit conversions and revenue to channels, campaigns, event types, teams or stages."""
    if show_influence:
        _print_influence(model_names, dimension, lookback_days, fmt, reporting_currency, rates, lake)
        return
    models = _models(model_names)
    if paths_file is not None:
        with paths_file.open(encoding="utf-8") as handle:
            rows = from_paths(parse_paths(handle), models)
    else:
        try:
            rows = attribute(chosen_lake(lake).root, models, conversion, dimension, lookback_days=lookback_days,
                             half_life_days=half_life_days, **checked_money(reporting_currency, rates))
        except MissingRate as error:
            raise click.UsageError(str(error)) from None
    print_result(["model", "dimension", "value", "conversions", "revenue", "pipeline", "currency"],
                 [(r.model, r.dimension, r.value, round(r.conversions, 6), round(r.revenue, 2), round(r.pipeline, 2),
                   r.currency) for r in rows], fmt)


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
