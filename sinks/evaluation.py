"""Every model on a lake scored against a causal truth file (``touchline generate --causal --truth``).

The rule-based models come from the attribution marts, Markov (each order) and Shapley from
the lake's paths, exactly as ``touchline attribute`` computes them; the truth's incremental
conversions and amounts (per currency) come from the simulator's counterfactual reruns.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import duckdb

from sinks.attribution import RULE_BASED, Row, data_driven, merged_paths, open_lake, paths
from sinks.storage import LakeRoot
from transforms.evaluation import Score, ranked, score
from transforms.markov import ORDERS
from transforms.markov_fit import OrderFit, fit_orders

#: The conversion types a causal truth covers.
EVALUATED = ("lead", "opportunity", "closed_won")
#: Markov of order k is scored as ``markov`` (k = 1) and ``markov_order_k``.
MARKOV_ORDERS = {"markov" if k == 1 else f"markov_order_{k}": k for k in ORDERS}
EVALUATED_MODELS = (*RULE_BASED, *MARKOV_ORDERS, "shapley")
MONEY = {"opportunity": "pipeline", "closed_won": "revenue"}


class BadTruth(ValueError):
    """The truth file is not a causal truth (``touchline generate --causal --truth``)."""


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Every score, best first per conversion type and basis, and each Markov order's held-out fit."""

    scores: list[Score]
    fits: dict[str, list[OrderFit]]


def check_truth(truth: Any) -> Mapping[str, Any]:
    """The truth document, or :class:`BadTruth` naming what is missing."""
    if not isinstance(truth, Mapping) or truth.get("truth") != "touchline-causal/1":
        raise BadTruth("not a causal truth file: it comes from touchline generate --causal --truth FILE")
    channels = truth.get("channels")
    if not isinstance(channels, Mapping) or not channels:
        raise BadTruth("the truth file names no channels")
    for channel, stages in channels.items():
        for conversion in EVALUATED:
            if "incremental_conversions" not in (stages.get(conversion) or {}):
                raise BadTruth(f"channels.{channel}.{conversion}.incremental_conversions is missing")
    return truth


def _credits(rows: Iterable[Row], money: str | None) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Credited conversions per channel, and credited money per currency and channel."""
    conversions: dict[str, float] = defaultdict(float)
    amounts: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in rows:
        conversions[row.value] += row.conversions
        if money is not None and row.currency is not None:
            amounts[row.currency][row.value] += getattr(row, money)
    return conversions, amounts


def rule_based_rows(connection: duckdb.DuckDBPyConnection, conversion: str) -> dict[str, list[Row]]:
    """Every rule-based model's credit per channel and currency, in one pass over the attribution_credits mart."""
    found: dict[str, list[Row]] = defaultdict(list)
    for model, channel, currency, credit, revenue, pipeline in connection.execute(
            "select model, coalesce(channel, 'unknown'), currency, sum(credit), sum(revenue_credit), "
            "sum(pipeline_credit) from attribution_credits where conversion_type = ? group by all order by all",
            [conversion]).fetchall():
        found[model].append(Row(model, "channel", channel, float(credit), float(revenue or 0), float(pipeline or 0),
                                currency))
    return found


def _model_rows(rule: dict[str, list[Row]], model: str, conversion: str, found: list[Any]) -> list[Row]:
    if model in RULE_BASED:
        return rule.get(model, [])
    if model in MARKOV_ORDERS:
        return data_driven(found, "markov", "channel", conversion, order=MARKOV_ORDERS[model])
    return data_driven(found, model, "channel", conversion)


def evaluate(lake: LakeRoot, truth: Mapping[str, Any], models: Iterable[str] = EVALUATED_MODELS, *,
             seed: int = 0) -> Evaluation:
    """Each model's share errors against ``truth`` per conversion type (conversions, and money per currency)."""
    truth = check_truth(truth)
    channels = truth["channels"]
    chosen = list(models)
    unknown = [m for m in chosen if m not in EVALUATED_MODELS]
    if unknown:
        raise ValueError(f"unknown model(s) {', '.join(unknown)}")
    scores: list[Score] = []
    fits: dict[str, list[OrderFit]] = {}
    connection = open_lake(lake)
    for conversion in EVALUATED:
        money = MONEY.get(conversion)
        true_conversions = {c: float(s[conversion]["incremental_conversions"]) for c, s in channels.items()}
        true_money: dict[str, dict[str, float]] = defaultdict(dict)
        for channel, stages in channels.items():
            for currency, amount in (stages[conversion].get(f"incremental_{money}") or {}).items():
                true_money[currency][channel] = float(amount)
        connection.execute("set variable touchline_conversion_type = ?", [conversion])
        found = paths(connection, conversion, "channel")
        fits[conversion] = fit_orders(merged_paths(found), seed=seed) if found else []
        rule = rule_based_rows(connection, conversion) if set(chosen) & set(RULE_BASED) else {}
        for model in chosen:
            conversions, amounts = _credits(_model_rows(rule, model, conversion, found), money)
            scores.append(score(model, conversion, "conversions", None, conversions, true_conversions))
            for currency in sorted(true_money):
                scores.append(score(model, conversion, money or "", currency, amounts.get(currency, {}),
                                    true_money[currency]))
    connection.close()
    return Evaluation(ranked(scores), fits)
