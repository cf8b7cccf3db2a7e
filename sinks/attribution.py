"""Attribution over a lake: rule-based models from the SQL marts, data-driven ones in numpy.

Settings reach the SQL as DuckDB session variables (see sinks/sql/marts/), so the catalog's
views answer with the defaults and `touchline attribute` can ask with others.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path as FilePath

import duckdb

from sinks import catalog
from sinks.lake import Lake
from sinks.storage import LakeRoot
from transforms.bootstrap import RESAMPLES, Interval, credit_intervals
from transforms.markov import markov
from transforms.markov_fit import best_order, fit_orders
from transforms.paths import ChannelPath, Credit, heuristic
from transforms.settings import DEFAULT_ATTRIBUTION
from transforms.shapley import shapley

#: A path of the data-driven models and the currency of its conversion (None: a lead, or no conversion).
CurrencyPath = tuple[str | None, ChannelPath]

RULE_BASED = ("first_touch", "last_touch", "linear", "time_decay", "position_based", "u_shaped", "w_shaped",
              "full_path")
DATA_DRIVEN = ("markov", "shapley")
MODELS = RULE_BASED + DATA_DRIVEN
CONVERSIONS = ("lead", "opportunity", "closed_won", "renewal")
#: The dimension value of conversions no touch in the lookback window earned credit for.
UNATTRIBUTED = "(unattributed)"
#: What credit can be split by; ``content`` is the touch's ``content_id`` (the asset, or the page's path).
DIMENSIONS = ("channel", "subchannel", "campaign_id", "event_type", "team", "stage", "content")


@dataclass(frozen=True, slots=True)
class Row:
    """One line of `touchline attribute`: a model's credit for one dimension value (revenue for won deals and
    renewals, pipeline for opportunities created), in one currency: amounts are never summed across
    currencies (leads have none)."""

    model: str
    dimension: str
    value: str
    conversions: float
    revenue: float
    pipeline: float = 0.0
    currency: str | None = None
    interval: Interval | None = None  # bootstrap bounds of a data-driven credit, when asked for


@dataclass(frozen=True, slots=True)
class Uncertainty:
    """How the data-driven models run: Markov's order (``auto``: the best held-out likelihood) and, with a
    ``level``, bootstrap intervals from ``resamples`` resamples drawn with ``seed``."""

    order: int | str = 1
    level: float | None = None
    resamples: int = RESAMPLES
    seed: int = 0


class MissingRate(ValueError):
    """A conversion's amount or a day's spend cannot be reported in the reporting currency: no rate for its day."""


def open_lake(lake: LakeRoot, *, lookback_days: int = DEFAULT_ATTRIBUTION.lookback_days,
              half_life_days: float = DEFAULT_ATTRIBUTION.half_life_days,
              conversion: str | None = None, reporting_currency: str | None = None,
              rates: FilePath | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the catalog's views over ``lake`` and the given settings.

    With ``conversion``, the attribution marts compute that conversion type only. With
    ``reporting_currency``, every amount is converted into it at the ``rates`` file's rate in
    effect on the conversion's day (CSV ``currency,valid_from,rate``: one unit of ``currency``
    is ``rate`` units of the reporting currency from ``valid_from`` on); a conversion or a day's spend with
    no rate raises :class:`MissingRate`.
    """
    store = Lake(lake)
    connection = store.connect()
    connection.execute("set variable touchline_lookback_days = ?", [lookback_days])
    connection.execute("set variable touchline_half_life_days = ?", [half_life_days])
    if conversion is not None:
        connection.execute("set variable touchline_conversion_type = ?", [conversion])
    catalog.build(store, connection)
    if reporting_currency is not None:
        connection.execute("set variable touchline_reporting_currency = ?", [reporting_currency.upper()])
    if rates is not None:
        connection.execute(
            "create or replace temp table exchange_rates as select upper(currency) as currency, valid_from, rate "
            "from read_csv(?, header = true, columns = {'currency': 'varchar', 'valid_from': 'date', "
            "'rate': 'double'})", [str(rates)])
    # Every mart reads the journey touches and the conversions, some several times: read the
    # lake (and resolve row versions) once per session instead.
    for view in ("journey_touches", "conversions"):
        connection.execute(f"create temp table session_{view} as select * from {view}")
        connection.execute(f"create or replace temp view {view} as select * from session_{view}")
    missing = connection.execute(
        "select '', original_currency, min(converted_at) from conversions where exchange_rate is null group by 2 "
        "union all select 'spend in ', original_currency, min(spend_date) from ad_spend "
        "where exchange_rate is null group by 2 order by 1, 2").fetchall()
    if missing:
        connection.close()
        raise MissingRate(f"no rate into {reporting_currency} for " + ", ".join(
            f"{what}{currency} from {at:%Y-%m-%d}" for what, currency, at in missing) + ": add it to the rates file")
    return connection


