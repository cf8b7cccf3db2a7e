"""``touchline evaluate``: every attribution model scored against a causal truth file."""

from __future__ import annotations

import json
import math
from pathlib import Path

import click

from sinks.evaluation import EVALUATED_MODELS, BadTruth, Evaluation, evaluate
from streams.cli.lake_option import chosen_lake, lake_option
from streams.cli.sql import print_result

COLUMNS = ["conversion", "basis", "currency", "rank", "model", "total_abs_error", "spearman", "worst_channel",
           "worst_error"]


def _models(value: str) -> list[str]:
    chosen = list(EVALUATED_MODELS) if value == "all" else [m.strip() for m in value.split(",") if m.strip()]
    unknown = [m for m in chosen if m not in EVALUATED_MODELS]
    if unknown:
        raise click.BadParameter(f"unknown model(s) {', '.join(unknown)}; choose from "
                                 f"{', '.join(EVALUATED_MODELS)} or all", param_hint="--model")
    return chosen


def _number(value: float, digits: int = 4) -> float | None:
    return None if math.isnan(value) else round(value, digits)


def _rows(found: Evaluation) -> tuple[list[str], list[tuple[object, ...]]]:
    channels = sorted({c.channel for s in found.scores for c in s.channels})
    rows: list[tuple[object, ...]] = []
    rank, group = 0, None
    for s in found.scores:
        rank = rank + 1 if group == (s.conversion, s.basis, s.currency) else 1
        group = (s.conversion, s.basis, s.currency)
        errors = {c.channel: round(c.error, 4) for c in s.channels}
        rows.append((s.conversion, s.basis, s.currency, rank, s.model, round(s.total_absolute_error, 4),
                     _number(s.spearman), s.worst.channel, round(s.worst.error, 4),
                     *(errors.get(c) for c in channels)))
    return [*COLUMNS, *(f"error_{c}" for c in channels)], rows


def _json(found: Evaluation) -> str:
    return json.dumps({
        "scores": [{"conversion": s.conversion, "basis": s.basis, "currency": s.currency, "model": s.model,
                    "total_abs_error": s.total_absolute_error, "spearman": _number(s.spearman, 12),
                    "channels": [{"channel": c.channel, "true_share": c.true_share, "model_share": c.model_share,
                                  "error": c.error} for c in s.channels]} for s in found.scores],
        "markov_orders": {conversion: [{"order": f.order, "held_out_log_likelihood": f.log_likelihood,
                                        "per_journey": _number(f.per_journey, 12), "auc": _number(f.auc, 12)}
                                       for f in fits] for conversion, fits in found.fits.items()},
    }, indent=1)


@click.command(name="evaluate")
@click.option("--truth", "truth_file", type=click.Path(dir_okay=False, path_type=Path),
              help="The truth file of `touchline generate --causal --truth FILE` (required).")
@lake_option
@click.option("--model", "model_names", default="all", show_default=True,
              help=f"One of {'|'.join(EVALUATED_MODELS)}|all, or a comma-separated list.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option("--seed", default=0, show_default=True, help="Seed of the held-out split of the Markov orders' fit.")
def evaluate_command(truth_file: Path | None, lake: str | None, model_names: str, fmt: str, seed: int) -> None:
    """Score every model's channel credit against a causal truth: share errors, best first.

    Per model and conversion type (lead, opportunity, closed_won), on conversions and on money per currency
    (pipeline, revenue): each channel's share error, the total absolute error and Spearman's rank agreement; then
    each Markov order's held-out log-likelihood and conversion AUC.
    """
    if truth_file is None:
        raise click.UsageError("evaluate needs --truth FILE: the truth of `touchline generate --causal --truth FILE` "
                               "(without one there is nothing to score the models against)")
    if not truth_file.exists():
        raise click.BadParameter(f"no file at {truth_file}", param_hint="--truth")
    models = _models(model_names)
    try:
        truth = json.loads(truth_file.read_text(encoding="utf-8"))
        found = evaluate(chosen_lake(lake).root, truth, models, seed=seed)
    except (BadTruth, json.JSONDecodeError) as error:
        raise click.BadParameter(str(error), param_hint="--truth") from None
    if fmt == "json":
        click.echo(_json(found))
        return
    columns, rows = _rows(found)
    print_result(columns if fmt == "csv" else COLUMNS, rows if fmt == "csv" else [r[:len(COLUMNS)] for r in rows],
                 fmt)
    fits: list[tuple[object, ...]] = [
        (conversion, f.order, round(f.log_likelihood, 2), _number(f.per_journey), _number(f.auc))
        for conversion, orders in found.fits.items() for f in orders]
    if fmt == "table":
        print_result(["conversion", "markov_order", "held_out_log_likelihood", "per_journey", "auc"], fits, "table")
    else:
        for conversion, order, total, per_journey, auc in fits:
            click.echo(f"markov order {order} on {conversion}: held-out log-likelihood {total} "
                       f"({per_journey} per journey), conversion AUC {auc}", err=True)