def rule_based(connection: duckdb.DuckDBPyConnection, model: str, conversion: str, dimension: str) -> list[Row]:
    """Credited conversions, revenue and pipeline per dimension value, from the attribution_credits mart."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}")
    column = "content_id" if dimension == "content" else dimension
    rows = connection.execute(
        f"select coalesce(cast({column} as varchar), 'unknown') as value, currency, sum(credit), "
        "sum(revenue_credit), sum(pipeline_credit) from attribution_credits where model = ? and conversion_type = ? "
        "group by 1, 2 order by 1, 2", [model, conversion],
    ).fetchall()
    return [Row(model, dimension, value, float(c), float(r or 0), float(p or 0), currency)
            for value, currency, c, r, p in rows]


def unattributed(connection: duckdb.DuckDBPyConnection, model: str, conversion: str, dimension: str) -> list[Row]:
    """Per currency of the conversions of a type: those no touch in the lookback window earned credit for (the same
    for every model), so that credited plus unattributed is every conversion and every amount."""
    rows = connection.execute(
        "with credited as (select distinct conversion_id from attribution_touches where conversion_type = $type) "
        "select currency, count(*) filter (where credited.conversion_id is null), "
        "coalesce(sum(revenue) filter (where credited.conversion_id is null), 0), "
        "coalesce(sum(pipeline) filter (where credited.conversion_id is null), 0) "
        "from conversions left join credited using (conversion_id) where conversion_type = $type "
        "group by currency order by currency", {"type": conversion}).fetchall()
    return [Row(model, dimension, UNATTRIBUTED, float(n), float(r), float(p), currency) for currency, n, r, p in rows]


def paths(connection: duckdb.DuckDBPyConnection, conversion: str, dimension: str) -> list[CurrencyPath]:
    """Aggregated paths of one conversion type over one dimension, by the conversion's currency (grouped in
    DuckDB); a path's value is its conversion's revenue, or its pipeline for an opportunity."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}")
    connection.execute("set variable touchline_path_dimension = ?", [dimension])
    found = connection.execute(
        "select currency, steps, count(*) filter (where is_converted), "
        "coalesce(sum(revenue), 0) + coalesce(sum(pipeline), 0), count(*) filter (where not is_converted) "
        "from attribution_paths where conversion_type = ? and len(steps) > 0 group by currency, steps", [conversion]
    ).fetchall()
    return [(currency, ChannelPath(tuple(steps), float(c), float(v), float(n))) for currency, steps, c, v, n in found]


def merged_paths(found: list[CurrencyPath]) -> list[ChannelPath]:
    """The paths with their currencies merged: Markov's removal effects come from every path."""
    merged: dict[tuple[str, ...], ChannelPath] = {}
    for _, path in found:
        known = merged.get(path.channels)
        merged[path.channels] = path if known is None else ChannelPath(
            path.channels, known.conversions + path.conversions, known.value + path.value, known.nulls + path.nulls)
    return list(merged.values())


def chosen_order(found: list[CurrencyPath], order: int | str, seed: int = 0, notes: list[str] | None = None) -> int:
    """``order``, or for ``auto`` the order of the best held-out log-likelihood (said in ``notes``)."""
    if order != "auto":
        return int(order)
    fits = fit_orders(merged_paths(found), seed=seed)
    best = best_order(fits)
    if notes is not None:
        notes.append(f"markov order auto: {best} (held-out log-likelihood per journey: "
                     + ", ".join(f"order {f.order} {f.per_journey:.4f}" for f in fits) + ")")
    return best


def with_intervals(rows: list[Row], found: list[CurrencyPath], model: str, uncertainty: Uncertainty,
                   order: int) -> list[Row]:
    """The data-driven rows with their bootstrap bounds (rows of other models unchanged)."""
    if uncertainty.level is None or model not in DATA_DRIVEN:
        return rows
    bounds = {(i.channel, i.currency): i for i in credit_intervals(
        found, model, level=uncertainty.level, resamples=uncertainty.resamples, seed=uncertainty.seed, order=order)}
    return [replace(row, interval=bounds.get((row.value, row.currency))) for row in rows]


def data_driven(found: list[CurrencyPath], model: str, dimension: str, conversion: str = "closed_won",
                order: int = 1) -> list[Row]:
    """Markov or Shapley credits over aggregated paths, per currency (their value is pipeline for opportunities).

    Markov's removal effects come from every path (a path that did not convert has no currency); each
    currency's conversions and value are then shared by those effects. Shapley splits each converting path
    among its channels, so it runs on each currency's paths.
    """
    totals: dict[str | None, list[float]] = {}
    for currency, path in found:
        if path.conversions:
            totals.setdefault(currency, [0.0, 0.0])
            totals[currency][0] += path.conversions
            totals[currency][1] += path.value
    credited: list[tuple[str | None, Credit]] = []
    if model == "markov":
        effects = markov(merged_paths(found), order).credits
        whole = sum(c.conversions for c in effects)
        credited = [(currency, Credit(c.channel, conversions * c.conversions / whole, value * c.conversions / whole))
                    for currency, (conversions, value) in totals.items() for c in effects] if whole else []
    else:
        credited = [(currency, credit) for currency in totals
                    for credit in shapley([path for mine, path in found if mine == currency])]
    if conversion == "opportunity":
        return [Row(model, dimension, c.channel, c.conversions, 0.0, c.value, currency) for currency, c in credited]
    return [Row(model, dimension, c.channel, c.conversions, c.value, 0.0, currency) for currency, c in credited]


def from_paths(found: list[ChannelPath], models: Iterable[str], uncertainty: Uncertainty = Uncertainty(),
               notes: list[str] | None = None) -> list[Row]:
    """Every requested model over a paths file (no lake): heuristics, Markov, Shapley."""
    rows = []
    labelled: list[CurrencyPath] = [(None, path) for path in found]
    for model in models:
        if model in DATA_DRIVEN:
            order = chosen_order(labelled, uncertainty.order, uncertainty.seed, notes) if model == "markov" else 1
            rows += with_intervals(data_driven(labelled, model, "channel", order=order), labelled, model,
                                   uncertainty, order)
        elif model in ("first_touch", "last_touch", "linear", "position_based"):
            rows += [Row(model, "channel", c.channel, c.conversions, c.value) for c in heuristic(found, model)]
        else:
            raise ValueError(f"{model} needs touch timestamps and milestones: run it on a lake")
    return rows


def attribute(lake: LakeRoot, models: Iterable[str], conversion: str, dimension: str, *,
              lookback_days: int = DEFAULT_ATTRIBUTION.lookback_days,
              half_life_days: float = DEFAULT_ATTRIBUTION.half_life_days, reporting_currency: str | None = None,
              rates: FilePath | None = None, uncertainty: Uncertainty = Uncertainty(),
              notes: list[str] | None = None) -> list[Row]:
    """Every requested model over a lake (amounts in their own currencies, or in ``reporting_currency``); the
    data-driven ones as ``uncertainty`` says, what was chosen and used said in ``notes``."""
    connection = open_lake(lake, lookback_days=lookback_days, half_life_days=half_life_days, conversion=conversion,
                           reporting_currency=reporting_currency, rates=rates)
    try:
        rows: list[Row] = []
        found: list[CurrencyPath] | None = None
        for model in models:
            if model in RULE_BASED:
                rows += rule_based(connection, model, conversion, dimension)
            else:
                found = found if found is not None else paths(connection, conversion, dimension)
                order = chosen_order(found, uncertainty.order, uncertainty.seed, notes) if model == "markov" else 1
                rows += with_intervals(data_driven(found, model, dimension, conversion, order), found, model,
                                       uncertainty, order)
            rows += unattributed(connection, model, conversion, dimension)
        return rows
    finally:
        connection.close()
